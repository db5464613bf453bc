package bench_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/apikeys"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/storage"
)

// memTable serves the items of a table from memory, so the authorizer's
// figures are its own work and not the table's.
type memTable map[storage.Key]storage.Item

func (m memTable) Get(_ context.Context, k storage.Key) (storage.Item, error) {
	if it, ok := m[k]; ok {
		return it, nil
	}
	return storage.Item{}, storage.ErrNotFound
}

func (m memTable) GetMany(_ context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error) {
	found := make(map[storage.Key]storage.Item, len(keys))
	for _, k := range keys {
		if it, ok := m[k]; ok {
			found[k] = it
		}
	}
	return found, nil
}

func (memTable) Query(context.Context, storage.Query) (storage.Page, error) {
	return storage.Page{}, errors.New("memTable: no queries")
}

func (memTable) Write(context.Context, ...storage.Op) error { return errors.New("memTable: read only") }

// changingTable answers each read as if the item had been written since
// the one before (a new version every time), so the authorizer never
// finds an item it decoded before: its figures are those of a first
// decision on each item (a new credential, or one just changed).
type changingTable struct {
	memTable
	reads atomic.Int64
}

func (c *changingTable) Get(ctx context.Context, k storage.Key) (storage.Item, error) {
	it, err := c.memTable.Get(ctx, k)
	it.Version += c.reads.Add(1)
	return it, err
}

// credentialCase is one kind of credential: the authorizer request that
// carries it and the bare verification of the same token.
type credentialCase struct {
	name string
	req  events.APIGatewayV2CustomAuthorizerV2Request
	// kind is the principal the authorizer must resolve.
	kind principal.Kind
	bare func() error
}

type handler = func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// credentialCases makes an organization through the API on an embedded
// local stack, with an API key, an HS256 marketplace secret and an ES256
// public key, and returns one case per credential kind, the authorizer
// over an in-memory copy of the table, and another over a copy whose
// every item changes between reads.
func credentialCases(b *testing.B) (cases []credentialCase, auth, authChanging handler) {
	h := prooftest.Open(b)
	org := h.NewOrg(principal.Standard)

	// An ES256 public key for the marketplace, and a token it verifies.
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	kid := "bench-es256-" + strings.ToLower(org.Label)
	h.MustDo(prooftest.Request{Method: "POST", Path: "/marketplace/settings/keys", Caller: org.Admin, IfMatch: h.ETag("/marketplace/settings", org.Admin),
		Body: prooftest.JSONBody(map[string]string{"kid": kid, "algorithm": "ES256", "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})}, http.StatusCreated)
	now := time.Now()
	esClaims := jwt.RegisteredClaims{Subject: "end-user-es", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(30 * time.Minute))}
	es := jwt.NewWithClaims(jwt.SigningMethodES256, esClaims)
	es.Header["kid"] = kid
	esToken, err := es.SignedString(priv)
	if err != nil {
		b.Fatal(err)
	}

	items, err := h.DB.Dump(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	mem := memTable{}
	for _, it := range items {
		mem[it.Key] = it
	}
	deps := *h.Deps
	deps.Table = mem
	auth = deps.Authorizer().Handle
	deps.Table = &changingTable{memTable: mem}
	authChanging = deps.Authorizer().Handle

	request := func(headers map[string]string) events.APIGatewayV2CustomAuthorizerV2Request {
		return events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /users", RawPath: "/users", Headers: headers}
	}
	sessionToken := org.Admin.Token()
	sessionKey := h.Deps.Keys.Derive(sessions.KeyPurpose)
	sessionParser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(sessions.Issuer), jwt.WithAudience(sessions.Audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(sessions.Leeway))
	apiKey := org.APIKey.Token()
	storedHash := func() string {
		id, _, _ := apikeys.Parse(apiKey)
		it, _ := mem.Get(context.Background(), keys.APIKeyLookup(id))
		var k apikeys.Key
		_ = json.Unmarshal(it.Data, &k)
		return k.SecretSHA256
	}()
	hsToken := org.EndUser.Token()
	hsSecret := []byte(org.MarketplaceSecret)
	endUserParser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256", "ES256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second))

	return []credentialCase{
		{"hub session", request(map[string]string{"authorization": "Bearer " + sessionToken}), principal.HubUser, func() error {
			_, err := sessionParser.ParseWithClaims(sessionToken, &sessions.Claims{}, func(*jwt.Token) (any, error) { return sessionKey, nil })
			return err
		}},
		{"API key", request(map[string]string{"x-api-key": apiKey}), principal.APIKey, func() error {
			_, secret, ok := apikeys.Parse(apiKey)
			sum := sha256.Sum256([]byte(secret))
			if !ok || subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(storedHash)) != 1 {
				return errors.New("bare API key check failed")
			}
			return nil
		}},
		{"marketplace HS256", request(map[string]string{"authorization": "Bearer " + hsToken}), principal.EndUser, func() error {
			_, err := endUserParser.ParseWithClaims(hsToken, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return hsSecret, nil })
			return err
		}},
		{"marketplace ES256", request(map[string]string{"authorization": "Bearer " + esToken}), principal.EndUser, func() error {
			_, err := endUserParser.ParseWithClaims(esToken, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return &priv.PublicKey, nil })
			return err
		}},
	}, auth, authChanging
}

// BenchmarkAuthorizer decides each kind of credential (the authorizer's
// Handle, over an in-memory table) next to the bare verification of the
// same credential: jwt.Parse with the same key and rules for a token, the
// key's parse, hash and comparison for an API key. The ratio is the
// authorizer's own work (goal: at most 1.2).
//
// The authorizer keeps what it decoded from an item for as long as the
// item does not change, as a warm Lambda does between requests with the
// same credential; authorizer_item_changed is the same decision when the
// item changed since the last one, so nothing decoded before is used.
func BenchmarkAuthorizer(b *testing.B) {
	cases, auth, authChanging := credentialCases(b)
	ctx := context.Background()
	for _, c := range cases {
		resp, err := auth(ctx, c.req)
		if err != nil || !resp.IsAuthorized || resp.Context["kind"] != string(c.kind) {
			b.Fatalf("%s: the authorizer answered %+v, %v", c.name, resp, err)
		}
		if err := c.bare(); err != nil {
			b.Fatalf("%s: the bare verification failed: %v", c.name, err)
		}
		b.Run("credential="+c.name+"/authorizer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := auth(ctx, c.req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("credential="+c.name+"/authorizer_item_changed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp, err := authChanging(ctx, c.req); err != nil || !resp.IsAuthorized {
					b.Fatal(resp, err)
				}
			}
		})
		b.Run("credential="+c.name+"/bare", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.bare(); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The ratio: batches of decisions and of bare verifications take
		// turns, so the machine's drift over the run falls on both alike
		// (measured apart, one credential's ratio moved by a quarter from
		// run to run).
		b.Run("credential="+c.name+"/turns", func(b *testing.B) {
			const batch = 64
			var authorizer, bare time.Duration
			for b.Loop() {
				start := time.Now()
				for range batch {
					if _, err := auth(ctx, c.req); err != nil {
						b.Fatal(err)
					}
				}
				mid := time.Now()
				for range batch {
					if err := c.bare(); err != nil {
						b.Fatal(err)
					}
				}
				authorizer += mid.Sub(start)
				bare += time.Since(mid)
			}
			ops := float64(b.N * batch)
			b.ReportMetric(float64(authorizer.Nanoseconds())/ops, "authorizer-ns/op")
			b.ReportMetric(float64(bare.Nanoseconds())/ops, "bare-ns/op")
		})
	}
}
