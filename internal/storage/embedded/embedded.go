// Package embedded is the storage port on bbolt: one file, nothing else to
// install, the local stack's default. It honours the DynamoDB adapter's
// contract (storagetest is the proof): sort keys ordered by their UTF-8
// bytes, conditions checked and writes applied in one bbolt transaction,
// expired items absent to every read and condition whether or not they were
// removed yet, and a change feed shaped like a DynamoDB stream with
// NEW_IMAGE records, kept for 24 hours.
//
// Layout of the file:
//
//	items  len32(PK) PK SK                          -> encoded item
//	index  len32(name) name len32(IPK) IPK
//	       escaped(ISK) 0x00 0x00 len32(PK) PK SK   -> len32(PK) PK SK
//	feed   uint64 sequence                          -> created (unix ns) + record JSON
//	meta   "stream-id"                              -> random hex
//
// The partition key is length-prefixed so no sort key can run into the next
// partition, and the sort key follows as is, so bbolt's byte order is
// DynamoDB's order within a partition. On an index the sort key is followed
// by the table key (index keys are not unique), so it is escaped instead
// (0x00 becomes 0x00 0xFF, then a 0x00 0x00 terminator), which keeps its
// byte order.
package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.etcd.io/bbolt"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/stream"
)

const (
	// DefaultPageSize is the page a Query with Limit 0 returns.
	DefaultPageSize = 100
	// FeedRetention is how long feed records are kept, as a DynamoDB stream
	// keeps its records.
	FeedRetention = 24 * time.Hour
	// MaxPollRecords is the most records one Poll returns, as GetRecords.
	MaxPollRecords = 1000

	trimInterval = time.Minute
	fileLockWait = 5 * time.Second
)

var (
	bucketItems = []byte("items")
	bucketIndex = []byte("index")
	bucketFeed  = []byte("feed")
	bucketMeta  = []byte("meta")

	metaStreamID = []byte("stream-id")
)

// DB is a table in one bbolt file. It is safe for concurrent use.
type DB struct {
	bolt     *bbolt.DB
	schema   storage.Schema
	streamID string
	// now is the clock for expiry and feed retention; tests replace it.
	now func() time.Time
	// lastTrim is when old feed records were last removed (unix ns).
	lastTrim atomic.Int64
}

var _ storage.Table = (*DB)(nil)

// Open opens or creates the table file at path. The schema names the
// attributes of the feed's stream images; pass template.Load's.
func Open(path string, schema storage.Schema) (*DB, error) {
	if schema.PK == "" || schema.SK == "" || schema.TTL == "" {
		return nil, fmt.Errorf("embedded: open %s: schema needs key and TTL attribute names", path)
	}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: fileLockWait})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	db := &DB{bolt: bdb, schema: schema, now: time.Now}
	err = bdb.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketItems, bucketIndex, bucketFeed, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if id := meta.Get(metaStreamID); id != nil {
			db.streamID = string(id)
			return nil
		}
		id := make([]byte, 8)
		rand.Read(id)
		db.streamID = hex.EncodeToString(id)
		return meta.Put(metaStreamID, []byte(db.streamID))
	})
	if err != nil {
		bdb.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	return db, nil
}

// Close closes the file. Feeds of a closed DB fail to poll.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// Get returns the live item with the key.
func (db *DB) Get(ctx context.Context, k storage.Key) (storage.Item, error) {
	if err := ctx.Err(); err != nil {
		return storage.Item{}, fmt.Errorf("embedded: get %s: %w", k, err)
	}
	now := db.now()
	var it storage.Item
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketItems).Get(tableKey(k))
		if raw == nil {
			return storage.ErrNotFound
		}
		var err error
		if it, err = decodeItem(k, raw); err != nil {
			return err
		}
		if it.Expired(now) {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return storage.Item{}, fmt.Errorf("embedded: get %s: %w", k, err)
	}
	return it, nil
}

// GetMany returns the live items with the keys, read in one transaction;
// missing and expired items are absent from the map.
func (db *DB) GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error) {
	if err := storage.ValidateKeys(keys); err != nil {
		return nil, fmt.Errorf("embedded: get many: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: get %d keys: %w", len(keys), err)
	}
	found := make(map[storage.Key]storage.Item, len(keys))
	if len(keys) == 0 {
		return found, nil
	}
	now := db.now()
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		items := tx.Bucket(bucketItems)
		for _, k := range keys {
			raw := items.Get(tableKey(k))
			if raw == nil {
				continue
			}
			it, err := decodeItem(k, raw)
			if err != nil {
				return err
			}
			if !it.Expired(now) {
				found[k] = it
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: get %d keys: %w", len(keys), err)
	}
	return found, nil
}

// Query returns one page of a partition of the table or of an index. Pages
// hold Limit live items when there are that many; the cursor is empty when
// no live item follows the page.
func (db *DB) Query(ctx context.Context, q storage.Query) (storage.Page, error) {
	page, err := db.query(ctx, q)
	if err != nil {
		where := q.PK
		if q.Index != "" {
			where = q.Index + " " + q.PK
		}
		return storage.Page{}, fmt.Errorf("embedded: query %s: %w", where, err)
	}
	return page, nil
}

func (db *DB) query(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := ctx.Err(); err != nil {
		return storage.Page{}, err
	}
	if q.PK == "" {
		return storage.Page{}, errors.New("empty partition key")
	}
	if q.Index != "" {
		if _, ok := db.schema.Indexes[q.Index]; !ok {
			return storage.Page{}, fmt.Errorf("unknown index %q", q.Index)
		}
	}
	if q.Sort == storage.SortBetween && q.From > q.To {
		return storage.Page{}, fmt.Errorf("between %q and %q: lower bound above upper bound", q.From, q.To)
	}
	bounds := queryBounds(q)
	var after []byte
	if q.Cursor != "" {
		pos, err := storage.DecodeCursor(q)
		if err != nil {
			return storage.Page{}, err
		}
		after = tableKey(pos.Table)
		if q.Index != "" {
			after = indexEntryKey(q.Index, pos.Index, pos.Table)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, storage.MaxPageSize)

	now := db.now()
	var page storage.Page
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		items := tx.Bucket(bucketItems)
		scanned := items
		if q.Index != "" {
			scanned = tx.Bucket(bucketIndex)
		}
		var scanErr error
		more := false
		scan(scanned.Cursor(), bounds, after, q.Descending, func(k, v []byte) bool {
			itemKey, raw := k, v
			if q.Index != "" {
				itemKey, raw = v, items.Get(v)
				if raw == nil {
					scanErr = fmt.Errorf("index entry %x has no item", k)
					return false
				}
			}
			key, err := parseTableKey(itemKey)
			if err != nil {
				scanErr = err
				return false
			}
			it, err := decodeItem(key, raw)
			if err != nil {
				scanErr = err
				return false
			}
			if it.Expired(now) {
				return true
			}
			if len(page.Items) == limit {
				more = true
				return false
			}
			page.Items = append(page.Items, it)
			return true
		})
		if scanErr != nil {
			return scanErr
		}
		if more {
			last := page.Items[len(page.Items)-1]
			pos := storage.Position{Table: last.Key}
			if q.Index != "" {
				pos.Index = last.Index[q.Index]
			}
			page.Cursor = storage.EncodeCursor(q, pos)
		}
		return nil
	})
	return page, err
}

// Write applies every operation or none, in one bbolt transaction: every
// condition is checked against the state before the write, then every
// operation is applied and its feed record appended.
func (db *DB) Write(ctx context.Context, ops ...storage.Op) error {
	if err := db.write(ctx, ops); err != nil {
		return fmt.Errorf("embedded: write of %d operations: %w", len(ops), err)
	}
	return nil
}

func (db *DB) write(ctx context.Context, ops []storage.Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.ValidateWrite(ops); err != nil {
		return err
	}
	for i, op := range ops {
		if op.Kind != storage.OpPut {
			continue
		}
		for name := range op.Item.Index {
			if _, ok := db.schema.Indexes[name]; !ok {
				return fmt.Errorf("%w: put %d names index %q, which the table does not have", storage.ErrInvalidWrite, i, name)
			}
		}
	}
	now := db.now()
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		t := db.openTx(tx, now)
		// stored holds each target's item as the file has it, expired or
		// not, so that overwrites and deletes remove its index entries.
		stored := make([]*storage.Item, len(ops))
		for i, op := range ops {
			current, err := t.load(op.Target())
			if err != nil {
				return err
			}
			stored[i] = current
			live := current != nil && !current.Expired(now)
			if !conditionHolds(op.Cond, current, live) {
				return &storage.ConditionFailedError{Index: i, Key: op.Target(), Cond: op.Cond.Kind}
			}
		}
		for i, op := range ops {
			var err error
			switch op.Kind {
			case storage.OpPut:
				err = t.put(op.Item, stored[i])
			case storage.OpDelete:
				err = t.delete(op.Key, stored[i])
			}
			if err != nil {
				return fmt.Errorf("operation %d on %s: %w", i, op.Target(), err)
			}
		}
		return db.trimFeed(tx, now)
	})
}

func conditionHolds(c storage.Condition, current *storage.Item, live bool) bool {
	switch c.Kind {
	case storage.CondAbsent:
		return !live
	case storage.CondPresent:
		return live
	case storage.CondVersion:
		return live && current.Version == c.Version
	default:
		return true
	}
}

// SweepExpired removes expired items from the file and appends a REMOVE
// record for each, attributed to the TTL service as DynamoDB does. Reads
// never depend on it; it only reclaims space.
func (db *DB) SweepExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("embedded: sweep: %w", err)
	}
	now := db.now()
	removed := 0
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		t := db.openTx(tx, now)
		var expired []storage.Item
		c := t.items.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			key, err := parseTableKey(k)
			if err != nil {
				return err
			}
			it, err := decodeItem(key, v)
			if err != nil {
				return err
			}
			if it.Expired(now) {
				expired = append(expired, it)
			}
		}
		for _, it := range expired {
			if err := t.remove(it); err != nil {
				return err
			}
			if err := t.appendRecord(events.DynamoDBOperationTypeRemove, it.Key, nil, ttlService); err != nil {
				return err
			}
		}
		removed = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("embedded: sweep: %w", err)
	}
	return removed, nil
}

// writeTx is one read-write transaction's buckets.
type writeTx struct {
	db    *DB
	now   time.Time
	items *bbolt.Bucket
	index *bbolt.Bucket
	feed  *bbolt.Bucket
}

func (db *DB) openTx(tx *bbolt.Tx, now time.Time) writeTx {
	return writeTx{
		db: db, now: now,
		items: tx.Bucket(bucketItems),
		index: tx.Bucket(bucketIndex),
		feed:  tx.Bucket(bucketFeed),
	}
}

// load returns the stored item with the key, expired or not, or nil.
func (t writeTx) load(k storage.Key) (*storage.Item, error) {
	raw := t.items.Get(tableKey(k))
	if raw == nil {
		return nil, nil
	}
	it, err := decodeItem(k, raw)
	if err != nil {
		return nil, err
	}
	return &it, nil
}

func (t writeTx) put(it storage.Item, stored *storage.Item) error {
	encoded := encodeItem(it)
	key := tableKey(it.Key)
	live := stored != nil && !stored.Expired(t.now)
	if live && bytes.Equal(encoded, t.items.Get(key)) {
		// DynamoDB writes no stream record for a put that changes nothing.
		return nil
	}
	if stored != nil {
		if err := t.removeIndexEntries(*stored); err != nil {
			return err
		}
	}
	if err := t.items.Put(key, encoded); err != nil {
		return err
	}
	for name, ik := range it.Index {
		if err := t.index.Put(indexEntryKey(name, ik, it.Key), key); err != nil {
			return err
		}
	}
	event := events.DynamoDBOperationTypeInsert
	if live {
		event = events.DynamoDBOperationTypeModify
	}
	return t.appendRecord(event, it.Key, &it, nil)
}

func (t writeTx) delete(k storage.Key, stored *storage.Item) error {
	if stored == nil {
		return nil
	}
	if err := t.remove(*stored); err != nil {
		return err
	}
	if stored.Expired(t.now) {
		return nil
	}
	return t.appendRecord(events.DynamoDBOperationTypeRemove, k, nil, nil)
}

func (t writeTx) remove(it storage.Item) error {
	if err := t.removeIndexEntries(it); err != nil {
		return err
	}
	return t.items.Delete(tableKey(it.Key))
}

func (t writeTx) removeIndexEntries(it storage.Item) error {
	for name, ik := range it.Index {
		if err := t.index.Delete(indexEntryKey(name, ik, it.Key)); err != nil {
			return err
		}
	}
	return nil
}

var ttlService = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}

func (t writeTx) appendRecord(event events.DynamoDBOperationType, k storage.Key, image *storage.Item, by *events.DynamoDBUserIdentity) error {
	seq, err := t.feed.NextSequence()
	if err != nil {
		return err
	}
	rec := events.DynamoDBEventRecord{
		AWSRegion:      "local",
		EventID:        fmt.Sprintf("%s%016x", t.db.streamID, seq),
		EventName:      string(event),
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: "arn:aws:dynamodb:local:000000000000:table/embedded/stream/" + t.db.streamID,
		UserIdentity:   by,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Unix(t.now.Unix(), 0)},
			Keys:                        stream.KeysFromItem(t.db.schema, k),
			SequenceNumber:              formatSequence(seq),
			StreamViewType:              string(events.DynamoDBStreamViewTypeNewImage),
		},
	}
	if image != nil {
		rec.Change.NewImage = stream.ImageFromItem(t.db.schema, *image)
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("feed record: %w", err)
	}
	value := binary.BigEndian.AppendUint64(nil, uint64(t.now.UnixNano()))
	return t.feed.Put(binary.BigEndian.AppendUint64(nil, seq), append(value, body...))
}

// trimFeed removes records older than FeedRetention, at most once per
// trimInterval.
func (db *DB) trimFeed(tx *bbolt.Tx, now time.Time) error {
	last := db.lastTrim.Load()
	if now.UnixNano()-last < int64(trimInterval) || !db.lastTrim.CompareAndSwap(last, now.UnixNano()) {
		return nil
	}
	cutoff := now.Add(-FeedRetention).UnixNano()
	c := tx.Bucket(bucketFeed).Cursor()
	for k, v := c.First(); k != nil && recordCreated(v) < cutoff; k, v = c.First() {
		if err := c.Delete(); err != nil {
			return fmt.Errorf("trim feed: %w", err)
		}
	}
	return nil
}

func recordCreated(v []byte) int64 {
	if len(v) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// formatSequence pads sequence numbers so they increase both as numbers and
// as strings.
func formatSequence(seq uint64) string { return fmt.Sprintf("%021d", seq) }

// Feed reads the change feed from a position onwards. It implements
// stream.Source; one Feed is one reader, safe for concurrent use.
type Feed struct {
	db    *DB
	mu    sync.Mutex
	after uint64
}

var _ stream.Source = (*Feed)(nil)

// Feed reads every record still kept, oldest first (TRIM_HORIZON).
func (db *DB) Feed() *Feed { return &Feed{db: db} }

// FeedFromNow reads only records written from now on (LATEST).
func (db *DB) FeedFromNow() (*Feed, error) {
	f := &Feed{db: db}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		f.after = tx.Bucket(bucketFeed).Sequence()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: feed from now: %w", err)
	}
	return f, nil
}

// FeedAfter reads records after the one with sequenceNumber
// (AFTER_SEQUENCE_NUMBER), so a reader that saved Feed.Position resumes
// where it stopped. An empty sequenceNumber reads from the start.
func (db *DB) FeedAfter(sequenceNumber string) (*Feed, error) {
	if sequenceNumber == "" {
		return db.Feed(), nil
	}
	seq, err := strconv.ParseUint(sequenceNumber, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("embedded: feed after %q: not a sequence number of this feed", sequenceNumber)
	}
	return &Feed{db: db, after: seq}, nil
}

// Position is the sequence number of the last record Poll returned, or ""
// before the first; FeedAfter resumes from it.
func (f *Feed) Position() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.after == 0 {
		return ""
	}
	return formatSequence(f.after)
}

// Poll returns the records written since the previous Poll, oldest first, at
// most MaxPollRecords of them; the rest come with the next Poll. Records
// trimmed before they were read are skipped, as a DynamoDB stream drops them.
func (f *Feed) Poll(ctx context.Context) ([]events.DynamoDBEventRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: poll feed: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var records []events.DynamoDBEventRecord
	last := f.after
	err := f.db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketFeed).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, f.after+1)); k != nil && len(records) < MaxPollRecords; k, v = c.Next() {
			if len(k) != 8 || len(v) < 8 {
				return fmt.Errorf("malformed feed record %x", k)
			}
			var rec events.DynamoDBEventRecord
			if err := json.Unmarshal(v[8:], &rec); err != nil {
				return fmt.Errorf("feed record %d: %w", binary.BigEndian.Uint64(k), err)
			}
			records = append(records, rec)
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: poll feed: %w", err)
	}
	f.after = last
	return records, nil
}

// keyRange is the encoded keys from lo (inclusive) to hi (exclusive); a nil
// hi has no upper bound.
type keyRange struct{ lo, hi []byte }

func queryBounds(q storage.Query) keyRange {
	var partition []byte
	// sortKey encodes a sort key value for comparison with stored keys: raw
	// on the table, escaped without its terminator on an index.
	sortKey := func(b []byte, s string) []byte { return append(b, s...) }
	if q.Index == "" {
		partition = appendLenPrefixed(nil, q.PK)
	} else {
		partition = appendLenPrefixed(appendLenPrefixed(nil, q.Index), q.PK)
		sortKey = appendEscaped
	}
	switch q.Sort {
	case storage.SortPrefix:
		lo := sortKey(slices.Clip(partition), q.From)
		return keyRange{lo: lo, hi: prefixEnd(lo)}
	case storage.SortBetween:
		hi := sortKey(slices.Clip(partition), q.To)
		if q.Index == "" {
			hi = append(hi, 0x00)
		} else {
			hi = append(hi, 0x00, 0x01)
		}
		return keyRange{lo: sortKey(slices.Clip(partition), q.From), hi: hi}
	default:
		return keyRange{lo: partition, hi: prefixEnd(partition)}
	}
}

// scan visits the keys of r in order, starting after the key after when it
// is not nil, until visit returns false.
func scan(c *bbolt.Cursor, r keyRange, after []byte, descending bool, visit func(k, v []byte) bool) {
	inRange := func(k []byte) bool {
		return k != nil && bytes.Compare(k, r.lo) >= 0 && (r.hi == nil || bytes.Compare(k, r.hi) < 0)
	}
	var k, v []byte
	if !descending {
		if after != nil && bytes.Compare(after, r.lo) >= 0 {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek(r.lo)
		}
		for ; inRange(k); k, v = c.Next() {
			if !visit(k, v) {
				return
			}
		}
		return
	}
	end := r.hi
	if after != nil && (end == nil || bytes.Compare(after, end) < 0) {
		end = after
	}
	if end == nil {
		k, v = c.Last()
	} else if k, _ = c.Seek(end); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; inRange(k); k, v = c.Prev() {
		if !visit(k, v) {
			return
		}
	}
}

// prefixEnd is the first key after every key that begins with prefix, or
// nil when there is none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func appendLenPrefixed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func tableKey(k storage.Key) []byte {
	return append(appendLenPrefixed(nil, k.PK), k.SK...)
}

func parseTableKey(b []byte) (storage.Key, error) {
	if len(b) < 4 || uint64(len(b)-4) < uint64(binary.BigEndian.Uint32(b)) {
		return storage.Key{}, fmt.Errorf("malformed item key %x", b)
	}
	n := binary.BigEndian.Uint32(b)
	return storage.Key{PK: string(b[4 : 4+n]), SK: string(b[4+n:])}, nil
}

func indexEntryKey(index string, ik, item storage.Key) []byte {
	b := appendLenPrefixed(appendLenPrefixed(nil, index), ik.PK)
	b = append(appendEscaped(b, ik.SK), 0x00, 0x00)
	return append(appendLenPrefixed(b, item.PK), item.SK...)
}

// appendEscaped appends s with each 0x00 written as 0x00 0xFF, so that the
// 0x00 0x00 terminator sorts before any continuation of s.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = append(b, s[i])
		if s[i] == 0x00 {
			b = append(b, 0xFF)
		}
	}
	return b
}

// Item encoding: a format byte, then varint-prefixed fields, then the data
// as is. Index entries are written in name order so that an unchanged item
// encodes to the same bytes.
const itemFormat = 1

func encodeItem(it storage.Item) []byte {
	b := []byte{itemFormat}
	b = appendString(b, it.Type)
	b = binary.AppendVarint(b, it.Version)
	var expires int64
	if !it.ExpiresAt.IsZero() {
		expires = it.ExpiresAt.Unix()
	}
	b = binary.AppendVarint(b, expires)
	names := make([]string, 0, len(it.Index))
	for name := range it.Index {
		names = append(names, name)
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendString(appendString(appendString(b, name), it.Index[name].PK), it.Index[name].SK)
	}
	return append(b, it.Data...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func decodeItem(k storage.Key, raw []byte) (storage.Item, error) {
	if len(raw) == 0 || raw[0] != itemFormat {
		return storage.Item{}, fmt.Errorf("item %s: unknown encoding", k)
	}
	d := itemDecoder{rest: raw[1:]}
	it := storage.Item{Key: k}
	it.Type = d.string()
	it.Version = d.varint()
	if expires := d.varint(); expires != 0 {
		it.ExpiresAt = time.Unix(expires, 0).UTC()
	}
	if n := d.uvarint(); n > 0 && d.err == nil {
		it.Index = make(map[string]storage.Key, min(n, 16))
		for range n {
			name, pk, sk := d.string(), d.string(), d.string()
			if d.err != nil {
				break
			}
			it.Index[name] = storage.Key{PK: pk, SK: sk}
		}
	}
	if d.err != nil {
		return storage.Item{}, fmt.Errorf("item %s: %w", k, d.err)
	}
	if len(d.rest) > 0 {
		it.Data = bytes.Clone(d.rest)
	}
	return it, nil
}

type itemDecoder struct {
	rest []byte
	err  error
}

var errTruncated = errors.New("truncated encoding")

func (d *itemDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.rest)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.rest = d.rest[n:]
	return v
}

func (d *itemDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.rest)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.rest = d.rest[n:]
	return v
}

func (d *itemDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.rest)) {
		d.err = errTruncated
		return ""
	}
	s := string(d.rest[:n])
	d.rest = d.rest[n:]
	return s
}
