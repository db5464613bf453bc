package tokens

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

func TestDecodedPublicKeysAreKeptByTheirWholeStoredFormAndBounded(t *testing.T) {
	stored := func() (string, *ecdsa.PublicKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := EncodePublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return s, &k.PublicKey
	}
	a, aPub := stored()
	b, bPub := stored()
	for _, tc := range []struct {
		name   string
		stored string
		want   *ecdsa.PublicKey
	}{
		{"a", a, aPub}, {"b", b, bPub}, {"a again", a, aPub}, {"b again", b, bPub},
	} {
		got, err := DecodePublicKey(tc.stored)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want.Equal(got) {
			t.Fatalf("%s: decoded another key", tc.name)
		}
	}
	if _, err := DecodePublicKey(a[:len(a)-8]); err == nil {
		t.Fatal("a truncated stored form decoded (answered for the whole one)")
	}
	for range MaxDecodedKeys + 20 {
		s, _ := stored()
		if _, err := DecodePublicKey(s); err != nil {
			t.Fatal(err)
		}
	}
	decodedKeys.mu.Lock()
	n := len(decodedKeys.keys)
	decodedKeys.mu.Unlock()
	if n > MaxDecodedKeys {
		t.Fatalf("%d keys kept, at most %d", n, MaxDecodedKeys)
	}
}
