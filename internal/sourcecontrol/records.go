package sourcecontrol

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/storage"
)

// Entity types of the area's items.
const (
	ConnectionType = "source_connection"
	StateType      = "oauth_state"
)

// KeyPurpose is the keyring purpose that seals the area's secrets.
const KeyPurpose = "source-control"

// StateTTL is how long a started sign-in may take.
const StateTTL = 10 * time.Minute

// Connection is an organization's or a partner's connected account. Its
// tokens are in the clear here only; the stored record holds them sealed.
type Connection struct {
	Org          string
	Partner      string
	Provider     ProviderID
	AccountLogin string
	AccountID    string
	Scopes       []string
	ConnectedAt  time.Time
	ConnectedBy  string
	Token        *oauth2.Token
}

// connectionRecord is a Connection as stored.
type connectionRecord struct {
	Provider           ProviderID `json:"provider"`
	AccountLogin       string     `json:"account_login"`
	AccountID          string     `json:"account_id,omitempty"`
	Scopes             []string   `json:"scopes"`
	ConnectedAt        time.Time  `json:"connected_at"`
	ConnectedBy        string     `json:"connected_by"`
	TokenType          string     `json:"token_type,omitempty"`
	TokenExpiry        time.Time  `json:"token_expiry,omitzero"`
	SealedAccessToken  string     `json:"sealed_access_token"`
	SealedRefreshToken string     `json:"sealed_refresh_token,omitempty"`
	Partner            string     `json:"partner_id,omitempty"`
}

// sealContext binds a sealed token to the connection's key, so a sealed
// value copied into another organization's item does not open.
func sealContext(k storage.Key) []byte {
	return []byte("source-control-connection\x00" + k.PK + "\x00" + k.SK)
}

func (c Connection) key() storage.Key { return keys.SourceConnection(c.Org, c.Partner) }

func (c Connection) item(box *secrets.Box, version int64) (storage.Item, error) {
	k := c.key()
	rec := connectionRecord{
		Provider: c.Provider, AccountLogin: c.AccountLogin, AccountID: c.AccountID, Scopes: c.Scopes,
		ConnectedAt: c.ConnectedAt, ConnectedBy: c.ConnectedBy, Partner: c.Partner,
		TokenType:         c.Token.TokenType,
		TokenExpiry:       c.Token.Expiry.UTC(),
		SealedAccessToken: box.Seal([]byte(c.Token.AccessToken), sealContext(k)),
	}
	if c.Token.RefreshToken != "" {
		rec.SealedRefreshToken = box.Seal([]byte(c.Token.RefreshToken), sealContext(k))
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return storage.Item{}, fmt.Errorf("sourcecontrol: encode connection %s: %w", k, err)
	}
	return storage.Item{Key: k, Type: ConnectionType, Version: version, Data: data}, nil
}

// connectionFromItem reads a connection without opening its tokens.
func connectionFromItem(org string, it storage.Item) (Connection, connectionRecord, error) {
	var rec connectionRecord
	if it.Type != ConnectionType {
		return Connection{}, rec, fmt.Errorf("sourcecontrol: item %s is not a connection", it.Key)
	}
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return Connection{}, rec, fmt.Errorf("sourcecontrol: decode connection %s: %w", it.Key, err)
	}
	return Connection{
		Org: org, Partner: rec.Partner, Provider: rec.Provider,
		AccountLogin: rec.AccountLogin, AccountID: rec.AccountID, Scopes: rec.Scopes,
		ConnectedAt: rec.ConnectedAt, ConnectedBy: rec.ConnectedBy,
	}, rec, nil
}

// openToken unseals a stored record's tokens.
func openToken(box *secrets.Box, k storage.Key, rec connectionRecord) (*oauth2.Token, error) {
	access, err := box.Open(rec.SealedAccessToken, sealContext(k))
	if err != nil {
		return nil, fmt.Errorf("sourcecontrol: open access token of %s: %w", k, err)
	}
	tok := &oauth2.Token{AccessToken: string(access), TokenType: rec.TokenType, Expiry: rec.TokenExpiry}
	if rec.SealedRefreshToken != "" {
		refresh, err := box.Open(rec.SealedRefreshToken, sealContext(k))
		if err != nil {
			return nil, fmt.Errorf("sourcecontrol: open refresh token of %s: %w", k, err)
		}
		tok.RefreshToken = string(refresh)
	}
	return tok, nil
}

// pendingAuthorization is a started sign-in, stored under the hash of its
// state until the callback consumes it.
type pendingAuthorization struct {
	Provider ProviderID `json:"provider"`
	Org      string     `json:"org"`
	Partner  string     `json:"partner,omitempty"`
	User     string     `json:"user"`
	// SealedVerifier is the PKCE code verifier, sealed to the state's key.
	SealedVerifier string    `json:"sealed_verifier"`
	RedirectURL    string    `json:"redirect_url"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// newState is 32 random bytes, base64url: the value the provider echoes
// back to the callback.
func newState() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("sourcecontrol: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// stateLength is the length of every state newState makes; anything else is
// refused before the table is read.
const stateLength = 43

func stateKey(state string) storage.Key {
	sum := sha256.Sum256([]byte(state))
	return keys.OAuthState(hex.EncodeToString(sum[:]))
}

func verifierContext(k storage.Key) []byte { return []byte("oauth-state\x00" + k.PK) }

func (a pendingAuthorization) item(k storage.Key) (storage.Item, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return storage.Item{}, fmt.Errorf("sourcecontrol: encode state: %w", err)
	}
	return storage.Item{Key: k, Type: StateType, Version: 1, ExpiresAt: a.ExpiresAt, Data: data}, nil
}

func pendingFromItem(it storage.Item) (pendingAuthorization, error) {
	var a pendingAuthorization
	if it.Type != StateType {
		return a, fmt.Errorf("sourcecontrol: item %s is not an OAuth state", it.Key)
	}
	if err := json.Unmarshal(it.Data, &a); err != nil {
		return a, fmt.Errorf("sourcecontrol: decode state %s: %w", it.Key, err)
	}
	return a, nil
}
