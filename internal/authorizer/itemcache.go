package authorizer

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/integration-hub/hub/internal/storage"
)

// MaxCachedItems bounds an ItemCache: past it, a new entry evicts an
// arbitrary one.
const MaxCachedItems = 1024

// ItemCache keeps what a decision decoded from a table item, for the next
// decisions that read the very same item. It saves the decoding only: every
// decision still reads the item, because the item is what says whether the
// credential is still good (a user's token version, a key not revoked).
//
// An entry answers only an item with the same key, type, version, expiry
// and content as the one it was decoded from, so any write to the item (a
// sign-out, a deactivation, a rotated or revoked credential) is a miss:
// the domain's writers raise the version, and since the storage port
// writes a version as given, the content is compared too, by a 64-bit
// hash under a seed drawn at random for the process (hash/maphash), so a
// write that kept the version is a miss as well. An entry never answers another key, so never
// another organization's item. It keeps the decoded value and the hash,
// not the item's bytes; a value should hold only what decisions need (a
// user's password hash is not).
//
// The zero value is ready. It is safe for concurrent use; values are shared
// between decisions, which read them and never change them.
type ItemCache[T any] struct {
	mu      sync.Mutex
	entries map[storage.Key]cachedItem[T]
}

type cachedItem[T any] struct {
	itemType string
	version  int64
	expires  time.Time
	sum      uint64
	value    T
}

// contentSeed keys the content hash; no one outside the process knows it,
// so no one can choose content that collides.
var contentSeed = maphash.MakeSeed()

// Decode returns decode(it), or what decode returned for an identical item
// before. An error is returned and not kept.
func (c *ItemCache[T]) Decode(it storage.Item, decode func(storage.Item) (T, error)) (T, error) {
	sum := maphash.Bytes(contentSeed, it.Data)
	c.mu.Lock()
	e, ok := c.entries[it.Key]
	c.mu.Unlock()
	if ok && e.itemType == it.Type && e.version == it.Version && e.expires.Equal(it.ExpiresAt) && e.sum == sum {
		return e.value, nil
	}
	v, err := decode(it)
	if err != nil {
		var zero T
		return zero, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[storage.Key]cachedItem[T])
	}
	if _, replaces := c.entries[it.Key]; !replaces && len(c.entries) >= MaxCachedItems {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[it.Key] = cachedItem[T]{itemType: it.Type, version: it.Version, expires: it.ExpiresAt, sum: sum, value: v}
	return v, nil
}

// Len is the number of entries.
func (c *ItemCache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
