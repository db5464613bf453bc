package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/integration-hub/hub/internal/storage"
)

// conditionRow is one conditional operation on its own key. When present,
// a live item at version 3 is stored before the write.
type conditionRow struct {
	name    string
	present bool
	op      func(k storage.Key) storage.Op
	holds   bool
}

const seededVersion = 3

func putWith(c storage.Condition) func(storage.Key) storage.Op {
	return func(k storage.Key) storage.Op { return storage.Put(replacement(k), c) }
}

func deleteWith(c storage.Condition) func(storage.Key) storage.Op {
	return func(k storage.Key) storage.Op { return storage.Delete(k, c) }
}

func checkWith(c storage.Condition) func(storage.Key) storage.Op {
	return func(k storage.Key) storage.Op { return storage.Check(k, c) }
}

func seeded(k storage.Key) storage.Item {
	it := probe(k)
	it.Version = seededVersion
	return it
}

// replacement is what a put in a condition row writes over the seeded item.
func replacement(k storage.Key) storage.Item {
	it := probe(k)
	it.Version = seededVersion + 1
	it.Type = "replacement"
	it.Data = []byte(`{"replaced":true}`)
	return it
}

func conditionsOnPut(ctx context.Context, h Harness) error {
	return runConditionRows(ctx, h, []conditionRow{
		{"unconditional on missing", false, putWith(storage.Condition{}), true},
		{"unconditional over present", true, putWith(storage.Condition{}), true},
		{"absent on missing", false, putWith(storage.Absent()), true},
		{"absent over present", true, putWith(storage.Absent()), false},
		{"present on missing", false, putWith(storage.Present()), false},
		{"present over present", true, putWith(storage.Present()), true},
		{"version 3 over version 3", true, putWith(storage.VersionIs(3)), true},
		{"version 2 over version 3", true, putWith(storage.VersionIs(2)), false},
		{"version 4 over version 3", true, putWith(storage.VersionIs(4)), false},
		{"version 0 on missing", false, putWith(storage.VersionIs(0)), false},
		{"version 3 on missing", false, putWith(storage.VersionIs(3)), false},
	})
}

func conditionsOnDelete(ctx context.Context, h Harness) error {
	return runConditionRows(ctx, h, []conditionRow{
		{"unconditional on missing", false, deleteWith(storage.Condition{}), true},
		{"unconditional on present", true, deleteWith(storage.Condition{}), true},
		{"absent on missing", false, deleteWith(storage.Absent()), true},
		{"absent on present", true, deleteWith(storage.Absent()), false},
		{"present on missing", false, deleteWith(storage.Present()), false},
		{"present on present", true, deleteWith(storage.Present()), true},
		{"version 3 on version 3", true, deleteWith(storage.VersionIs(3)), true},
		{"version 2 on version 3", true, deleteWith(storage.VersionIs(2)), false},
		{"version 0 on missing", false, deleteWith(storage.VersionIs(0)), false},
	})
}

func conditionsOnCheck(ctx context.Context, h Harness) error {
	return runConditionRows(ctx, h, []conditionRow{
		{"absent on missing", false, checkWith(storage.Absent()), true},
		{"absent on present", true, checkWith(storage.Absent()), false},
		{"present on missing", false, checkWith(storage.Present()), false},
		{"present on present", true, checkWith(storage.Present()), true},
		{"version 3 on version 3", true, checkWith(storage.VersionIs(3)), true},
		{"version 2 on version 3", true, checkWith(storage.VersionIs(2)), false},
		{"version 0 on missing", false, checkWith(storage.VersionIs(0)), false},
	})
}

func runConditionRows(ctx context.Context, h Harness, rows []conditionRow) error {
	ks := newKeyspace()
	var seeds []storage.Item
	for _, row := range rows {
		if row.present {
			seeds = append(seeds, seeded(ks.key("COND", row.name)))
		}
	}
	if err := putAll(ctx, h.Table, seeds); err != nil {
		return err
	}
	var errs []error
	for _, row := range rows {
		k := ks.key("COND", row.name)
		op := row.op(k)
		err := h.Table.Write(ctx, op)
		if row.holds && err != nil {
			errs = append(errs, fmt.Errorf("%s: %w, want success", row.name, err))
			continue
		}
		if !row.holds {
			if err := wantConditionFailed(err, 0, k); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", row.name, err))
				continue
			}
		}
		var after error
		switch {
		case row.holds && op.Kind == storage.OpPut:
			after = stored(ctx, h.Table, op.Item)
		case row.holds && op.Kind == storage.OpDelete:
			after = missing(ctx, h.Table, k)
		case row.present:
			after = stored(ctx, h.Table, seeded(k))
		default:
			after = missing(ctx, h.Table, k)
		}
		if after != nil {
			errs = append(errs, fmt.Errorf("%s: afterwards: %w", row.name, after))
		}
	}
	return errors.Join(errs...)
}

// wantConditionFailed checks that err is a failed condition on operation i,
// addressing k.
func wantConditionFailed(err error, i int, k storage.Key) error {
	if err == nil {
		return fmt.Errorf("write succeeded, want the condition of operation %d to fail", i)
	}
	var failed *storage.ConditionFailedError
	if !errors.As(err, &failed) || !errors.Is(err, storage.ErrConditionFailed) {
		return fmt.Errorf("%w, want a *storage.ConditionFailedError", err)
	}
	if !storage.FailedOn(err, i) {
		return fmt.Errorf("condition failed on operation %d, want %d", failed.Index, i)
	}
	if failed.Key != k {
		return fmt.Errorf("condition failed on key %s, want %s", failed.Key, k)
	}
	return nil
}

func conditionFailureNamesOperation(ctx context.Context, h Harness) error {
	ks := newKeyspace()
	e1, e2 := seeded(ks.key("W", "e1")), seeded(ks.key("W", "e2"))
	if err := putAll(ctx, h.Table, []storage.Item{e1, e2}); err != nil {
		return err
	}
	fresh := func(name string) storage.Key { return ks.key("W", "new#"+name) }
	var hundred []storage.Op
	for i := range storage.MaxWriteOps - 1 {
		hundred = append(hundred, storage.Put(probe(fresh(fmt.Sprint("many#", i))), storage.Absent()))
	}
	hundred = append(hundred, storage.Check(e1.Key, storage.Absent()))
	writes := []struct {
		name   string
		ops    []storage.Op
		failed int
	}{
		{"third of four", []storage.Op{
			storage.Put(probe(fresh("a")), storage.Absent()),
			storage.Check(e1.Key, storage.Present()),
			storage.Put(probe(e2.Key), storage.Absent()),
			storage.Put(probe(fresh("b")), storage.Condition{}),
		}, 2},
		{"first of two", []storage.Op{
			storage.Check(ks.key("W", "missing"), storage.Present()),
			storage.Put(probe(fresh("c")), storage.Absent()),
		}, 0},
		{"version check last", []storage.Op{
			storage.Delete(e1.Key, storage.VersionIs(seededVersion)),
			storage.Put(probe(fresh("d")), storage.Absent()),
			storage.Check(e2.Key, storage.VersionIs(seededVersion+2)),
		}, 2},
		{"last of a hundred", hundred, storage.MaxWriteOps - 1},
	}
	var errs []error
	for _, w := range writes {
		err := h.Table.Write(ctx, w.ops...)
		if err := wantConditionFailed(err, w.failed, w.ops[w.failed].Target()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.name, err))
		}
		for _, op := range w.ops {
			var after error
			switch op.Target() {
			case e1.Key:
				after = stored(ctx, h.Table, e1)
			case e2.Key:
				after = stored(ctx, h.Table, e2)
			default:
				after = missing(ctx, h.Table, op.Target())
			}
			if after != nil {
				errs = append(errs, fmt.Errorf("%s: afterwards: %w", w.name, after))
				break
			}
		}
	}
	passing := probe(fresh("e"))
	if err := h.Table.Write(ctx, storage.Check(e1.Key, storage.VersionIs(seededVersion)), storage.Put(passing, storage.Absent())); err != nil {
		errs = append(errs, fmt.Errorf("write whose conditions hold: %w", err))
	} else {
		errs = append(errs, stored(ctx, h.Table, passing))
	}
	return errors.Join(errs...)
}

func failedLastConditionWritesNothing(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	g := ks.pk("G")
	e1 := withIndex(seeded(ks.key("W", "e1")), g, "e1")
	e2 := withIndex(seeded(ks.key("W", "e2")), g, "e2")
	if err := putAll(ctx, h.Table, []storage.Item{e1, e2}); err != nil {
		return err
	}
	var ops []storage.Op
	var fresh []storage.Key
	for i := range 5 {
		it := withIndex(probe(ks.key("W", fmt.Sprint("new#", i))), g, fmt.Sprint("new#", i))
		ops = append(ops, storage.Put(it, storage.Absent()))
		fresh = append(fresh, it.Key)
	}
	moved := withIndex(replacement(e1.Key), g, "moved")
	unconditional := probe(ks.key("W", "unconditional"))
	fresh = append(fresh, unconditional.Key)
	last := ks.key("W", "missing")
	ops = append(ops,
		storage.Put(moved, storage.VersionIs(seededVersion)),
		storage.Delete(e2.Key, storage.Present()),
		storage.Put(unconditional, storage.Condition{}),
		storage.Check(last, storage.Present()),
	)
	err := h.Table.Write(ctx, ops...)
	errs := []error{wantConditionFailed(err, len(ops)-1, last)}
	for _, k := range fresh {
		errs = append(errs, missing(ctx, h.Table, k))
	}
	errs = append(errs, stored(ctx, h.Table, e1), stored(ctx, h.Table, e2))
	table, err := queryAll(ctx, h.Table, storage.Query{PK: ks.pk("W")})
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, sameStrings("table partition afterwards", sortKeysOf(table, ""), []string{"e1", "e2"}))
	}
	index, err := queryAll(ctx, h.Table, storage.Query{Index: gsi1, PK: g})
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, sameStrings("index partition afterwards", sortKeysOf(index, gsi1), []string{"e1", "e2"}))
	}
	return errors.Join(errs...)
}

func invalidWrites(ctx context.Context, h Harness) error {
	ks := newKeyspace()
	k := ks.key("W", "same")
	var tooMany []storage.Op
	for i := range storage.MaxWriteOps + 1 {
		tooMany = append(tooMany, storage.Put(probe(ks.key("W", fmt.Sprint("many#", i))), storage.Condition{}))
	}
	other := probe(k)
	other.Data = []byte(`{"other":true}`)
	untyped := probe(ks.key("W", "untyped"))
	untyped.Type = ""
	writes := []struct {
		name string
		ops  []storage.Op
	}{
		{"no operations", nil},
		{"put and check on one key", []storage.Op{storage.Put(probe(k), storage.Condition{}), storage.Check(k, storage.Absent())}},
		{"put and delete on one key", []storage.Op{storage.Put(probe(k), storage.Condition{}), storage.Delete(k, storage.Condition{})}},
		{"two puts on one key", []storage.Op{storage.Put(probe(k), storage.Absent()), storage.Put(other, storage.Condition{})}},
		{"one more than the most operations", tooMany},
		{"put without a type", []storage.Op{storage.Put(untyped, storage.Condition{})}},
		{"put with an empty sort key", []storage.Op{storage.Put(probe(ks.key("W", "")), storage.Condition{})}},
	}
	var errs []error
	for _, w := range writes {
		if err := h.Table.Write(ctx, w.ops...); !errors.Is(err, storage.ErrInvalidWrite) {
			errs = append(errs, fmt.Errorf("%s: %v, want ErrInvalidWrite", w.name, err))
		}
	}
	written, err := queryAll(ctx, h.Table, storage.Query{PK: ks.pk("W")})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if len(written) > 0 {
		errs = append(errs, fmt.Errorf("invalid writes stored %d items: %q", len(written), sortKeysOf(written, "")))
	}
	return errors.Join(errs...)
}

func expiredItemIsAbsent(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	now := time.Now()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	g := ks.pk("G")
	expiring := func(sk string, at time.Time) storage.Item {
		it := withIndex(seeded(ks.key("TTL", sk)), g, sk)
		it.ExpiresAt = at
		return it
	}
	conditionRows := []struct {
		name  string
		op    func(k storage.Key) storage.Op
		holds bool
	}{
		{"put absent", putWith(storage.Absent()), true},
		{"check absent", checkWith(storage.Absent()), true},
		{"check present", checkWith(storage.Present()), false},
		{"check version", checkWith(storage.VersionIs(seededVersion)), false},
		{"put present", putWith(storage.Present()), false},
		{"put version", putWith(storage.VersionIs(seededVersion)), false},
		{"delete present", deleteWith(storage.Present()), false},
		{"delete version", deleteWith(storage.VersionIs(seededVersion)), false},
	}
	items := []storage.Item{
		expiring("a-expired", past),
		expiring("b-live", time.Time{}),
		expiring("c-expired", now.Add(-2*time.Second)),
		expiring("d-future", future),
		expiring("e-expired", past),
	}
	for _, row := range conditionRows {
		items = append(items, expiring("z-cond#"+row.name, past))
	}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	var errs []error
	for _, it := range items {
		if strings.Contains(it.SK, "expired") || strings.HasPrefix(it.SK, "z-cond#") {
			errs = append(errs, missing(ctx, h.Table, it.Key))
		}
	}
	live := []string{"b-live", "d-future"}
	for _, q := range []storage.Query{
		{PK: ks.pk("TTL")},
		{PK: ks.pk("TTL"), Limit: 1},
		{PK: ks.pk("TTL"), Limit: 1, Descending: true},
		{Index: gsi1, PK: g},
		{Index: gsi1, PK: g, Limit: 1},
	} {
		got, err := queryAll(ctx, h.Table, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := live
		if q.Descending {
			want = reversed(live)
		}
		index := q.Index
		errs = append(errs, sameStrings(describe(q), sortKeysOf(got, index), want))
	}
	for _, row := range conditionRows {
		k := ks.key("TTL", "z-cond#"+row.name)
		op := row.op(k)
		err := h.Table.Write(ctx, op)
		switch {
		case row.holds && err != nil:
			errs = append(errs, fmt.Errorf("%s over an expired item: %w, want success", row.name, err))
		case !row.holds:
			if err := wantConditionFailed(err, 0, k); err != nil {
				errs = append(errs, fmt.Errorf("%s over an expired item: %w", row.name, err))
			}
		}
		var after error
		if row.holds && op.Kind == storage.OpPut {
			after = stored(ctx, h.Table, op.Item)
		} else {
			after = missing(ctx, h.Table, k)
		}
		if after != nil {
			errs = append(errs, fmt.Errorf("%s over an expired item: afterwards: %w", row.name, after))
		}
	}
	return errors.Join(errs...)
}

func futureExpiryRoundTrip(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	g := ks.pk("G")
	soon := withIndex(probe(ks.key("TTL", "soon")), g, "soon")
	soon.ExpiresAt = time.Now().Add(time.Hour + 123456789*time.Nanosecond)
	far := withIndex(probe(ks.key("TTL", "far")), g, "far")
	far.ExpiresAt = time.Date(2100, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+2", 2*60*60))
	if err := putAll(ctx, h.Table, []storage.Item{soon, far}); err != nil {
		return err
	}
	errs := []error{stored(ctx, h.Table, soon), stored(ctx, h.Table, far)}
	for _, q := range []storage.Query{{PK: ks.pk("TTL")}, {Index: gsi1, PK: g}} {
		got, err := queryAll(ctx, h.Table, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, eachOnce(describe(q), got,
			[]storage.Key{soon.Key, far.Key},
			map[storage.Key]storage.Item{soon.Key: soon, far.Key: far}))
	}
	renewed := soon
	renewed.Version = 2
	renewed.ExpiresAt = soon.ExpiresAt.Add(24 * time.Hour)
	if err := h.Table.Write(ctx, storage.Put(renewed, storage.VersionIs(soon.Version))); err != nil {
		errs = append(errs, fmt.Errorf("renewing the expiry: %w", err))
	} else {
		errs = append(errs, stored(ctx, h.Table, renewed))
	}
	return errors.Join(errs...)
}

func roundTrip(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	g := ks.pk("G")
	full := withIndex(probe(storage.Key{PK: ks.pk("ORG#日本"), SK: "USER#é#😀"}), g, "ISK#ü")
	full.Type = "user"
	full.Version = math.MaxInt64
	full.Data = []byte(`{"name":"Zoë 日本 😀","quote":"\"hi\"\n\t\\","n":[1,2.5e10,-0.5,null,true],"nested":{"a":{},"b":[]}}`)
	full.ExpiresAt = time.Now().Add(90 * time.Minute)
	minimal := storage.Item{Key: storage.Key{PK: ks.pk("ORG#日本"), SK: "minimal"}, Type: "t"}
	negative := probe(storage.Key{PK: ks.pk("ORG#日本"), SK: "negative"})
	negative.Version = -7
	negative.Data = []byte(`[]`)
	large := withIndex(probe(storage.Key{PK: ks.pk("ORG#日本"), SK: "large"}), g, "large")
	large.Data = []byte(`{"blob":"` + strings.Repeat("0123456789abcdef", 100_000/16) + `"}`)
	items := []storage.Item{full, minimal, negative, large}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	written := map[storage.Key]storage.Item{}
	var keys []storage.Key
	var errs []error
	for _, it := range items {
		written[it.Key] = it
		keys = append(keys, it.Key)
		errs = append(errs, stored(ctx, h.Table, it))
	}
	q := storage.Query{PK: ks.pk("ORG#日本")}
	got, err := queryAll(ctx, h.Table, q)
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, eachOnce(describe(q), got, keys, written))
	}
	q = storage.Query{Index: gsi1, PK: g}
	got, err = queryAll(ctx, h.Table, q)
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, eachOnce(describe(q), got, []storage.Key{full.Key, large.Key}, written))
	}
	return errors.Join(errs...)
}

func concurrentConditionalPuts(ctx context.Context, h Harness) error {
	const writers = 20
	ks := newKeyspace()
	k := ks.key("RACE", "item")
	race := func(round string, cond storage.Condition, version int64) (storage.Item, error) {
		start := make(chan struct{})
		results := make([]error, writers)
		attempts := make([]storage.Item, writers)
		var wg sync.WaitGroup
		for w := range writers {
			attempts[w] = probe(k)
			attempts[w].Version = version
			attempts[w].Data = fmt.Appendf(nil, `{"writer":%d}`, w)
			wg.Go(func() {
				<-start
				results[w] = h.Table.Write(ctx, storage.Put(attempts[w], cond))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range results {
			switch {
			case err == nil && winner >= 0:
				return storage.Item{}, fmt.Errorf("%s: writers %d and %d both succeeded", round, winner, w)
			case err == nil:
				winner = w
			case errors.Is(err, storage.ErrConditionFailed) || errors.Is(err, storage.ErrConflict):
			default:
				return storage.Item{}, fmt.Errorf("%s: writer %d: %w, want ErrConditionFailed or ErrConflict", round, w, err)
			}
		}
		if winner < 0 {
			return storage.Item{}, fmt.Errorf("%s: no writer succeeded", round)
		}
		if err := stored(ctx, h.Table, attempts[winner]); err != nil {
			return storage.Item{}, fmt.Errorf("%s: the winner's item is not the one stored: %w", round, err)
		}
		return attempts[winner], nil
	}
	first, err := race("puts if absent", storage.Absent(), 1)
	if err != nil {
		return err
	}
	_, err = race("puts if version 1", storage.VersionIs(first.Version), first.Version+1)
	return err
}
