package embedded

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/storage"
)

// TestDumpReturnsEveryItemExpiredOrNotInKeyOrder: Dump is the whole file,
// including what reads treat as absent, so a comparison before and after
// a request sees every byte a write changed.
func TestDumpReturnsEveryItemExpiredOrNotInKeyOrder(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	live := storage.Item{Key: storage.Key{PK: "B", SK: "2"}, Type: "t", Version: 3, Data: []byte(`{"a":1}`),
		Index: map[string]storage.Key{"GSI1": {PK: "I", SK: "x"}}}
	expired := storage.Item{Key: storage.Key{PK: "A", SK: "1"}, Type: "t", Version: 1, ExpiresAt: time.Now().Add(-time.Hour).Truncate(time.Second).UTC()}
	later := storage.Item{Key: storage.Key{PK: "B", SK: "10"}, Type: "t", Version: 1}
	if err := db.Write(ctx, storage.Put(live, storage.Absent()), storage.Put(expired, storage.Condition{}), storage.Put(later, storage.Absent())); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(ctx, expired.Key); err == nil {
		t.Fatal("the expired item is readable")
	}
	got, err := db.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []storage.Key
	for _, it := range got {
		keys = append(keys, it.Key)
	}
	if want := []storage.Key{expired.Key, later.Key, live.Key}; !slices.Equal(keys, want) {
		t.Fatalf("Dump keys %v, want %v (partition, then sort key bytes)", keys, want)
	}
	if d := got[2]; d.Version != 3 || string(d.Data) != `{"a":1}` || d.Index["GSI1"] != (storage.Key{PK: "I", SK: "x"}) {
		t.Errorf("Dump item %+v, want %+v", d, live)
	}
	if !got[0].ExpiresAt.Equal(expired.ExpiresAt) {
		t.Errorf("expired item's expiry %v, want %v", got[0].ExpiresAt, expired.ExpiresAt)
	}
}
