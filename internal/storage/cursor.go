package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Position is where a page ended: the last item's table key and, on an index
// query, its key on that index. Adapters turn it into their own
// "exclusive start key".
type Position struct {
	Table Key
	Index Key
}

// cursorDoc is the cursor's wire form. It records the index and partition it
// was issued for, so it cannot be replayed against another partition (and so
// another organization, whose partitions all begin with its own id).
type cursorDoc struct {
	Index string `json:"i,omitempty"`
	PK    string `json:"p"`
	TPK   string `json:"tp"`
	TSK   string `json:"ts"`
	IPK   string `json:"ip,omitempty"`
	ISK   string `json:"is,omitempty"`
}

// EncodeCursor makes the opaque cursor for a page of q that ended at pos.
func EncodeCursor(q Query, pos Position) string {
	b, _ := json.Marshal(cursorDoc{
		Index: q.Index, PK: q.PK,
		TPK: pos.Table.PK, TSK: pos.Table.SK,
		IPK: pos.Index.PK, ISK: pos.Index.SK,
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns the position in q.Cursor, checking that the cursor was
// issued for q's index and partition.
func DecodeCursor(q Query) (Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil {
		return Position{}, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	var d cursorDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return Position{}, fmt.Errorf("%w: not a cursor", ErrBadCursor)
	}
	if d.Index != q.Index || d.PK != q.PK {
		return Position{}, fmt.Errorf("%w: issued for another partition", ErrBadCursor)
	}
	if d.TPK == "" || d.TSK == "" || (q.Index != "" && (d.IPK != q.PK || d.ISK == "")) {
		return Position{}, fmt.Errorf("%w: incomplete position", ErrBadCursor)
	}
	if q.Index == "" && d.TPK != q.PK {
		return Position{}, fmt.Errorf("%w: issued for another partition", ErrBadCursor)
	}
	return Position{Table: Key{d.TPK, d.TSK}, Index: Key{d.IPK, d.ISK}}, nil
}
