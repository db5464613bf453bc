package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/integration-hub/hub/internal/storage"
)

// getMany calls GetMany and checks that it found exactly want, each item
// under its own key and equal to what was written.
func getMany(ctx context.Context, t storage.Table, keys []storage.Key, want []storage.Item) error {
	got, err := t.GetMany(ctx, keys...)
	if err != nil {
		return fmt.Errorf("get many of %d keys: %w", len(keys), err)
	}
	var errs []error
	wanted := make(map[storage.Key]bool, len(want))
	for _, w := range want {
		wanted[w.Key] = true
		it, ok := got[w.Key]
		if !ok {
			errs = append(errs, fmt.Errorf("get many: %s is missing", w.Key))
			continue
		}
		errs = append(errs, sameItem(it, w))
	}
	var extra []string
	for k := range got {
		if !wanted[k] {
			extra = append(extra, k.String())
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		errs = append(errs, fmt.Errorf("get many: found %q, which should be absent", extra))
	}
	return errors.Join(errs...)
}

func getManySeveralKeys(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	// Same sort key in two partitions and two sort keys in one, so an
	// adapter that matches answers to keys loosely mixes them up.
	items := []storage.Item{
		probe(ks.key("ORG#1", "PROFILE")),
		probe(ks.key("ORG#2", "PROFILE")),
		withIndex(probe(ks.key("ORG#1", "USER#1")), ks.pk("G"), "USER#1"),
		probe(ks.key("ORG#1", "USER#10")),
	}
	items[1].Version = 7
	items[3].ExpiresAt = time.Now().Add(time.Hour)
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	keys := make([]storage.Key, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	errs := []error{getMany(ctx, h.Table, keys, items)}
	// The order of the keys is not the order of anything in the answer.
	reversedKeys := []storage.Key{keys[3], keys[2], keys[1], keys[0]}
	errs = append(errs, getMany(ctx, h.Table, reversedKeys, items))
	errs = append(errs, getMany(ctx, h.Table, keys[1:2], items[1:2]))

	var hundred []storage.Item
	for i := range storage.MaxGetKeys {
		hundred = append(hundred, probe(ks.key("MANY", fmt.Sprintf("K#%03d", i))))
	}
	if err := putAll(ctx, h.Table, hundred); err != nil {
		return errors.Join(append(errs, err)...)
	}
	hundredKeys := make([]storage.Key, len(hundred))
	for i, it := range hundred {
		hundredKeys[i] = it.Key
	}
	errs = append(errs, getMany(ctx, h.Table, hundredKeys, hundred))
	return errors.Join(errs...)
}

func getManyMissingKeysAbsent(ctx context.Context, h Harness) error {
	present, absent, err := presentAndMissing(ctx, h)
	if err != nil {
		return err
	}
	return errors.Join(
		getMany(ctx, h.Table, append([]storage.Key{present.Key}, absent...), []storage.Item{present}),
		getMany(ctx, h.Table, absent, nil),
	)
}

func getManyExpiredItemsAbsent(ctx context.Context, h Harness) error {
	ks := newKeyspace()
	now := time.Now()
	expiring := func(sk string, at time.Time) storage.Item {
		it := probe(ks.key("TTL", sk))
		it.ExpiresAt = at
		return it
	}
	live := []storage.Item{expiring("live", time.Time{}), expiring("future", now.Add(time.Hour))}
	expired := []storage.Item{expiring("expired", now.Add(-time.Hour)), expiring("just-expired", now.Add(-2*time.Second))}
	if err := putAll(ctx, h.Table, append(append([]storage.Item{}, live...), expired...)); err != nil {
		return err
	}
	var keys []storage.Key
	for _, it := range append(append([]storage.Item{}, expired...), live...) {
		keys = append(keys, it.Key)
	}
	return errors.Join(
		getMany(ctx, h.Table, keys, live),
		getMany(ctx, h.Table, keys[:len(expired)], nil),
	)
}

func getManyInvalidKeys(ctx context.Context, h Harness) error {
	ks := newKeyspace()
	var tooMany []storage.Key
	for i := range storage.MaxGetKeys + 1 {
		tooMany = append(tooMany, ks.key("R", fmt.Sprint("many#", i)))
	}
	k := ks.key("R", "same")
	reads := []struct {
		name string
		keys []storage.Key
	}{
		{"one more than the most keys", tooMany},
		{"a key twice", []storage.Key{k, ks.key("R", "other"), k}},
		{"an empty sort key", []storage.Key{ks.key("R", "")}},
		{"an empty partition key", []storage.Key{{SK: "R"}}},
	}
	var errs []error
	for _, r := range reads {
		if got, err := h.Table.GetMany(ctx, r.keys...); !errors.Is(err, storage.ErrInvalidRead) {
			errs = append(errs, fmt.Errorf("%s: found %d items, err %v, want ErrInvalidRead", r.name, len(got), err))
		}
	}
	return errors.Join(errs...)
}

func getManyNoKeys(ctx context.Context, h Harness) error {
	got, err := h.Table.GetMany(ctx)
	if err != nil {
		return fmt.Errorf("get many of no keys: %w, want an empty answer", err)
	}
	if len(got) != 0 {
		return fmt.Errorf("get many of no keys: found %d items", len(got))
	}
	return nil
}
