package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/integration-hub/hub/internal/storage"
)

// batch answers GetMany from memory and counts its calls.
type batch struct {
	items map[storage.Key]storage.Item
	calls int
}

func (b *batch) GetMany(_ context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error) {
	b.calls++
	if err := storage.ValidateKeys(keys); err != nil {
		return nil, err
	}
	found := map[storage.Key]storage.Item{}
	for _, k := range keys {
		if it, ok := b.items[k]; ok {
			found[k] = it
		}
	}
	return found, nil
}

func TestPrefetchAnswersWhatItReadAndRefusesWhatItDidNot(t *testing.T) {
	present, absent, unread := storage.Key{PK: "P", SK: "1"}, storage.Key{PK: "P", SK: "2"}, storage.Key{PK: "P", SK: "3"}
	table := &batch{items: map[storage.Key]storage.Item{
		present: {Key: present, Type: "t", Version: 2, Data: []byte("one")},
		unread:  {Key: unread, Type: "t", Version: 1, Data: []byte("three")},
	}}
	ctx := context.Background()
	read, err := storage.Prefetch(ctx, table, present, absent)
	if err != nil || table.calls != 1 {
		t.Fatalf("Prefetch: %v after %d calls, want one call", err, table.calls)
	}
	errMine := errors.New("no such thing")
	decode := func(it storage.Item) (string, error) { return string(it.Data), nil }
	if v, version, err := storage.Load(ctx, read, present, errMine, decode); err != nil || v != "one" || version != 2 {
		t.Errorf("Load of a prefetched item = %q, %d, %v", v, version, err)
	}
	if _, _, err := storage.Load(ctx, read, absent, errMine, decode); err != errMine {
		t.Errorf("Load of a prefetched missing item: %v, want the caller's not-found", err)
	}
	if _, err := read.Get(ctx, unread); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get of a key not prefetched: %v, want an error that is not ErrNotFound", err)
	}
	if table.calls != 1 {
		t.Errorf("reading the prefetched items called the table again (%d calls)", table.calls)
	}
}

func TestValidateKeys(t *testing.T) {
	k := storage.Key{PK: "P", SK: "S"}
	hundred := make([]storage.Key, storage.MaxGetKeys)
	for i := range hundred {
		hundred[i] = storage.Key{PK: "P", SK: string(rune('A' + i))}
	}
	tests := []struct {
		name string
		keys []storage.Key
		ok   bool
	}{
		{"none", nil, true},
		{"one", []storage.Key{k}, true},
		{"the most", hundred, true},
		{"one too many", append(hundred, k), false},
		{"repeated", []storage.Key{k, {PK: "P", SK: "T"}, k}, false},
		{"empty sort key", []storage.Key{{PK: "P"}}, false},
		{"empty partition key", []storage.Key{{SK: "S"}}, false},
	}
	for _, tc := range tests {
		err := storage.ValidateKeys(tc.keys)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, storage.ErrInvalidRead) {
			t.Errorf("%s: %v, want ErrInvalidRead", tc.name, err)
		}
	}
}
