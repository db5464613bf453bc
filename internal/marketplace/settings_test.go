package marketplace_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/testenv"
)

func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

func TestSettingsAreAVersionedDocumentBehindETagAndIfMatch(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("https://app.acme.example/integrations")
	r := h.serve(o.Hub, "GET", "/marketplace/settings", nil, nil)
	var doc marketplace.Settings
	r.decode(t, &doc)
	if r.Status != 200 || r.Header.Get("ETag") != `"v0"` || doc.MaxLifetimeSeconds != 3600 || doc.LeewaySeconds != 30 ||
		doc.Claims.EndUserID != "sub" || doc.Claims.Groups != "xti.user_group" || doc.Claims.Tier != "xti.user_tier" {
		t.Fatalf("defaults: %d %s %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	in := marketplace.RulesInput{Issuer: "https://app.acme.example", Audience: "integration-hub/marketplace", MaxLifetimeSeconds: ptr[int64](900)}
	if r := h.serve(o.Hub, "PUT", "/marketplace/settings", nil, in); r.Status != 428 {
		t.Fatalf("without If-Match: %d", r.Status)
	}
	r = h.serve(o.Hub, "PUT", "/marketplace/settings", map[string]string{"If-Match": `"v0"`}, in)
	if r.Status != 200 || r.Header.Get("ETag") != `"v1"` {
		t.Fatalf("first write: %d %s", r.Status, r.Body)
	}
	if r := h.serve(o.Hub, "PUT", "/marketplace/settings", map[string]string{"If-Match": `"v0"`}, in); r.Status != 412 || r.Problem.Code != "stale_version" {
		t.Fatalf("stale write: %d %s", r.Status, r.Body)
	}
	if r := h.serve(o.Hub, "POST", "/marketplace/settings/secrets", map[string]string{"If-Match": `"v0"`}, map[string]any{}); r.Status != 412 {
		t.Fatalf("stale secret: %d %s", r.Status, r.Body)
	}
	end := principal.Principal{Kind: principal.EndUser, Org: o.ID, Subject: "eu"}
	if r := h.serve(end, "GET", "/marketplace/settings", nil, nil); r.Status != 403 {
		t.Fatalf("an end-user reads the settings: %d", r.Status)
	}
}

func TestEveryBadSettingIsA4xxNamingItsField(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaPub := publicPEM(t, &rsaKey(t).PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	rules := []struct {
		name        string
		body        any
		status      int
		code, field string
	}{
		{"the hub's issuer", marketplace.RulesInput{Issuer: "integration-hub"}, 400, "reserved_issuer", "issuer"},
		{"issuer with a space", marketplace.RulesInput{Issuer: "acme inc"}, 400, "invalid_issuer", "issuer"},
		{"issuer too long", marketplace.RulesInput{Issuer: strings.Repeat("i", 257)}, 400, "invalid_issuer", "issuer"},
		{"the hub's session audience", marketplace.RulesInput{Audience: "integration-hub/session"}, 400, "reserved_audience", "audience"},
		{"lifetime too short", marketplace.RulesInput{MaxLifetimeSeconds: ptr[int64](10)}, 400, "out_of_range", "max_lifetime_seconds"},
		{"lifetime too long", marketplace.RulesInput{MaxLifetimeSeconds: ptr[int64](86401)}, 400, "out_of_range", "max_lifetime_seconds"},
		{"negative leeway", marketplace.RulesInput{LeewaySeconds: ptr[int64](-1)}, 400, "out_of_range", "leeway_seconds"},
		{"claim path too deep", marketplace.RulesInput{Claims: &marketplace.ClaimsInput{Groups: "a.b.c"}}, 400, "invalid_claim", "claims.groups"},
		{"claim with a space", marketplace.RulesInput{Claims: &marketplace.ClaimsInput{EndUserID: "user id"}}, 400, "invalid_claim", "claims.end_user_id"},
		{"JWKS over http", marketplace.RulesInput{Issuer: "acme", JWKSURL: "http://keys.acme.example/jwks"}, 400, "invalid_url", "jwks_url"},
		{"JWKS without issuer", marketplace.RulesInput{JWKSURL: "https://keys.acme.example/jwks"}, 400, "issuer_required", "issuer"},
		{"unknown field", map[string]any{"issuer": "acme", "algorithm": "none"}, 400, "unknown_field", "algorithm"},
		{"wrong type", map[string]any{"leeway_seconds": "30"}, 400, "wrong_type", "leeway_seconds"},
	}
	for _, tc := range rules {
		t.Run(tc.name, func(t *testing.T) {
			r := h.serve(o.Hub, "PUT", "/marketplace/settings", map[string]string{"If-Match": `"v0"`}, tc.body)
			if r.Status != tc.status || r.Problem.Code != tc.code || r.Problem.Field != tc.field {
				t.Fatalf("got %d %s %q (%s), want %d %s %q", r.Status, r.Problem.Code, r.Problem.Field, r.Body, tc.status, tc.code, tc.field)
			}
		})
	}
	if r := h.serve(o.Hub, "POST", "/marketplace/settings/secrets", map[string]string{"If-Match": `"v0"`}, map[string]any{"grace_period_seconds": 31 * 24 * 3600}); r.Problem.Field != "grace_period_seconds" {
		t.Fatalf("grace too long: %d %s", r.Status, r.Body)
	}
	keysCases := []struct {
		name        string
		in          marketplace.KeyInput
		status      int
		code, field string
	}{
		{"no key", marketplace.KeyInput{Kid: "k"}, 400, "required", "key"},
		{"private key", marketplace.KeyInput{Kid: "k", Algorithm: "ES256", Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))}, 400, "invalid_key", "key"},
		{"PEM without kid", marketplace.KeyInput{Algorithm: "RS256", Key: rsaPub}, 400, "invalid_kid", "kid"},
		{"PEM without algorithm", marketplace.KeyInput{Kid: "k", Key: rsaPub}, 400, "required", "algorithm"},
		{"RSA key for ES256", marketplace.KeyInput{Kid: "k", Algorithm: "ES256", Key: rsaPub}, 400, "invalid_key", "key"},
		{"HS256 is not a public algorithm", marketplace.KeyInput{Kid: "k", Algorithm: "HS256", Key: rsaPub}, 400, "invalid_algorithm", "algorithm"},
		{"none", marketplace.KeyInput{Kid: "k", Algorithm: "none", Key: rsaPub}, 400, "invalid_algorithm", "algorithm"},
		{"kid with the secrets' prefix", marketplace.KeyInput{Kid: "hs256-mine", Algorithm: "RS256", Key: rsaPub}, 400, "invalid_kid", "kid"},
		{"kid with a space", marketplace.KeyInput{Kid: "my key", Algorithm: "RS256", Key: rsaPub}, 400, "invalid_kid", "kid"},
		{"JWK whose kid differs", marketplace.KeyInput{Kid: "a", Key: `{"kty":"OKP","crv":"Ed25519","kid":"b","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`}, 400, "kid_mismatch", "kid"},
		{"JWK of another algorithm", marketplace.KeyInput{Algorithm: "RS256", Key: `{"kty":"OKP","crv":"Ed25519","kid":"b","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`}, 400, "algorithm_mismatch", "algorithm"},
	}
	for _, tc := range keysCases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.addKey(o, tc.in)
			if r.Status != tc.status || r.Problem.Code != tc.code || r.Problem.Field != tc.field {
				t.Fatalf("got %d %s %q (%s), want %d %s %q", r.Status, r.Problem.Code, r.Problem.Field, r.Body, tc.status, tc.code, tc.field)
			}
		})
	}
	if h.etag(o) != `"v0"` {
		t.Fatal("a refused setting was written")
	}
}

func TestASecretIsShownOnceAndOnlySealedAtRest(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	h.rules(o, marketplace.RulesInput{Issuer: "acme"})
	secret := h.newSecret(o, 3600)
	if len(secret.Secret) < 40 || !strings.HasPrefix(secret.Kid, "hs256-") || secret.Algorithm != "HS256" {
		t.Fatalf("new secret: %+v", secret)
	}
	r := h.serve(o.Hub, "GET", "/marketplace/settings", nil, nil)
	if strings.Contains(r.Body, secret.Secret) || !strings.Contains(r.Body, secret.Kid) {
		t.Fatalf("the settings show the secret, or not its kid: %s", r.Body)
	}
	for _, k := range []storage.Key{keys.MarketplaceSettings(o.ID), keys.MarketplaceIssuer("acme"), keys.MarketplaceKeyID(secret.Kid)} {
		it, err := h.table.Get(context.Background(), k)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if strings.Contains(string(it.Data), secret.Secret) {
			t.Fatalf("%s holds the secret in clear", k)
		}
	}
}

func TestIssuersAndKeyIDsBelongToOneOrganization(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { issuersAndKeyIDsBelongToOneOrganization(t, newHub(t)) })
	t.Run("DynamoDB Local", func(t *testing.T) { issuersAndKeyIDsBelongToOneOrganization(t, newHubOn(t, testenv.DynamoDBTable(t))) })
}

func issuersAndKeyIDsBelongToOneOrganization(t *testing.T, h *hub) {
	a, b := h.newOrg(""), h.newOrg("")
	pemA := publicPEM(t, &rsaKey(t).PublicKey)
	h.rules(a, marketplace.RulesInput{Issuer: "acme"})
	if r := h.addKey(a, marketplace.KeyInput{Kid: "shared", Algorithm: "RS256", Key: pemA}); r.Status != 201 {
		t.Fatalf("add key: %d %s", r.Status, r.Body)
	}
	if r := h.serve(b.Hub, "PUT", "/marketplace/settings", map[string]string{"If-Match": `"v0"`}, marketplace.RulesInput{Issuer: "acme"}); r.Status != 409 || r.Problem.Code != "issuer_unavailable" || r.Problem.Field != "issuer" {
		t.Fatalf("taken issuer: %d %s", r.Status, r.Body)
	}
	if r := h.addKey(b, marketplace.KeyInput{Kid: "shared", Algorithm: "RS256", Key: pemA}); r.Status != 409 || r.Problem.Code != "kid_unavailable" || r.Problem.Field != "kid" {
		t.Fatalf("taken kid: %d %s", r.Status, r.Body)
	}
	if r := h.addKey(a, marketplace.KeyInput{Kid: "shared", Algorithm: "RS256", Key: pemA}); r.Status != 409 || r.Problem.Code != "kid_taken" {
		t.Fatalf("the same kid twice in one organization: %d %s", r.Status, r.Body)
	}
	if h.etag(b) != `"v0"` {
		t.Fatal("b's refused writes changed its settings")
	}
	// Every copy holds the settings exactly.
	settingsItem, _ := h.table.Get(context.Background(), keys.MarketplaceSettings(a.ID))
	for _, k := range []storage.Key{keys.MarketplaceIssuer("acme"), keys.MarketplaceKeyID("shared")} {
		copyItem, err := h.table.Get(context.Background(), k)
		if err != nil || string(copyItem.Data) != string(settingsItem.Data) || copyItem.Version != settingsItem.Version {
			t.Fatalf("copy %s differs from the settings (%v)", k, err)
		}
	}
	// Letting go of an issuer and a kid frees them.
	h.rules(a, marketplace.RulesInput{Issuer: "acme-2"})
	if r := h.serve(a.Hub, "DELETE", "/marketplace/settings/keys/shared", map[string]string{"If-Match": h.etag(a)}, nil); r.Status != 200 {
		t.Fatalf("delete key: %d %s", r.Status, r.Body)
	}
	for _, k := range []storage.Key{keys.MarketplaceIssuer("acme"), keys.MarketplaceKeyID("shared")} {
		if _, err := h.table.Get(context.Background(), k); err == nil {
			t.Fatalf("%s outlived its issuer or key", k)
		}
	}
	h.rules(b, marketplace.RulesInput{Issuer: "acme"})
	if r := h.addKey(b, marketplace.KeyInput{Kid: "shared", Algorithm: "RS256", Key: pemA}); r.Status != 201 {
		t.Fatalf("freed kid: %d %s", r.Status, r.Body)
	}
	if r := h.serve(a.Hub, "DELETE", "/marketplace/settings/keys/shared", map[string]string{"If-Match": h.etag(a)}, nil); r.Status != 404 || r.Problem.Code != "key_not_found" {
		t.Fatalf("delete another organization's key: %d %s", r.Status, r.Body)
	}
}
