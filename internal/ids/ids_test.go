package ids_test

import (
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/ids"
)

func TestIDsSortByCreationTime(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := ids.At(base)
	for i := 1; i < 1000; i++ {
		next := ids.At(base.Add(time.Duration(i) * time.Millisecond))
		if next <= prev {
			t.Fatalf("id %d (%s) does not sort after %s", i, next, prev)
		}
		prev = next
	}
}

func TestValidAcceptsOnlyTheIDForm(t *testing.T) {
	cases := map[string]bool{
		ids.New():                    true,
		"":                           false,
		"01ARZ3NDEKTSV4RRFFQ69G5FAV": true,
		"01ARZ3NDEKTSV4RRFFQ69G5FA":  false, // short
		"01ARZ3NDEKTSV4RRFFQ69G5FAI": false, // I is not Crockford
		"81ARZ3NDEKTSV4RRFFQ69G5FAV": false, // overflows 128 bits
		"01ARZ3NDEKTSV4RRFFQ69G5F#V": false,
		"01arz3ndektsv4rrffq69g5fav": false,
	}
	for s, want := range cases {
		if got := ids.Valid(s); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
}
