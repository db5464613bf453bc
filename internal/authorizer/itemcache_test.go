package authorizer_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/authorizer"
	"github.com/integration-hub/hub/internal/storage"
)

// countingDecoder decodes an item to its data as a string and counts the
// decodes, so a test sees which reads the cache answered.
type countingDecoder struct{ decodes int }

func (d *countingDecoder) decode(it storage.Item) (string, error) {
	d.decodes++
	if string(it.Data) == "undecodable" {
		return "", errors.New("undecodable")
	}
	return string(it.Data), nil
}

func TestItemCacheAnswersOnlyTheVeryItemItDecoded(t *testing.T) {
	orgA := storage.Item{Key: storage.Key{PK: "ORG#a", SK: "USER#u1"}, Type: "user", Version: 3, Data: []byte(`{"tv":1}`)}
	changed := func(f func(*storage.Item)) storage.Item { it := orgA; f(&it); return it }
	cases := []struct {
		name   string
		second storage.Item
		cached bool
	}{
		{"the same item", orgA, true},
		{"the same item, read again into a new buffer", changed(func(it *storage.Item) { it.Data = []byte(`{"tv":1}`) }), true},
		{"new content at the same version", changed(func(it *storage.Item) { it.Data = []byte(`{"tv":2}`) }), false},
		{"a new version with the same content", changed(func(it *storage.Item) { it.Version++ }), false},
		{"another type", changed(func(it *storage.Item) { it.Type = "member" }), false},
		{"an expiry set", changed(func(it *storage.Item) { it.ExpiresAt = time.Unix(1e9, 0) }), false},
		{"another organization's item with the same content", changed(func(it *storage.Item) { it.Key.PK = "ORG#b" }), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c authorizer.ItemCache[string]
			d := &countingDecoder{}
			if _, err := c.Decode(orgA, d.decode); err != nil {
				t.Fatal(err)
			}
			got, err := c.Decode(tc.second, d.decode)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(tc.second.Data) {
				t.Fatalf("decoded %q, want the second item's %q", got, tc.second.Data)
			}
			if cached := d.decodes == 1; cached != tc.cached {
				t.Fatalf("answered from the cache: %v, want %v", cached, tc.cached)
			}
		})
	}
}

func TestItemCacheKeepsNoErrorAndStaysBounded(t *testing.T) {
	var c authorizer.ItemCache[string]
	d := &countingDecoder{}
	bad := storage.Item{Key: storage.Key{PK: "ORG#a", SK: "USER#bad"}, Type: "user", Data: []byte("undecodable")}
	for range 2 {
		if _, err := c.Decode(bad, d.decode); err == nil {
			t.Fatal("an undecodable item decoded")
		}
	}
	if d.decodes != 2 || c.Len() != 0 {
		t.Fatalf("a failed decode was kept: %d decodes, %d entries", d.decodes, c.Len())
	}
	for i := range authorizer.MaxCachedItems + 50 {
		it := storage.Item{Key: storage.Key{PK: "ORG#a", SK: fmt.Sprintf("USER#%d", i)}, Type: "user", Data: []byte("{}")}
		if _, err := c.Decode(it, d.decode); err != nil {
			t.Fatal(err)
		}
		if c.Len() > authorizer.MaxCachedItems {
			t.Fatalf("%d entries, at most %d", c.Len(), authorizer.MaxCachedItems)
		}
	}
}
