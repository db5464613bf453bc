package prooftest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
)

// Snapshot is every item of a table at one moment, by key.
type Snapshot map[storage.Key]storage.Item

// Take reads the whole embedded table.
func Take(db *embedded.DB) (Snapshot, error) {
	items, err := db.Dump(context.Background())
	if err != nil {
		return nil, err
	}
	return FromItems(items), nil
}

// FromItems indexes items by key.
func FromItems(items []storage.Item) Snapshot {
	s := make(Snapshot, len(items))
	for _, it := range items {
		s[it.Key] = it
	}
	return s
}

// Change is one item that differs between two snapshots.
type Change struct {
	Key           storage.Key
	Before, After *storage.Item
}

func (c Change) String() string {
	switch {
	case c.Before == nil:
		return fmt.Sprintf("added %s (%s)", c.Key, c.After.Type)
	case c.After == nil:
		return fmt.Sprintf("removed %s (%s)", c.Key, c.Before.Type)
	}
	return fmt.Sprintf("changed %s (%s, version %d to %d)", c.Key, c.After.Type, c.Before.Version, c.After.Version)
}

// Diff lists the items that were added, removed or changed in any byte
// from before to after, in key order.
func Diff(before, after Snapshot) []Change {
	var out []Change
	for k, b := range before {
		a, ok := after[k]
		switch {
		case !ok:
			b := b
			out = append(out, Change{Key: k, Before: &b})
		case !sameItem(a, b):
			a, b := a, b
			out = append(out, Change{Key: k, Before: &b, After: &a})
		}
	}
	for k, a := range after {
		if _, ok := before[k]; !ok {
			a := a
			out = append(out, Change{Key: k, After: &a})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

func sameItem(a, b storage.Item) bool {
	return a.Type == b.Type && a.Version == b.Version && a.ExpiresAt.Equal(b.ExpiresAt) &&
		bytes.Equal(a.Data, b.Data) && reflect.DeepEqual(a.Index, b.Index)
}

// Describe lists changes one per line, for a failure message.
func Describe(changes []Change) string {
	lines := make([]string, len(changes))
	for i, c := range changes {
		lines[i] = c.String()
	}
	return strings.Join(lines, "; ")
}

// WithoutKeyUse drops the changes that are an API key's own "last used
// at" hint (apikeys.Service.RecordUse): the /v2 routes record a key's use
// whether or not they admit the request, at most once a minute, on the
// key's own two items and nowhere else. Any other change of those items is
// kept.
func WithoutKeyUse(changes []Change, org, keyID string) []Change {
	if keyID == "" {
		return changes
	}
	own := map[storage.Key]bool{}
	for _, k := range []storage.Key{keys.APIKey(org, keyID), keys.APIKeyLookup(keyID)} {
		own[k] = true
	}
	var out []Change
	for _, c := range changes {
		if own[c.Key] && c.Before != nil && c.After != nil && onlyLastUsedDiffers(c.Before.Data, c.After.Data) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func onlyLastUsedDiffers(before, after []byte) bool {
	var b, a map[string]any
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil {
		return false
	}
	delete(b, "last_used_at")
	delete(a, "last_used_at")
	return reflect.DeepEqual(a, b)
}
