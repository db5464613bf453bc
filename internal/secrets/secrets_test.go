package secrets_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/integration-hub/hub/internal/secrets"
)

func keyring(t *testing.T, fill byte) *secrets.Keyring {
	k, err := secrets.NewKeyring(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedValuesOpenOnlyWithTheSameKeyPurposeAndContext(t *testing.T) {
	k := keyring(t, 1)
	sealed := k.Box("tokens").Seal([]byte("s3cret"), []byte("event-1"))
	if got, err := k.Box("tokens").Open(sealed, []byte("event-1")); err != nil || string(got) != "s3cret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-2] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other context": func() ([]byte, error) { return k.Box("tokens").Open(sealed, []byte("event-2")) },
		"other purpose": func() ([]byte, error) { return k.Box("oauth").Open(sealed, []byte("event-1")) },
		"other master":  func() ([]byte, error) { return keyring(t, 2).Box("tokens").Open(sealed, []byte("event-1")) },
		"tampered":      func() ([]byte, error) { return k.Box("tokens").Open(string(tampered), []byte("event-1")) },
		"garbage":       func() ([]byte, error) { return k.Box("tokens").Open("!!", nil) },
	} {
		if _, err := open(); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestNewKeyringRefusesAShortMasterSecret(t *testing.T) {
	if _, err := secrets.NewKeyring(make([]byte, 31)); err == nil {
		t.Fatal("accepted a 31-byte master secret")
	}
}
