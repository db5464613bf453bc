package storagetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/integration-hub/hub/internal/storage"
)

// byteOrderedSortKeys is in UTF-8 byte order, which DynamoDB uses. A UTF-16
// order (Java's, JavaScript's) puts the emoji before U+FF5E; a numeric or
// locale order moves "A#10" after "A#2" or the accents next to their letters.
var byteOrderedSortKeys = []string{
	"A", "A#", "A#1", "A#10", "A#2", "AB", "Z", "a", "z", "~",
	"é", "ÿ", "Ā", "日本", "日本語", "\uFF5E", "😀",
}

func sortKeyByteOrder(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	want := byteOrderedSortKeys
	// Written one at a time in reverse, so storage order is not write order.
	for _, sk := range reversed(want) {
		it := withIndex(probe(ks.key("ORDER", sk)), ks.pk("ORDER-IDX"), sk)
		if err := h.Table.Write(ctx, storage.Put(it, storage.Condition{})); err != nil {
			return fmt.Errorf("put %q: %w", sk, err)
		}
	}
	var errs []error
	for _, index := range []string{"", gsi1} {
		pk := ks.pk("ORDER")
		if index != "" {
			pk = ks.pk("ORDER-IDX")
		}
		for _, limit := range []int{0, 4} {
			for _, descending := range []bool{false, true} {
				q := storage.Query{Index: index, PK: pk, Limit: limit, Descending: descending}
				got, err := queryAll(ctx, h.Table, q)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				expected := want
				if descending {
					expected = reversed(want)
				}
				errs = append(errs, sameStrings(describe(q), sortKeysOf(got, index), expected))
			}
		}
	}
	return errors.Join(errs...)
}

// rangeQuery is one row of a sort-key range case, run on the table and on
// GSI1, in one page and one item per page.
type rangeQuery struct {
	sort       storage.SortOp
	from, to   string
	descending bool
	want       []string
}

// runRangeQueries stores sortKeys in one table partition, whose items have
// the same sort keys on GSI1, next to sibling partitions holding decoys, and
// runs every row on both.
func runRangeQueries(ctx context.Context, h Harness, sortKeys []string, decoys map[string][]string, rows []rangeQuery) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	const partition = "P"
	var items []storage.Item
	add := func(pk string, sks []string) {
		for _, sk := range sks {
			items = append(items, withIndex(probe(ks.key(pk, sk)), ks.pk("IDX-"+pk), sk))
		}
	}
	add(partition, sortKeys)
	for pk, sks := range decoys {
		add(pk, sks)
	}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	var errs []error
	for _, row := range rows {
		for _, index := range []string{"", gsi1} {
			pk := ks.pk(partition)
			if index != "" {
				pk = ks.pk("IDX-" + partition)
			}
			for _, limit := range []int{0, 1} {
				q := storage.Query{Index: index, PK: pk, Sort: row.sort, From: row.from, To: row.to, Limit: limit, Descending: row.descending}
				got, err := queryAll(ctx, h.Table, q)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				errs = append(errs, sameStrings(describe(q), sortKeysOf(got, index), row.want))
			}
		}
	}
	return errors.Join(errs...)
}

func sortPrefix(ctx context.Context, h Harness) error {
	sortKeys := []string{
		"ORG#1", "USEQ", "USER", "USER#", "USER#1", "USER#2", "USER#日本",
		"USERS#1", "USES", "日#", "日本#1", "日本語#1",
	}
	// A composite key without a length or terminator after the partition
	// key lets "P" + "#USER#" reach into partition "P#USER".
	decoys := map[string][]string{
		"P#USER": {"#1", "USER#9"},
		"P#":     {"USER#8"},
		"PUSER#": {"1"},
		"Q":      {"USER#7"},
	}
	return runRangeQueries(ctx, h, sortKeys, decoys, []rangeQuery{
		{sort: storage.SortPrefix, from: "USER#", want: []string{"USER#", "USER#1", "USER#2", "USER#日本"}},
		{sort: storage.SortPrefix, from: "USER#", descending: true, want: []string{"USER#日本", "USER#2", "USER#1", "USER#"}},
		{sort: storage.SortPrefix, from: "USER", want: []string{"USER", "USER#", "USER#1", "USER#2", "USER#日本", "USERS#1"}},
		{sort: storage.SortPrefix, from: "USERS#", want: []string{"USERS#1"}},
		{sort: storage.SortPrefix, from: "日本", want: []string{"日本#1", "日本語#1"}},
		{sort: storage.SortPrefix, from: "日", want: []string{"日#", "日本#1", "日本語#1"}},
		{sort: storage.SortPrefix, from: "USER#3", want: nil},
		{sort: storage.SortPrefix, from: "ZZZ", want: nil},
	})
}

func sortBetween(ctx context.Context, h Harness) error {
	sortKeys := []string{"A", "A#", "A#1", "A#2", "A#3", "A#4", "A#5", "B", "B#1", "é"}
	decoys := map[string][]string{
		"P#":  {"A#3"},
		"P#A": {"#3"},
	}
	return runRangeQueries(ctx, h, sortKeys, decoys, []rangeQuery{
		{sort: storage.SortBetween, from: "A#2", to: "A#4", want: []string{"A#2", "A#3", "A#4"}},
		{sort: storage.SortBetween, from: "A#2", to: "A#4", descending: true, want: []string{"A#4", "A#3", "A#2"}},
		{sort: storage.SortBetween, from: "A#15", to: "A#35", want: []string{"A#2", "A#3"}},
		{sort: storage.SortBetween, from: "A#3", to: "A#3", want: []string{"A#3"}},
		{sort: storage.SortBetween, from: "A", to: "A#", want: []string{"A", "A#"}},
		{sort: storage.SortBetween, from: "A#5", to: "B", want: []string{"A#5", "B"}},
		{sort: storage.SortBetween, from: "B#", to: "z", want: []string{"B#1"}},
		{sort: storage.SortBetween, from: "z", to: "ê", want: []string{"é"}},
		{sort: storage.SortBetween, from: "C", to: "D", want: nil},
	})
}

func descendingPages(ctx context.Context, h Harness) error {
	ks := newKeyspace()
	var items []storage.Item
	var ascending []string
	for i := range 10 {
		sk := fmt.Sprintf("K#%02d", i)
		ascending = append(ascending, sk)
		items = append(items, probe(ks.key("DESC", sk)))
	}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	var errs []error
	for _, limit := range []int{0, 1, 3, 10, 11} {
		q := storage.Query{PK: ks.pk("DESC"), Limit: limit, Descending: true}
		got, err := queryAll(ctx, h.Table, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, sameStrings(describe(q), sortKeysOf(got, ""), reversed(ascending)))
	}
	first, err := h.Table.Query(ctx, storage.Query{PK: ks.pk("DESC"), Limit: 3, Descending: true})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("first descending page: %w", err))...)
	}
	errs = append(errs, sameStrings("first descending page of 3", sortKeysOf(first.Items, ""), []string{"K#09", "K#08", "K#07"}))
	if first.Cursor == "" {
		errs = append(errs, errors.New("first descending page of 3 out of 10 has no cursor"))
	}
	return errors.Join(errs...)
}

func indexQuery(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	g, other := ks.pk("G"), ks.pk("H")
	items := []storage.Item{
		withIndex(probe(ks.key("T1", "a")), g, "3"),
		withIndex(probe(ks.key("T1", "b")), g, "1"),
		probe(ks.key("T1", "c")),
		withIndex(probe(ks.key("T2", "a")), g, "2"),
		withIndex(probe(ks.key("T2", "b")), other, "0"),
		withIndex(probe(ks.key("T3", "x")), g, "2"),
		withIndex(probe(ks.key("T3", "y")), g, "10"),
	}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	written := map[storage.Key]storage.Item{}
	for _, it := range items {
		written[it.Key] = it
	}
	onG := []storage.Key{items[1].Key, items[6].Key, items[3].Key, items[5].Key, items[0].Key}
	var errs []error
	for _, limit := range []int{0, 1, 2} {
		for _, descending := range []bool{false, true} {
			q := storage.Query{Index: gsi1, PK: g, Limit: limit, Descending: descending}
			got, err := queryAll(ctx, h.Table, q)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			want := []string{"1", "10", "2", "2", "3"}
			if descending {
				want = reversed(want)
			}
			errs = append(errs, sameStrings(describe(q), sortKeysOf(got, gsi1), want))
			errs = append(errs, eachOnce(describe(q), got, onG, written))
		}
	}
	rows := []struct {
		q    storage.Query
		want []string
	}{
		{storage.Query{Index: gsi1, PK: other}, []string{"0"}},
		{storage.Query{Index: gsi1, PK: g, Sort: storage.SortPrefix, From: "1"}, []string{"1", "10"}},
		{storage.Query{Index: gsi1, PK: g, Sort: storage.SortBetween, From: "10", To: "2"}, []string{"10", "2", "2"}},
		{storage.Query{Index: gsi1, PK: ks.pk("T1")}, nil},
	}
	for _, row := range rows {
		got, err := queryAll(ctx, h.Table, row.q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, sameStrings(describe(row.q), sortKeysOf(got, gsi1), row.want))
	}
	table := storage.Query{PK: ks.pk("T1")}
	got, err := queryAll(ctx, h.Table, table)
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, sameStrings(describe(table), sortKeysOf(got, ""), []string{"a", "b", "c"}))
	}
	return errors.Join(errs...)
}

// eachOnce checks that got holds each key of want exactly once, and that
// every item is as written.
func eachOnce(what string, got []storage.Item, want []storage.Key, written map[storage.Key]storage.Item) error {
	count := map[storage.Key]int{}
	for _, it := range got {
		count[it.Key]++
		if err := sameItem(it, written[it.Key]); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	for _, k := range want {
		if count[k] != 1 {
			return fmt.Errorf("%s: %s returned %d times, want once", what, k, count[k])
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d items, want %d", what, len(got), len(want))
	}
	return nil
}

func indexMaintenance(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	g, other := ks.pk("G"), ks.pk("H")
	k := ks.key("T", "item")
	steps := []struct {
		name string
		op   storage.Op
		onG  []string
		onH  []string
	}{
		{"put on G", storage.Put(withIndex(probe(k), g, "1"), storage.Absent()), []string{"1"}, nil},
		{"move within G", storage.Put(withIndex(probe(k), g, "2"), storage.Present()), []string{"2"}, nil},
		{"move to H", storage.Put(withIndex(probe(k), other, "2"), storage.Present()), nil, []string{"2"}},
		{"drop the index entry", storage.Put(probe(k), storage.Present()), nil, nil},
		{"back on G", storage.Put(withIndex(probe(k), g, "3"), storage.Condition{}), []string{"3"}, nil},
		{"delete", storage.Delete(k, storage.Present()), nil, nil},
	}
	for _, step := range steps {
		if err := h.Table.Write(ctx, step.op); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		for _, check := range []struct {
			pk   string
			want []string
		}{{g, step.onG}, {other, step.onH}} {
			q := storage.Query{Index: gsi1, PK: check.pk}
			got, err := queryAll(ctx, h.Table, q)
			if err != nil {
				return fmt.Errorf("after %s: %w", step.name, err)
			}
			if err := sameStrings("after "+step.name+": "+describe(q), sortKeysOf(got, gsi1), check.want); err != nil {
				return err
			}
		}
	}
	return nil
}

func paginationOverThreeThousandItems(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	const n = 3000
	ks := newKeyspace()
	items := make([]storage.Item, n)
	sortKeys := make([]string, n)
	indexSortKeys := make([]string, n)
	written := map[storage.Key]storage.Item{}
	keys := make([]storage.Key, n)
	for i := range n {
		sortKeys[i] = fmt.Sprintf("ITEM#%04d", i)
		// Pairs of items share an index sort key, in the opposite order.
		isk := fmt.Sprintf("%04d", (n-1-i)/2)
		indexSortKeys[i] = isk
		items[i] = withIndex(probe(ks.key("BIG", sortKeys[i])), ks.pk("BIG-IDX"), isk)
		written[items[i].Key] = items[i]
		keys[i] = items[i].Key
	}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	slices.Sort(indexSortKeys)
	var errs []error
	runs := []struct {
		index      string
		limit      int
		descending bool
	}{
		{"", 0, false}, {"", 100, false}, {"", 37, false}, {"", 5000, false},
		{"", 100, true}, {"", 37, true},
		{gsi1, 100, false}, {gsi1, 37, false}, {gsi1, 100, true},
	}
	for _, run := range runs {
		q := storage.Query{Index: run.index, PK: ks.pk("BIG"), Limit: run.limit, Descending: run.descending}
		want := sortKeys
		if run.index != "" {
			q.PK = ks.pk("BIG-IDX")
			want = indexSortKeys
		}
		if run.descending {
			want = reversed(want)
		}
		got, err := queryAll(ctx, h.Table, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, sameStrings(describe(q), sortKeysOf(got, run.index), want))
		errs = append(errs, eachOnce(describe(q), got, keys, written))
	}
	return errors.Join(errs...)
}

func cursorFromAnotherPartition(ctx context.Context, h Harness) error {
	if err := requireGSI1(h); err != nil {
		return err
	}
	ks := newKeyspace()
	a, b := ks.pk("A"), ks.pk("B")
	var items []storage.Item
	for _, pk := range []string{"A", "B"} {
		for _, sk := range []string{"1", "2", "3"} {
			// Each partition's items are on an index partition of the same name.
			items = append(items, withIndex(probe(ks.key(pk, sk)), ks.pk(pk), sk))
		}
	}
	if err := putAll(ctx, h.Table, items); err != nil {
		return err
	}
	tablePage, err := h.Table.Query(ctx, storage.Query{PK: a, Limit: 1})
	if err != nil {
		return fmt.Errorf("first page of table partition A: %w", err)
	}
	indexPage, err := h.Table.Query(ctx, storage.Query{Index: gsi1, PK: a, Limit: 1})
	if err != nil {
		return fmt.Errorf("first page of index partition A: %w", err)
	}
	if tablePage.Cursor == "" || indexPage.Cursor == "" {
		return errors.New("a first page of 1 out of 3 has no cursor")
	}
	next, err := h.Table.Query(ctx, storage.Query{PK: a, Limit: 1, Cursor: tablePage.Cursor})
	if err != nil {
		return fmt.Errorf("cursor on its own partition: %w", err)
	}
	if err := sameStrings("second page of table partition A", sortKeysOf(next.Items, ""), []string{"2"}); err != nil {
		return err
	}
	replays := []struct {
		name string
		q    storage.Query
	}{
		{"table cursor of A on table partition B", storage.Query{PK: b, Cursor: tablePage.Cursor}},
		{"table cursor of A on index partition A", storage.Query{Index: gsi1, PK: a, Cursor: tablePage.Cursor}},
		{"index cursor of A on index partition B", storage.Query{Index: gsi1, PK: b, Cursor: indexPage.Cursor}},
		{"index cursor of A on table partition A", storage.Query{PK: a, Cursor: indexPage.Cursor}},
	}
	var errs []error
	for _, r := range replays {
		page, err := h.Table.Query(ctx, r.q)
		if !errors.Is(err, storage.ErrBadCursor) {
			errs = append(errs, fmt.Errorf("%s: got %d items and error %v, want ErrBadCursor", r.name, len(page.Items), err))
		}
	}
	return errors.Join(errs...)
}

func garbageCursor(ctx context.Context, h Harness) error {
	ks := newKeyspace()
	pk := ks.pk("A")
	if err := putAll(ctx, h.Table, []storage.Item{probe(ks.key("A", "1")), probe(ks.key("A", "2"))}); err != nil {
		return err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	cursors := map[string]string{
		"not base64":             "garbage cursor!",
		"padded base64":          "e30=",
		"base64 of text":         b64([]byte("hello")),
		"empty JSON object":      b64([]byte("{}")),
		"JSON array":             b64([]byte(`["` + pk + `"]`)),
		"position without keys":  b64([]byte(`{"p":"` + pk + `"}`)),
		"position of another pk": b64([]byte(`{"p":"` + pk + `","tp":"elsewhere","ts":"1"}`)),
	}
	var errs []error
	for name, cursor := range cursors {
		page, err := h.Table.Query(ctx, storage.Query{PK: pk, Cursor: cursor})
		if !errors.Is(err, storage.ErrBadCursor) {
			errs = append(errs, fmt.Errorf("%s cursor %q: got %d items and error %v, want ErrBadCursor", name, cursor, len(page.Items), err))
		}
	}
	return errors.Join(errs...)
}

// presentAndMissing writes one item and leaves keys that have none: never
// written, prefixes and extensions of the present key, and one written
// then deleted.
func presentAndMissing(ctx context.Context, h Harness) (present storage.Item, absent []storage.Key, err error) {
	ks := newKeyspace()
	present = probe(ks.key("A", "A#1"))
	deleted := probe(ks.key("A", "gone"))
	if err := putAll(ctx, h.Table, []storage.Item{present, deleted}); err != nil {
		return storage.Item{}, nil, err
	}
	if err := h.Table.Write(ctx, storage.Delete(deleted.Key, storage.Present())); err != nil {
		return storage.Item{}, nil, fmt.Errorf("delete %s: %w", deleted.Key, err)
	}
	return present, []storage.Key{
		ks.key("never", "written"),
		ks.key("A", "A"),
		ks.key("A", "A#"),
		ks.key("A", "A#10"),
		ks.key("A#", "1"),
		deleted.Key,
	}, nil
}

func getMissing(ctx context.Context, h Harness) error {
	present, absent, err := presentAndMissing(ctx, h)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range absent {
		errs = append(errs, missing(ctx, h.Table, k))
	}
	errs = append(errs, stored(ctx, h.Table, present))
	return errors.Join(errs...)
}
