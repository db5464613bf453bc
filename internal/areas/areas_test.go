package areas_test

import (
	"fmt"

	"github.com/integration-hub/hub/internal/areas"
	"github.com/integration-hub/hub/internal/principal"
)

func ExampleFor() {
	fmt.Println(areas.For(principal.Principal{Kind: principal.HubUser, Plan: principal.Standard}))
	fmt.Println(areas.For(principal.Principal{Kind: principal.HubUser, Plan: principal.Lite}))
	fmt.Println(areas.For(principal.Principal{Kind: principal.PartnerUser, Plan: principal.Standard}))
	fmt.Println(areas.For(principal.Principal{Kind: principal.PartnerUser, PartnerPending: true}))
	fmt.Println(areas.For(principal.Principal{Kind: principal.APIKey}))
	// Output:
	// [company users notifications integration-form partner-form source-control api-access]
	// [company users notifications source-control api-access]
	// [company users source-control]
	// [partner-form]
	// []
}
