package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/integration-hub/hub/internal/storage"
)

type oneItem map[storage.Key]storage.Item

func (m oneItem) Get(_ context.Context, k storage.Key) (storage.Item, error) {
	if k.PK == "BROKEN" {
		return storage.Item{}, storage.ErrUnavailable
	}
	it, ok := m[k]
	if !ok {
		return storage.Item{}, storage.ErrNotFound
	}
	return it, nil
}

func TestLoadAnswersTheCallersNotFoundAndKeepsOtherFailures(t *testing.T) {
	k := storage.Key{PK: "P", SK: "S"}
	table := oneItem{k: {Key: k, Type: "t", Version: 4, Data: []byte("v")}}
	errMine := errors.New("no such thing")
	decode := func(it storage.Item) (string, error) { return string(it.Data), nil }

	v, version, err := storage.Load(context.Background(), table, k, errMine, decode)
	if err != nil || v != "v" || version != 4 {
		t.Fatalf("Load = %q, %d, %v", v, version, err)
	}
	if _, _, err := storage.Load(context.Background(), table, storage.Key{PK: "P", SK: "X"}, errMine, decode); err != errMine {
		t.Fatalf("missing item: %v, want the caller's error", err)
	}
	if _, _, err := storage.Load(context.Background(), table, storage.Key{PK: "BROKEN", SK: "S"}, errMine, decode); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("table failure: %v, want ErrUnavailable kept", err)
	}
}
