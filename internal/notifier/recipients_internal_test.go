package notifier

import (
	"slices"
	"testing"
)

func TestDistinctAddressesIgnoreCaseAndKeepTheFirstSpelling(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"none", nil, []string{}},
		{"one", []string{"ada@example.com"}, []string{"ada@example.com"}},
		{"same address in another case", []string{"Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"}, []string{"Ada@Example.com"}},
		{"blank and padded", []string{" ", "", " bob@example.org ", "bob@example.org"}, []string{"bob@example.org"}},
		{"order kept", []string{"c@example.com", "a@example.com", "C@example.com", "b@example.com"}, []string{"c@example.com", "a@example.com", "b@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := distinctAddresses(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("distinctAddresses(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
