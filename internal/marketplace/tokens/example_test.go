package tokens_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/marketplace/tokens"
)

// A SaaS signs its end-user's token with the HS256 secret the hub showed
// once; the marketplace iframe loads <marketplace>?tenant=<token>.
func ExampleVerify() {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	secret := "s3cr3t-shown-once-by-the-hub-43-characters"
	token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://app.acme.example",
		"aud": "integration-hub/marketplace",
		"sub": "customer-4711",
		"iat": now.Unix(),
		"exp": now.Add(15 * time.Minute).Unix(),
		"xti": map[string]any{
			"user_group":          []string{"gold", "beta"},
			"user_tier":           "pro",
			"hidden_integrations": []string{"01JDHIDDEN0000000000000000"},
			"allowed_installs":    3,
		},
	}).SignedString([]byte(secret))

	rules := tokens.Rules{
		Algorithms:  []tokens.Algorithm{tokens.HS256},
		Issuer:      "https://app.acme.example",
		Audience:    "integration-hub/marketplace",
		MaxLifetime: tokens.DefaultMaxLifetime,
		Leeway:      tokens.DefaultLeeway,
		Claims:      tokens.DefaultClaimNames,
	}
	keys := func(_ context.Context, alg tokens.Algorithm, kid string) ([]tokens.Key, error) {
		return []tokens.Key{tokens.HMACKey("hs256-1", []byte(secret))}, nil
	}
	id, err := tokens.Verify(context.Background(), token, rules, keys, now)
	fmt.Println(err)
	fmt.Println(id.EndUser, id.Groups, id.Tier, id.Hidden, id.AllowedInstalls)

	// A token without xti has no groups, no tier and no install limit.
	bare, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://app.acme.example", "aud": "integration-hub/marketplace",
		"sub": "4711", "exp": now.Add(time.Minute).Unix(),
	}).SignedString([]byte(secret))
	id, err = tokens.Verify(context.Background(), bare, rules, keys, now)
	fmt.Println(err, id.EndUser, id.Groups == nil, id.AllowedInstalls == tokens.Unlimited)
	// Output:
	// <nil>
	// customer-4711 [gold beta] pro [01JDHIDDEN0000000000000000] 3
	// <nil> 4711 true true
}
