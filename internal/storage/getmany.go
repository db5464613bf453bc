package storage

import (
	"context"
	"fmt"
)

// ManyGetter reads several items in one call.
type ManyGetter interface {
	GetMany(ctx context.Context, keys ...Key) (map[Key]Item, error)
}

// ValidateKeys checks the keys of a GetMany the same way for both adapters:
// at most MaxGetKeys, none empty, none repeated (BatchGetItem refuses a
// repeated key, and a caller repeating one has mixed two keys up).
func ValidateKeys(keys []Key) error {
	if len(keys) > MaxGetKeys {
		return fmt.Errorf("%w: %d keys, at most %d", ErrInvalidRead, len(keys), MaxGetKeys)
	}
	seen := make(map[Key]int, len(keys))
	for i, k := range keys {
		if k.PK == "" || k.SK == "" {
			return fmt.Errorf("%w: key %d is empty", ErrInvalidRead, i)
		}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%w: keys %d and %d are both %s", ErrInvalidRead, j, i, k)
		}
		seen[k] = i
	}
	return nil
}

// Prefetched is the result of one GetMany as a Getter, so that code written
// for Get (Load, a package's own decoding helpers) reads from it unchanged.
// It answers a key it read as Get would have at the time of the read, and
// refuses, with an error that is not ErrNotFound, a key it was not asked
// for: a key missing from the prefetch is a bug to see, not a 404.
type Prefetched struct {
	asked map[Key]bool
	items map[Key]Item
}

// Prefetch reads keys with one GetMany.
func Prefetch(ctx context.Context, t ManyGetter, keys ...Key) (Prefetched, error) {
	items, err := t.GetMany(ctx, keys...)
	if err != nil {
		return Prefetched{}, err
	}
	asked := make(map[Key]bool, len(keys))
	for _, k := range keys {
		asked[k] = true
	}
	return Prefetched{asked: asked, items: items}, nil
}

// Get returns the prefetched live item with the key, or an error matching
// ErrNotFound.
func (p Prefetched) Get(_ context.Context, k Key) (Item, error) {
	if !p.asked[k] {
		return Item{}, fmt.Errorf("storage: %s was not prefetched", k)
	}
	it, ok := p.items[k]
	if !ok {
		return Item{}, fmt.Errorf("storage: get %s: %w", k, ErrNotFound)
	}
	return it, nil
}
