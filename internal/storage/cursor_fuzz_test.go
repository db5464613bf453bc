package storage_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/storage"
)

// FuzzDecodeCursor checks the cursor decoder every list runs on a
// caller's cursor: it never panics, and a position it accepts lies in the
// partition (and index) the cursor is checked against, so a cursor never
// leads a query into another organization's partition; encoding that
// position again gives a cursor that decodes to it.
func FuzzDecodeCursor(f *testing.F) {
	users := storage.Query{Index: "GSI1", PK: "ORG#o1#USERS"}
	table := storage.Query{PK: "ORG#o1"}
	for _, seed := range []struct {
		cursor, index, pk string
	}{
		{storage.EncodeCursor(users, storage.Position{Table: storage.Key{PK: "ORG#o1", SK: "USER#u1"}, Index: storage.Key{PK: "ORG#o1#USERS", SK: "ada@x.test"}}), "GSI1", "ORG#o1#USERS"},
		{storage.EncodeCursor(users, storage.Position{Table: storage.Key{PK: "ORG#o1", SK: "USER#u1"}, Index: storage.Key{PK: "ORG#o1#USERS", SK: "ada@x.test"}}), "GSI1", "ORG#o2#USERS"},
		{storage.EncodeCursor(table, storage.Position{Table: storage.Key{PK: "ORG#o1", SK: "APIKEY#k1"}}), "", "ORG#o1"},
		{storage.EncodeCursor(table, storage.Position{Table: storage.Key{PK: "ORG#o2", SK: "APIKEY#k1"}}), "", "ORG#o1"},
		{"eyJwIjoiT1JHI28xIiwidHAiOiJPUkcjbzIiLCJ0cyI6IngifQ", "", "ORG#o1"},
		{"not base64!", "", "ORG#o1"}, {"", "", ""}, {"e30", "GSI1", ""},
	} {
		f.Add(seed.cursor, seed.index, seed.pk)
	}
	f.Fuzz(func(t *testing.T, cursor, index, pk string) {
		q := storage.Query{Index: index, PK: pk, Cursor: cursor}
		pos, err := storage.DecodeCursor(q)
		if err != nil {
			return
		}
		if index == "" && pos.Table.PK != pk {
			t.Fatalf("cursor %q for table partition %q resumes in %q", cursor, pk, pos.Table.PK)
		}
		if index != "" && pos.Index.PK != pk {
			t.Fatalf("cursor %q for %s partition %q resumes in %q", cursor, index, pk, pos.Index.PK)
		}
		q.Cursor = storage.EncodeCursor(q, pos)
		again, err := storage.DecodeCursor(q)
		if err != nil || again != pos {
			t.Fatalf("position %+v encodes to a cursor that decodes to %+v, %v", pos, again, err)
		}
	})
}
