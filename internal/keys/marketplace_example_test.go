package keys_test

import (
	"fmt"

	"github.com/integration-hub/hub/internal/keys"
)

func ExampleMarketplaceIssuer() {
	fmt.Println(keys.MarketplaceSettings("o1"))
	fmt.Println(keys.MarketplaceIssuer("https://app.acme.example"))
	fmt.Println(keys.MarketplaceKeyID("acme-2026-rsa"))
	fmt.Println(keys.EndUser("o1", "customer#42"))
	fmt.Println(keys.EndUserCopy("o1", "customer#42"))
	// Output:
	// ORG#o1 / SETTINGS#MARKETPLACE
	// MKTISSUER#https://app.acme.example / VERIFIER
	// MKTKID#acme-2026-rsa / VERIFIER
	// ORG#o1 / ENDUSER#Y3VzdG9tZXIjNDI
	// ORG#o1#ENDUSER#Y3VzdG9tZXIjNDI / ENDUSER
}
