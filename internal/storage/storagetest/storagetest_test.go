package storagetest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf16"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/template"
)

func embeddedHarness(t *testing.T) Harness {
	t.Helper()
	tpl, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	db, err := embedded.Open(filepath.Join(t.TempDir(), "hub.db"), tpl.Table.Schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return Harness{Table: db, Feed: db.Feed(), Schema: tpl.Table.Schema}
}

// conditionDropper is a broken adapter: it writes every put and delete
// unconditionally and leaves checks out.
type conditionDropper struct{ storage.Table }

func (d conditionDropper) Write(ctx context.Context, ops ...storage.Op) error {
	var kept []storage.Op
	for _, op := range ops {
		if op.Kind == storage.OpCheck {
			continue
		}
		op.Cond = storage.Condition{}
		kept = append(kept, op)
	}
	if len(ops) > 0 && len(kept) == 0 {
		return nil
	}
	return d.Table.Write(ctx, kept...)
}

func TestSuiteCatchesAdapterThatDropsConditions(t *testing.T) {
	mustFail := []string{
		"ConditionsOnPut",
		"ConditionsOnDelete",
		"ConditionsOnCheck",
		"ConditionFailureNamesOperation",
		"FailedLastConditionWritesNothing",
		"ExpiredItemIsAbsent",
		"ConcurrentConditionalPuts",
		"FeedDeliversWrites",
	}
	mustPass := []string{"SortKeyByteOrder", "SortPrefix", "PaginationOverThreeThousandItems", "RoundTrip"}
	cases := map[string]Case{}
	for _, c := range Cases() {
		cases[c.Name] = c
	}
	for _, name := range append(slices.Clone(mustFail), mustPass...) {
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no case %q", name)
		}
		t.Run(name, func(t *testing.T) {
			h := embeddedHarness(t)
			h.Table = conditionDropper{h.Table}
			err := c.Run(t.Context(), h)
			switch {
			case slices.Contains(mustFail, name) && err == nil:
				t.Error("passed against an adapter that drops conditions")
			case slices.Contains(mustPass, name) && err != nil:
				t.Errorf("failed for a reason other than conditions: %v", err)
			case err != nil:
				t.Logf("caught: %.300s", err)
			}
		})
	}
}

func TestByteOrderedSortKeysAreInByteOrder(t *testing.T) {
	if !slices.IsSorted(byteOrderedSortKeys) || len(slices.Compact(slices.Clone(byteOrderedSortKeys))) != len(byteOrderedSortKeys) {
		t.Fatalf("byteOrderedSortKeys is not strictly increasing: %q", byteOrderedSortKeys)
	}
}

func TestCasesHaveUniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] || c.Name == "" || c.Run == nil {
			t.Errorf("case %q is unnamed, repeated or has no Run", c.Name)
		}
		seen[c.Name] = true
	}
}

// TestByteOrderedSortKeysTellUTF16Apart guards the point of the list: an
// adapter ordering by UTF-16 code units would fail SortKeyByteOrder.
func TestByteOrderedSortKeysTellUTF16Apart(t *testing.T) {
	byUTF16 := slices.Clone(byteOrderedSortKeys)
	slices.SortFunc(byUTF16, func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	})
	if slices.Equal(byUTF16, byteOrderedSortKeys) {
		t.Fatal("UTF-16 order equals byte order for byteOrderedSortKeys")
	}
}
