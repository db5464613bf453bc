package marketplace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/marketplace/tokens"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/settings"
	"github.com/integration-hub/hub/internal/storage"
)

// Resolver is the authorizer's marketplace token resolver
// (authorizer.Marketplace). It reads one item per decision, the verifier
// copy its token's issuer or kid leads to, fetches a JWK Set only for an
// organization that set a JWKS URL (cached), and writes nothing: the
// marketplace function records the end-user.
type Resolver struct {
	Table authorizer.Getter
	// Secrets opens HS256 secrets (the keyring's SecretPurpose box).
	Secrets *secrets.Box
	// JWKS caches the organizations' key sets; nil refuses tokens that
	// only a key set could verify.
	JWKS *tokens.JWKS
	Now  func() time.Time

	// verifiers keeps decoded verifier copies with their secrets opened,
	// valid only for the exact item read (its version and content): a
	// rotation, a revocation or any other write is a miss. Whether a secret
	// is live is still decided at each decision's time.
	verifiers authorizer.ItemCache[*verifier]
}

// verifier is a decoded verifier copy and its HS256 secrets, opened.
type verifier struct {
	doc     document
	secrets []openedSecret // doc.Secrets, in order
}

type openedSecret struct {
	secret []byte
	err    error // decided when the secret is offered, as before
}

func (r *Resolver) decodeVerifier(item storage.Item) (*verifier, error) {
	v := &verifier{}
	if err := settings.Decode(item, VerifierType, &v.doc); err != nil {
		return nil, fmt.Errorf("marketplace: %w", err)
	}
	for _, sec := range v.doc.Secrets {
		secret, err := openSecret(r.Secrets, v.doc.Org, sec)
		v.secrets = append(v.secrets, openedSecret{secret, err})
	}
	return v, nil
}

var _ authorizer.CredentialResolver = (*Resolver)(nil)

// NewResolver builds the resolver once per process, with its key-set cache
// and HTTP client.
func NewResolver(table authorizer.Getter, keyring *secrets.Keyring, now func() time.Time) *Resolver {
	return &Resolver{Table: table, Secrets: keyring.Box(SecretPurpose), JWKS: tokens.NewJWKS(tokens.NewJWKSClient(false)), Now: now}
}

func deny(format string, args ...any) error {
	return fmt.Errorf("%w: marketplace token: %s", authorizer.ErrDenied, fmt.Sprintf(format, args...))
}

// Resolve verifies an end-user token and returns its principal. The
// token's iss and kid are read unverified, only to find whose rules and
// keys verify it; anything invalid is denied (an error wrapping
// authorizer.ErrDenied, whose text the authorizer logs and which never
// holds the token or a secret).
func (r *Resolver) Resolve(ctx context.Context, token string, _ events.APIGatewayV2CustomAuthorizerV2Request) (principal.Principal, error) {
	now := r.Now()
	parsed, err := tokens.Parse(token)
	if err != nil {
		return principal.Principal{}, deny("%v", err)
	}
	var lookup storage.Key
	switch {
	case parsed.Issuer == sessions.Issuer:
		return principal.Principal{}, deny("the hub's own issuer")
	case parsed.Issuer != "":
		if len(parsed.Issuer) > MaxIssuerLength {
			return principal.Principal{}, deny("issuer too long")
		}
		lookup = keys.MarketplaceIssuer(parsed.Issuer)
	case parsed.KeyID != "":
		if len(parsed.KeyID) > MaxKeyIDLength {
			return principal.Principal{}, deny("kid too long")
		}
		lookup = keys.MarketplaceKeyID(parsed.KeyID)
	default:
		return principal.Principal{}, deny("names neither an issuer nor a kid")
	}
	item, err := r.Table.Get(ctx, lookup)
	if errors.Is(err, storage.ErrNotFound) {
		return principal.Principal{}, deny("no organization for issuer %q / kid %q", parsed.Issuer, parsed.KeyID)
	}
	if err != nil {
		return principal.Principal{}, fmt.Errorf("marketplace: read verifier: %w", err)
	}
	v, err := r.verifiers.Decode(item, r.decodeVerifier)
	if err != nil {
		return principal.Principal{}, err
	}
	doc := v.doc
	id, err := parsed.Verify(ctx, doc.rules(now), r.finder(v, now), now)
	if errors.Is(err, tokens.ErrRefused) {
		return principal.Principal{}, deny("organization %s: %v", doc.Org, err)
	}
	if err != nil {
		return principal.Principal{}, fmt.Errorf("marketplace: organization %s: %w", doc.Org, err)
	}
	return principal.Principal{
		Kind: principal.EndUser, Org: doc.Org, Subject: id.EndUser,
		Groups: id.Groups, Tier: id.Tier, Hidden: id.Hidden, AllowedInstalls: id.AllowedInstalls,
	}, nil
}

// finder offers the keys of doc that may verify a token: for HS256 its
// secrets live at now, for a public algorithm its keys recorded with that
// algorithm, each narrowed to the token's kid when it names one; a kid the
// document does not have is looked up in the organization's JWK Set.
func (r *Resolver) finder(v *verifier, now time.Time) tokens.KeyFinder {
	doc := v.doc
	return func(ctx context.Context, alg tokens.Algorithm, kid string) ([]tokens.Key, error) {
		var out []tokens.Key
		if alg == tokens.HS256 {
			for i, sec := range doc.Secrets {
				if !sec.liveAt(now) || (kid != "" && sec.Kid != kid) {
					continue
				}
				opened := v.secrets[i]
				if opened.err != nil {
					return nil, opened.err
				}
				out = append(out, tokens.HMACKey(sec.Kid, opened.secret))
			}
			return out, nil
		}
		for _, k := range doc.PublicKeys {
			if k.Algorithm != alg || (kid != "" && k.Kid != kid) {
				continue
			}
			pub, err := tokens.DecodePublicKey(k.PKIX)
			if err != nil {
				return nil, fmt.Errorf("marketplace: key %s of %s: %w", k.Kid, doc.Org, err)
			}
			key, err := tokens.PublicKey(k.Kid, k.Algorithm, pub)
			if err != nil {
				return nil, fmt.Errorf("marketplace: key %s of %s: %w", k.Kid, doc.Org, err)
			}
			out = append(out, key)
		}
		if len(out) > 0 || kid == "" || doc.JWKSURL == "" || r.JWKS == nil {
			return out, nil
		}
		key, ok, err := r.JWKS.Find(ctx, doc.JWKSURL, kid, now)
		if err != nil {
			return nil, err
		}
		if ok && key.Algorithm == alg {
			out = append(out, key)
		}
		return out, nil
	}
}
