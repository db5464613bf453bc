// Package secrets holds the hub's key material: one master secret (from SSM
// in AWS, a generated file in the local data folder), from which each use
// derives its own key, so a key for sealing tokens can never verify a
// session and the reverse.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// MinMasterSize is the least master secret accepted, in bytes.
const MinMasterSize = 32

// ErrOpen: a sealed value is malformed, was sealed with another key or
// purpose, or was tampered with.
var ErrOpen = errors.New("secrets: cannot open sealed value")

// Keyring derives purpose-bound keys from the master secret.
type Keyring struct{ master []byte }

// NewKeyring keeps a copy of master.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) < MinMasterSize {
		return nil, fmt.Errorf("secrets: master secret has %d bytes, need at least %d", len(master), MinMasterSize)
	}
	return &Keyring{master: append([]byte(nil), master...)}, nil
}

// Derive returns the 32-byte key for a purpose (HMAC-SHA256 of the purpose
// under the master secret).
func (k *Keyring) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.master)
	m.Write([]byte("integration-hub/" + purpose))
	return m.Sum(nil)
}

// Box seals and opens values with AES-256-GCM under a derived key.
type Box struct{ aead cipher.AEAD }

// Box returns the sealer for a purpose.
func (k *Keyring) Box(purpose string) *Box {
	block, err := aes.NewCipher(k.Derive(purpose))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Box{aead: aead}
}

// Seal encrypts plain, binding it to context (which Open must repeat, so a
// value sealed for one record cannot be moved to another).
func (b *Box) Seal(plain, context []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secrets: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, context))
}

// Open decrypts a sealed value.
func (b *Box) Open(sealed string, context []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], context)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
