package passwords_test

import (
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/passwords"
)

// Cheap parameters keep the tests fast; the production cost is measured by
// the benchmark.
var fast = passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashVerifiesOnlyTheSamePassword(t *testing.T) {
	h, err := passwords.Hash("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := passwords.Verify(pw, h); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h2, _ := passwords.Hash("correct horse battery", fast)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=0,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, err := passwords.Verify("x", h); err == nil {
			t.Errorf("Verify accepted %q", h)
		}
	}
}

func TestCheckAppliesThePolicy(t *testing.T) {
	cases := []struct {
		pw, email string
		want      error
	}{
		{"short", "", passwords.ErrTooShort},
		{strings.Repeat("x", passwords.MaxLength+1), "", passwords.ErrTooLong},
		{"Password123", "", passwords.ErrCommon},
		{"QWERTYUIOP", "", passwords.ErrCommon},
		{"ada.lovelace-2026", "ada.lovelace@example.com", passwords.ErrContains},
		{"tab\there-long", "", passwords.ErrInvalid},
		{"correct horse battery", "ada@example.com", nil},
		{strings.Repeat("é", passwords.MinLength), "", nil},
		{strings.Repeat("x", 64), "", nil},
	}
	for _, tc := range cases {
		if got := passwords.Check(tc.pw, tc.email); got != tc.want {
			t.Errorf("Check(%.20q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		if _, err := passwords.Hash("correct horse battery", passwords.Default); err != nil {
			b.Fatal(err)
		}
	}
}
