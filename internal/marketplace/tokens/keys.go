package tokens

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
)

// Algorithm is a JWS algorithm the hub verifies. Every stored key records
// exactly one; "none" and every algorithm not listed here are refused.
type Algorithm string

const (
	HS256 Algorithm = "HS256" // HMAC-SHA256 with a secret the hub generated
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048 bits or more
	ES256 Algorithm = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA Algorithm = "EdDSA" // Ed25519
)

// PublicAlgorithms are the algorithms of keys an organization registers.
var PublicAlgorithms = []Algorithm{RS256, ES256, EdDSA}

// ParsePublicAlgorithm reads the algorithm of a public key; HS256 is not one.
func ParsePublicAlgorithm(s string) (Algorithm, bool) {
	for _, a := range PublicAlgorithms {
		if string(a) == s {
			return a, true
		}
	}
	return "", false
}

// Limits of RSA keys: below the minimum is weak, above the maximum makes
// each verification needlessly slow.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// Key is one verification key and the one algorithm it may verify. An HMAC
// key is never offered for a public-key algorithm, nor the reverse: the
// finder selects keys by algorithm, and golang-jwt also checks the key's Go
// type against the token's method.
type Key struct {
	ID        string
	Algorithm Algorithm
	material  any // []byte for HS256; *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// HMACKey is a shared secret for HS256.
func HMACKey(id string, secret []byte) Key {
	return Key{ID: id, Algorithm: HS256, material: append([]byte(nil), secret...)}
}

// PublicKey is a public key for alg; the key's type must be alg's.
func PublicKey(id string, alg Algorithm, pub crypto.PublicKey) (Key, error) {
	if err := CheckKeyType(alg, pub); err != nil {
		return Key{}, err
	}
	return Key{ID: id, Algorithm: alg, material: pub}, nil
}

// ErrKeyMaterial: a public key is malformed, private, of another type than
// its algorithm, or too weak.
var ErrKeyMaterial = errors.New("tokens: unusable key")

// CheckKeyType reports whether pub is a key of alg's type and strength.
func CheckKeyType(alg Algorithm, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg != RS256 {
			return fmt.Errorf("%w: an RSA key is for RS256, not %s", ErrKeyMaterial, alg)
		}
		if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return fmt.Errorf("%w: the RSA key has %d bits; %d to %d are accepted", ErrKeyMaterial, bits, MinRSABits, MaxRSABits)
		}
	case *ecdsa.PublicKey:
		if alg != ES256 {
			return fmt.Errorf("%w: an EC key is for ES256, not %s", ErrKeyMaterial, alg)
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ES256 needs a P-256 key", ErrKeyMaterial)
		}
	case ed25519.PublicKey:
		if alg != EdDSA {
			return fmt.Errorf("%w: an Ed25519 key is for EdDSA, not %s", ErrKeyMaterial, alg)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: an Ed25519 key has %d bytes", ErrKeyMaterial, ed25519.PublicKeySize)
		}
	default:
		return fmt.Errorf("%w: an RSA, P-256 or Ed25519 public key is needed", ErrKeyMaterial)
	}
	return nil
}

// JWK is a JSON Web Key (RFC 7517) as the hub reads one: public members only.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	// D is the private member; a key that has it is refused.
	D string `json:"d,omitempty"`
}

// Algorithm is the key's algorithm: its alg member, or the one algorithm
// the hub accepts for its type (RSA: RS256, EC P-256: ES256, OKP Ed25519:
// EdDSA).
func (j JWK) Algorithm() (Algorithm, error) {
	var implied Algorithm
	switch {
	case j.Kty == "RSA":
		implied = RS256
	case j.Kty == "EC" && j.Crv == "P-256":
		implied = ES256
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		implied = EdDSA
	default:
		return "", fmt.Errorf("%w: key type %q (curve %q) is not RSA, EC P-256 or OKP Ed25519", ErrKeyMaterial, j.Kty, j.Crv)
	}
	if j.Alg != "" && j.Alg != string(implied) {
		return "", fmt.Errorf("%w: alg %q does not fit a %s key (want %s)", ErrKeyMaterial, j.Alg, j.Kty, implied)
	}
	return implied, nil
}

// PublicKey decodes the key's public material.
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	if j.D != "" {
		return nil, fmt.Errorf("%w: this is a private key; register the public key only", ErrKeyMaterial)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("%w: use %q is not sig", ErrKeyMaterial, j.Use)
	}
	b64 := func(name, s string) ([]byte, error) {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("%w: member %s is not base64url", ErrKeyMaterial, name)
		}
		return b, nil
	}
	switch j.Kty {
	case "RSA":
		n, err := b64("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := b64("e", j.E)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, fmt.Errorf("%w: RSA exponent too large", ErrKeyMaterial)
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			return nil, fmt.Errorf("%w: RSA exponent %d", ErrKeyMaterial, exp)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	case "EC":
		if j.Crv != "P-256" {
			return nil, fmt.Errorf("%w: curve %q is not P-256", ErrKeyMaterial, j.Crv)
		}
		x, err := b64("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := b64("y", j.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("%w: P-256 coordinates have 32 bytes", ErrKeyMaterial)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeyMaterial, err)
		}
		return pub, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("%w: curve %q is not Ed25519", ErrKeyMaterial, j.Crv)
		}
		x, err := b64("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: an Ed25519 key has %d bytes", ErrKeyMaterial, ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("%w: key type %q", ErrKeyMaterial, j.Kty)
}

// ParsedKey is a public key read from what an owner pasted, with the kid
// and algorithm a JWK named, if any.
type ParsedKey struct {
	Public crypto.PublicKey
	// Kid and Algorithm are what a JWK said; a PEM key says neither.
	Kid       string
	Algorithm Algorithm
}

// ParsePublicKey reads a public key as PEM ("PUBLIC KEY" or "RSA PUBLIC
// KEY") or as one JWK. Private keys and certificates are refused.
func ParsePublicKey(text string) (ParsedKey, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "{") {
		var j JWK
		dec := json.NewDecoder(strings.NewReader(text))
		if err := dec.Decode(&j); err != nil {
			return ParsedKey{}, fmt.Errorf("%w: not a JSON Web Key: %v", ErrKeyMaterial, err)
		}
		alg, err := j.Algorithm()
		if err != nil {
			return ParsedKey{}, err
		}
		pub, err := j.PublicKey()
		if err != nil {
			return ParsedKey{}, err
		}
		return ParsedKey{Public: pub, Kid: j.Kid, Algorithm: alg}, nil
	}
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return ParsedKey{}, fmt.Errorf("%w: neither PEM nor a JSON Web Key", ErrKeyMaterial)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return ParsedKey{}, fmt.Errorf("%w: one PEM block only", ErrKeyMaterial)
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return ParsedKey{}, fmt.Errorf("%w: %v", ErrKeyMaterial, err)
		}
		return ParsedKey{Public: pub}, nil
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return ParsedKey{}, fmt.Errorf("%w: %v", ErrKeyMaterial, err)
		}
		return ParsedKey{Public: pub}, nil
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return ParsedKey{}, fmt.Errorf("%w: this is a private key; register the public key only", ErrKeyMaterial)
	}
	return ParsedKey{}, fmt.Errorf("%w: PEM block %q is not a public key", ErrKeyMaterial, block.Type)
}

// EncodePublicKey is the stored form of a public key: its PKIX DER, base64.
func EncodePublicKey(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKeyMaterial, err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// DecodePublicKey reads the stored form back. The result is shared with
// every caller that decodes the same stored form: use it, never change it.
func DecodePublicKey(stored string) (crypto.PublicKey, error) {
	if pub, ok := decodedKeys.get(stored); ok {
		return pub, nil
	}
	der, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return nil, fmt.Errorf("%w: stored key is not base64", ErrKeyMaterial)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyMaterial, err)
	}
	decodedKeys.put(stored, pub)
	return pub, nil
}

// MaxDecodedKeys bounds the public keys DecodePublicKey keeps.
const MaxDecodedKeys = 512

// decodedKeys keeps parsed public keys by their whole stored form, so a
// decision does not parse the same DER again (x509 validates the key's
// point or modulus each time). It is keyed by content: a key that is
// removed or replaced is no longer asked for, and no stored form can
// answer for another.
var decodedKeys keyCache

type keyCache struct {
	mu   sync.Mutex
	keys map[string]crypto.PublicKey
}

func (c *keyCache) get(stored string) (crypto.PublicKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pub, ok := c.keys[stored]
	return pub, ok
}

func (c *keyCache) put(stored string, pub crypto.PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[string]crypto.PublicKey)
	}
	if _, replaces := c.keys[stored]; !replaces && len(c.keys) >= MaxDecodedKeys {
		for k := range c.keys {
			delete(c.keys, k)
			break
		}
	}
	c.keys[stored] = pub
}
