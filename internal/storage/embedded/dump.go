package embedded

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/integration-hub/hub/internal/storage"
)

// Dump returns every item the file holds, expired or not, in table-key
// order, as one consistent read. It is for tests that compare the whole
// table before and after a request (a refused request must write nothing);
// no request path may call it.
func (db *DB) Dump(ctx context.Context) ([]storage.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: dump: %w", err)
	}
	var out []storage.Item
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			key, err := parseTableKey(k)
			if err != nil {
				return err
			}
			it, err := decodeItem(key, v)
			if err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: dump: %w", err)
	}
	return out, nil
}
