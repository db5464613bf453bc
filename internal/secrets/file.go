package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DecodeMaster reads a master secret as stored (base64, standard or URL
// alphabet, padded or not).
func DecodeMaster(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < MinMasterSize {
				return nil, fmt.Errorf("secrets: master secret has %d bytes, need at least %d", len(b), MinMasterSize)
			}
			return b, nil
		}
	}
	return nil, errors.New("secrets: master secret is not base64")
}

// LoadOrCreateFile reads the master secret from path, creating it with 32
// fresh random bytes (mode 0600) the first time. The local stack keeps it in
// its data folder.
func LoadOrCreateFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return DecodeMaster(string(b))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secrets: read %s: %w", path, err)
	}
	master := make([]byte, MinMasterSize)
	if _, err := rand.Read(master); err != nil {
		return nil, fmt.Errorf("secrets: randomness: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateFile(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: create %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(master) + "\n"); err != nil {
		return nil, fmt.Errorf("secrets: write %s: %w", path, err)
	}
	return master, nil
}
