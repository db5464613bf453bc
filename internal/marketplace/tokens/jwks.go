package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// JWKS defaults: a fetched set is trusted for JWKSCacheTTL; a kid the cache
// does not know triggers a refetch, but at most once per JWKSMinRefresh per
// URL, so tokens naming random kids cannot make the hub hammer a key server.
const (
	JWKSCacheTTL    = 10 * time.Minute
	JWKSMinRefresh  = 30 * time.Second
	JWKSMaxBytes    = 256 << 10
	JWKSMaxKeys     = 100
	JWKSFetchBudget = 3 * time.Second
)

// JWKS fetches organizations' JSON Web Key Sets and caches them per URL. One
// value lives as long as the process (a Lambda container), shared by every
// decision it makes.
type JWKS struct {
	client     *http.Client
	ttl        time.Duration
	minRefresh time.Duration

	mu   sync.Mutex
	sets map[string]*cachedSet
}

type cachedSet struct {
	mu        sync.Mutex // one fetch at a time per URL
	keys      map[string]Key
	fetched   time.Time // last successful fetch; zero when never
	attempted time.Time // last fetch, successful or not
}

// NewJWKS caches sets fetched with client (NewJWKSClient in production).
func NewJWKS(client *http.Client) *JWKS {
	return &JWKS{client: client, ttl: JWKSCacheTTL, minRefresh: JWKSMinRefresh, sets: map[string]*cachedSet{}}
}

func (j *JWKS) set(url string) *cachedSet {
	j.mu.Lock()
	defer j.mu.Unlock()
	s, ok := j.sets[url]
	if !ok {
		s = &cachedSet{}
		j.sets[url] = s
	}
	return s
}

// Find returns the key with kid from the set at url. The set is fetched
// when it is not cached, older than the TTL, or lacks kid, at most once per
// minimum refresh interval; in between, and when a fetch fails, the cached
// set answers. An error means no set could be had at all.
func (j *JWKS) Find(ctx context.Context, url, kid string, now time.Time) (Key, bool, error) {
	s := j.set(url)
	s.mu.Lock()
	defer s.mu.Unlock()
	k, have := s.keys[kid]
	if have && !s.fetched.IsZero() && now.Sub(s.fetched) < j.ttl {
		return k, true, nil
	}
	if !s.attempted.IsZero() && now.Sub(s.attempted) < j.minRefresh {
		return k, have, nil
	}
	s.attempted = now
	keys, err := j.fetch(ctx, url)
	if err != nil {
		if have || !s.fetched.IsZero() {
			return k, have, nil
		}
		return Key{}, false, err
	}
	s.keys, s.fetched = keys, now
	k, have = s.keys[kid]
	return k, have, nil
}

func (j *JWKS) fetch(ctx context.Context, url string) (map[string]Key, error) {
	ctx, cancel := context.WithTimeout(ctx, JWKSFetchBudget)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, JWKSMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", url, err)
	}
	if len(body) > JWKSMaxBytes {
		return nil, fmt.Errorf("jwks %s: over %d bytes", url, JWKSMaxBytes)
	}
	return ParseJWKS(body)
}

// ParseJWKS reads a JWK Set's usable keys by kid: keys without a kid, of
// another type, for encryption or private are left out.
func ParseJWKS(body []byte) (map[string]Key, error) {
	var doc struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("jwks: not a JWK Set: %w", err)
	}
	if len(doc.Keys) > JWKSMaxKeys {
		return nil, fmt.Errorf("jwks: %d keys, at most %d", len(doc.Keys), JWKSMaxKeys)
	}
	out := make(map[string]Key, len(doc.Keys))
	for _, jwk := range doc.Keys {
		if jwk.Kid == "" {
			continue
		}
		alg, err := jwk.Algorithm()
		if err != nil {
			continue
		}
		pub, err := jwk.PublicKey()
		if err != nil {
			continue
		}
		k, err := PublicKey(jwk.Kid, alg, pub)
		if err != nil {
			continue
		}
		out[jwk.Kid] = k
	}
	return out, nil
}

// ErrForbiddenAddress: a JWKS URL resolved to an address the hub does not
// call (loopback, private, link-local, ...).
var ErrForbiddenAddress = errors.New("tokens: address not allowed for a key set")

// NewJWKSClient is the HTTP client for key sets, built once per process:
// short timeouts, no redirects, no proxy from the environment and, unless
// allowPrivate (tests), only public addresses, so an organization's URL
// cannot make the authorizer reach into the hub's own network.
func NewJWKSClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !PublicAddress(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: JWKSFetchBudget,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   2 * time.Second,
			ResponseHeaderTimeout: 2 * time.Second,
			MaxIdleConns:          10,
			IdleConnTimeout:       60 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddress reports whether the hub may fetch a key set from addr.
func PublicAddress(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsValid() && addr.IsGlobalUnicast() && !addr.IsPrivate() && !sharedAddressSpace.Contains(addr)
}
