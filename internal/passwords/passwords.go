// Package passwords hashes and checks hub users' passwords with argon2id at
// OWASP's recommended minimum (m=19 MiB, t=2, p=1), stored in the PHC string
// format so the parameters can be raised later without breaking old hashes.
package passwords

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Default parameters: OWASP's argon2id minimum.
var Default = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MinLength and MaxLength bound a password, in characters.
	MinLength = 8
	MaxLength = 128
)

// Policy errors; their text is shown to the user.
var (
	ErrTooShort = fmt.Errorf("a password has at least %d characters", MinLength)
	ErrTooLong  = fmt.Errorf("a password has at most %d characters", MaxLength)
	ErrCommon   = errors.New("this password is among the most common ones; choose another")
	ErrContains = errors.New("a password must not contain your email address")
	ErrInvalid  = errors.New("a password must be valid UTF-8 without control characters")
)

//go:embed common.txt
var commonList []byte

// common is built on the first check: only the functions that set
// passwords use it.
var common = sync.OnceValue(func() map[string]struct{} {
	m := map[string]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(commonList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
})

// Check applies the policy: length, a list of the most common passwords
// (compared case-insensitively), and not containing the email's local part.
func Check(password, email string) error {
	if !utf8.ValidString(password) {
		return ErrInvalid
	}
	for _, r := range password {
		if r < 0x20 || r == 0x7f {
			return ErrInvalid
		}
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	lower := strings.ToLower(password)
	if _, ok := common()[lower]; ok {
		return ErrCommon
	}
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && len(local) >= 4 && strings.Contains(lower, local) {
		return ErrContains
	}
	return nil
}

// Hash derives the stored form of a password.
func Hash(password string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwords: randomness: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformedHash: the stored hash is not one this package wrote.
var ErrMalformedHash = errors.New("passwords: malformed hash")

// Verify reports whether password matches the stored hash, in constant
// time with respect to the key.
func Verify(password, stored string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil || p.Time == 0 || p.Threads == 0 {
		return false, ErrMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummyHash is verified against when an account does not exist, so that a
// sign-in takes as long whether or not the email is registered. It is made
// on first use, not at init, to keep cold starts short.
var dummyHash = sync.OnceValue(func() string {
	h, _ := Hash("not-a-real-password-only-timing", Default)
	return h
})

// VerifyNobody spends the time of one Verify and returns false.
func VerifyNobody(password string) {
	_, _ = Verify(password, dummyHash())
}
