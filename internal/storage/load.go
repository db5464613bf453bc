package storage

import (
	"context"
	"errors"
	"fmt"
)

// Getter reads one item.
type Getter interface {
	Get(ctx context.Context, k Key) (Item, error)
}

// Load reads the live item at k and decodes it, returning the value and its
// version; a missing item is notFound, the caller's own error (so a domain
// package answers its "no such thing" without repeating this dance).
func Load[T any](ctx context.Context, t Getter, k Key, notFound error, decode func(Item) (T, error)) (T, int64, error) {
	var zero T
	it, err := t.Get(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return zero, 0, notFound
	}
	if err != nil {
		return zero, 0, fmt.Errorf("read %s: %w", k, err)
	}
	v, err := decode(it)
	if err != nil {
		return zero, 0, err
	}
	return v, it.Version, nil
}
