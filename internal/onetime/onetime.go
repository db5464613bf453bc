// Package onetime makes the single-use tokens of invitations and password
// resets: 32 random bytes shown once (in an email link), stored only as
// their SHA-256, consumed by a conditional delete, and removed by the TTL.
package onetime

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/storage"
)

// EntityType of token items.
const EntityType = "token"

// Purpose says what a token may be used for; a reset token cannot accept an
// invitation.
type Purpose string

const (
	Invitation    Purpose = "invitation"
	PasswordReset Purpose = "password_reset"
)

// Token is what the stored item says of a token (never the secret).
type Token struct {
	Purpose   Purpose   `json:"purpose"`
	Org       string    `json:"org"`
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
	// UserVersion is the user's token version when the token was issued;
	// a token issued before a later reset is void.
	UserVersion int64 `json:"user_version,omitempty"`
}

// Issue makes a fresh token: the secret for the email link and the put that
// stores its hash.
func Issue(t Token) (secret string, put storage.Op, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", storage.Op{}, fmt.Errorf("onetime: randomness: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(raw[:])
	data, err := json.Marshal(t)
	if err != nil {
		return "", storage.Op{}, err
	}
	return secret, storage.Put(storage.Item{
		Key:       Key(secret),
		Type:      EntityType,
		Version:   1,
		ExpiresAt: t.ExpiresAt,
		Data:      data,
	}, storage.Absent()), nil
}

// Key is where the token with this secret is stored. A malformed secret gets
// a key that cannot exist, so it is simply not found.
func Key(secret string) storage.Key {
	sum := sha256.Sum256([]byte(secret))
	return keys.Token(hex.EncodeToString(sum[:]))
}

// Decode reads a token item.
func Decode(it storage.Item) (Token, error) {
	var t Token
	if it.Type != EntityType {
		return t, fmt.Errorf("onetime: item %s is not a token", it.Key)
	}
	if err := json.Unmarshal(it.Data, &t); err != nil {
		return t, fmt.Errorf("onetime: decode %s: %w", it.Key, err)
	}
	return t, nil
}

// Consume is the operation that uses the token up: a delete conditional on
// the token still being there, so two concurrent uses cannot both succeed.
func Consume(secret string) storage.Op { return storage.Delete(Key(secret), storage.Present()) }
