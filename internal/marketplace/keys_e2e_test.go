package marketplace_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/marketplace/tokens"
	"github.com/integration-hub/hub/internal/principal"
)

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ed25519JWK is the public JWK of k, as an owner pastes it: the kid and the
// algorithm come from the JWK itself.
func ed25519JWK(t *testing.T, kid string, k ed25519.PrivateKey) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustAddKey registers a key through POST /marketplace/settings/keys and
// returns the settings it answers.
func (h *hub) mustAddKey(o org, in marketplace.KeyInput) marketplace.Settings {
	h.t.Helper()
	r := h.addKey(o, in)
	if r.Status != http.StatusCreated {
		h.t.Fatalf("POST /marketplace/settings/keys (kid %q): %d %s", in.Kid, r.Status, r.Body)
	}
	var doc marketplace.Settings
	r.decode(h.t, &doc)
	return doc
}

// keyAlgorithms maps each registered key's kid to its algorithm.
func keyAlgorithms(doc marketplace.Settings) map[string]tokens.Algorithm {
	out := map[string]tokens.Algorithm{}
	for _, k := range doc.PublicKeys {
		out[k.Kid] = k.Algorithm
	}
	return out
}

// mustBeEndUser checks that token passes the real authorizer as end-user
// sub of o.
func (h *hub) mustBeEndUser(name, token string, o org, sub string) {
	h.t.Helper()
	p := h.mustAuthorize(token)
	if p.Kind != principal.EndUser || p.Org != o.ID || p.Subject != sub {
		h.t.Fatalf("%s: principal %+v, want end-user %q of %s", name, p, sub, o.ID)
	}
}

// mustBeRefused checks that the authorizer refuses token and that the
// marketplace API, reached with it as API Gateway would, answers 401.
func (h *hub) mustBeRefused(name, token string) {
	h.t.Helper()
	if p, ok := h.authorize(token); ok {
		h.t.Fatalf("%s: admitted as %+v, want refused", name, p)
	}
	if r := h.deployed(token, "GET", "/marketplace/integrations", nil); r.Status != http.StatusUnauthorized || r.Problem.Code != "invalid_credential" {
		h.t.Fatalf("%s: the API answered %d %s, want 401 invalid_credential", name, r.Status, r.Body)
	}
}

// An ES256 key registered as PEM and an EdDSA key registered as a JWK, both
// through the settings API, verify the tokens their private keys sign, as
// the end-user each token names; a token signed by another key of the same
// algorithm under the same kid is refused. Tokens are found both by the
// organization's issuer and, without an issuer, by their kid.
func TestES256AndEdDSAKeysRegisteredThroughTheAPIVerifyOnlyTheirOwnTokens(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	h.rules(o, marketplace.RulesInput{Issuer: "acme", Audience: "marketplace"})
	es, esOther := ecKey(t), ecKey(t)
	ed, edOther := edKey(t), edKey(t)

	h.mustAddKey(o, marketplace.KeyInput{Kid: "es-1", Algorithm: "ES256", Key: publicPEM(t, &es.PublicKey)})
	// Neither kid nor algorithm given beside the JWK: both come from it.
	doc := h.mustAddKey(o, marketplace.KeyInput{Key: ed25519JWK(t, "ed-1", ed)})
	if got := keyAlgorithms(doc); len(got) != 2 || got["es-1"] != tokens.ES256 || got["ed-1"] != tokens.EdDSA {
		t.Fatalf("registered keys: %+v", doc.PublicKeys)
	}

	claims := func(sub string, withIssuer bool) jwt.MapClaims {
		c := jwt.MapClaims{"aud": "marketplace", "sub": sub}
		if withIssuer {
			c["iss"] = "acme"
		}
		return c
	}
	for _, withIssuer := range []bool{true, false} {
		lookup := "found by the issuer"
		if !withIssuer {
			// Without an issuer in the rules, tokens name none and the
			// authorizer finds the organization by the token's kid.
			h.rules(o, marketplace.RulesInput{Audience: "marketplace"})
			lookup = "found by the kid"
		}
		h.mustBeEndUser(lookup+": ES256", h.token(jwt.SigningMethodES256, es, "es-1", claims("es-user", withIssuer)), o, "es-user")
		h.mustBeEndUser(lookup+": EdDSA", h.token(jwt.SigningMethodEdDSA, ed, "ed-1", claims("ed-user", withIssuer)), o, "ed-user")

		h.mustBeRefused(lookup+": ES256 signed by another P-256 key under es-1", h.token(jwt.SigningMethodES256, esOther, "es-1", claims("es-user", withIssuer)))
		h.mustBeRefused(lookup+": EdDSA signed by another Ed25519 key under ed-1", h.token(jwt.SigningMethodEdDSA, edOther, "ed-1", claims("ed-user", withIssuer)))
		// Each key verifies its own algorithm only.
		h.mustBeRefused(lookup+": EdDSA under the ES256 key's kid", h.token(jwt.SigningMethodEdDSA, ed, "es-1", claims("ed-user", withIssuer)))
		h.mustBeRefused(lookup+": ES256 under the EdDSA key's kid", h.token(jwt.SigningMethodES256, es, "ed-1", claims("es-user", withIssuer)))
	}
}

// Two RS256 keys of one organization are active at once; once one is
// deleted through DELETE /marketplace/settings/keys/{kid}, its tokens (one
// made before the deletion included) are refused from then on, and the
// other key's tokens still verify.
func TestTwoRS256KeysRotateAndADeletedKeyStopsVerifying(t *testing.T) {
	h := newHub(t)
	o := h.newOrg("")
	h.rules(o, marketplace.RulesInput{Issuer: "acme"})
	oldKey, newKey := rsaKey(t), rsaKey(t)
	h.mustAddKey(o, marketplace.KeyInput{Kid: "rsa-2026-10", Algorithm: "RS256", Key: publicPEM(t, &oldKey.PublicKey)})
	doc := h.mustAddKey(o, marketplace.KeyInput{Kid: "rsa-2026-11", Algorithm: "RS256", Key: publicPEM(t, &newKey.PublicKey)})
	if got := keyAlgorithms(doc); len(got) != 2 || got["rsa-2026-10"] != tokens.RS256 || got["rsa-2026-11"] != tokens.RS256 {
		t.Fatalf("registered keys: %+v", doc.PublicKeys)
	}

	// Signed by key, naming its kid or (no kid) tried against all the
	// organization's RS256 keys.
	type signed struct {
		name  string
		token func() string
	}
	tokensOf := func(key *rsa.PrivateKey, kid, sub string) []signed {
		return []signed{
			{"signed by " + kid + ", naming it", func() string {
				return h.token(jwt.SigningMethodRS256, key, kid, jwt.MapClaims{"iss": "acme", "sub": sub})
			}},
			{"signed by " + kid + ", naming no kid", func() string {
				return h.token(jwt.SigningMethodRS256, key, "", jwt.MapClaims{"iss": "acme", "sub": sub})
			}},
		}
	}
	oldTokens, newTokens := tokensOf(oldKey, "rsa-2026-10", "old-user"), tokensOf(newKey, "rsa-2026-11", "new-user")
	for _, tok := range oldTokens {
		h.mustBeEndUser(tok.name, tok.token(), o, "old-user")
	}
	for _, tok := range newTokens {
		h.mustBeEndUser(tok.name, tok.token(), o, "new-user")
	}
	madeBefore := oldTokens[0].token()

	r := h.serve(o.Hub, "DELETE", "/marketplace/settings/keys/rsa-2026-10", map[string]string{"If-Match": h.etag(o)}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("DELETE the old key: %d %s", r.Status, r.Body)
	}
	r.decode(t, &doc)
	if got := keyAlgorithms(doc); len(got) != 1 || got["rsa-2026-11"] != tokens.RS256 {
		t.Fatalf("keys after the deletion: %+v", doc.PublicKeys)
	}

	check := func(when string) {
		t.Helper()
		h.mustBeRefused(when+": a token made before the deletion", madeBefore)
		for _, tok := range oldTokens {
			h.mustBeRefused(when+": "+tok.name, tok.token())
		}
		for _, tok := range newTokens {
			h.mustBeEndUser(when+": "+tok.name, tok.token(), o, "new-user")
		}
	}
	check("right after the deletion")
	// Later, and after another settings write, it is still gone.
	h.clock.Advance(2 * time.Minute)
	h.rules(o, marketplace.RulesInput{Issuer: "acme", LeewaySeconds: ptr[int64](60)})
	check("later")
	if r := h.serve(o.Hub, "DELETE", "/marketplace/settings/keys/rsa-2026-10", map[string]string{"If-Match": h.etag(o)}, nil); r.Status != http.StatusNotFound || r.Problem.Code != "key_not_found" {
		t.Fatalf("deleting it again: %d %s", r.Status, r.Body)
	}
}
