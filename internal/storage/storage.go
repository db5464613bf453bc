// Package storage is the hub's storage port: the narrow, typed contract that
// the domain code speaks and that both adapters (DynamoDB in dynamo/, bbolt in
// embedded/) honour identically. The conformance suite in storagetest/ is the
// executable form of this contract.
//
// Every item is an envelope: its table key, the entity type, the keys it has
// on each global secondary index, a version for optimistic locking, an
// optional expiry (the TTL attribute) and the entity itself as a JSON
// document. No expression string leaves an adapter: callers express key
// ranges and conditions with the types below.
package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Key is an item's primary key on the table, or its key on an index.
type Key struct {
	PK string
	SK string
}

func (k Key) String() string { return k.PK + " / " + k.SK }

// Item is one stored envelope.
type Item struct {
	Key
	// Type is the entity type ("user", "event", ...). Required on a put.
	Type string
	// Index holds the item's key on each global secondary index it belongs
	// to, by index name as declared in template.yaml ("GSI1"). An item
	// without an entry is not on that index.
	Index map[string]Key
	// Version is written as given; VersionEquals conditions compare it.
	Version int64
	// ExpiresAt, when not zero, is written to the TTL attribute (whole
	// seconds). An item whose expiry has passed is treated as absent by every
	// read and every condition, whether or not the database removed it yet.
	ExpiresAt time.Time
	// Data is the entity as a JSON document.
	Data []byte
}

// Expired reports whether the item's expiry has passed at now. Expiry has
// the TTL attribute's one-second resolution.
func (it Item) Expired(now time.Time) bool {
	return !it.ExpiresAt.IsZero() && it.ExpiresAt.Unix() <= now.Unix()
}

// SortOp chooses how a query constrains the sort key.
type SortOp int

const (
	// SortAll leaves the sort key unconstrained.
	SortAll SortOp = iota
	// SortPrefix keeps sort keys that begin with From.
	SortPrefix
	// SortBetween keeps sort keys from From to To, both inclusive.
	SortBetween
)

// Query reads a range of one partition, in sort-key order (byte order of the
// UTF-8 key, as DynamoDB orders strings).
type Query struct {
	// Index is the index name, or "" for the table.
	Index string
	// PK is the partition key value on the table or the index.
	PK         string
	Sort       SortOp
	From, To   string
	Limit      int    // at most this many items; 0 means the adapter's page size
	Cursor     string // from a previous Page of the same partition, or ""
	Descending bool
}

// MaxPageSize caps Query.Limit; larger limits are reduced to it.
const MaxPageSize = 1000

// Page is one page of a query. Cursor is empty when there is nothing more.
type Page struct {
	Items  []Item
	Cursor string
}

// CondKind is the kind of condition on one write operation.
type CondKind int

const (
	// CondNone puts or deletes unconditionally.
	CondNone CondKind = iota
	// CondAbsent requires that no live item has the key.
	CondAbsent
	// CondPresent requires that a live item has the key.
	CondPresent
	// CondVersion requires a live item with exactly Condition.Version.
	CondVersion
)

// Condition guards one operation of a write.
type Condition struct {
	Kind    CondKind
	Version int64
}

// Absent, Present and VersionIs build conditions.
func Absent() Condition                 { return Condition{Kind: CondAbsent} }
func Present() Condition                { return Condition{Kind: CondPresent} }
func VersionIs(version int64) Condition { return Condition{Kind: CondVersion, Version: version} }

// OpKind is what one operation of a write does.
type OpKind int

const (
	OpPut OpKind = iota + 1
	OpDelete
	OpCheck
)

// Op is one operation of an atomic write.
type Op struct {
	Kind OpKind
	// Item is written by a put; its Key is the target of the operation.
	Item Item
	// Key is the target of a delete or a check.
	Key  Key
	Cond Condition
}

// Target is the key the operation addresses.
func (o Op) Target() Key {
	if o.Kind == OpPut {
		return o.Item.Key
	}
	return o.Key
}

// Put, Delete and Check build operations.
func Put(it Item, c Condition) Op  { return Op{Kind: OpPut, Item: it, Cond: c} }
func Delete(k Key, c Condition) Op { return Op{Kind: OpDelete, Key: k, Cond: c} }
func Check(k Key, c Condition) Op  { return Op{Kind: OpCheck, Key: k, Cond: c} }

// MaxWriteOps is the most operations one atomic write may hold (DynamoDB's
// TransactWriteItems limit).
const MaxWriteOps = 100

// MaxGetKeys is the most keys one GetMany may read (DynamoDB's BatchGetItem
// limit).
const MaxGetKeys = 100

// Table is the port. Both adapters implement it; the domain packages declare
// the subsets they need.
type Table interface {
	// Get returns the live item with the key, or an error matching
	// ErrNotFound.
	Get(ctx context.Context, k Key) (Item, error)
	// GetMany reads several independent keys in one call to the database
	// (BatchGetItem, consistent, in the DynamoDB adapter) and returns the
	// live items found, by key: a missing or expired item is simply absent
	// from the map, as Get would have answered ErrNotFound. No keys is an
	// empty map and no call; an empty or repeated key, or more than
	// MaxGetKeys, is an ErrInvalidRead. The keys are read together but not
	// as one snapshot: a write may land between two of them, as between
	// two Gets. Prefetch wraps the result for code written against a
	// Getter.
	GetMany(ctx context.Context, keys ...Key) (map[Key]Item, error)
	// Query returns one page of a partition. A cursor issued for another
	// partition or index is rejected with ErrBadCursor.
	Query(ctx context.Context, q Query) (Page, error)
	// Write applies every operation or none. A failed condition returns a
	// *ConditionFailedError naming the operation. Two operations on one key,
	// an empty write or more than MaxWriteOps is an ErrInvalidWrite.
	Write(ctx context.Context, ops ...Op) error
}

var (
	// ErrNotFound: no live item has the key.
	ErrNotFound = errors.New("storage: item not found")
	// ErrConditionFailed matches every *ConditionFailedError.
	ErrConditionFailed = errors.New("storage: condition failed")
	// ErrConflict: a concurrent transaction touched the same items; the
	// write did nothing and may be retried.
	ErrConflict = errors.New("storage: transaction conflict")
	// ErrUnavailable: the database throttled or failed after the adapter's
	// retries; the write did nothing, or its outcome is unknown only where
	// the error says so.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrBadCursor: the cursor is malformed or belongs to another partition.
	ErrBadCursor = errors.New("storage: bad cursor")
	// ErrInvalidWrite: the write itself is malformed.
	ErrInvalidWrite = errors.New("storage: invalid write")
	// ErrInvalidRead: the keys of a GetMany are malformed (see ValidateKeys).
	ErrInvalidRead = errors.New("storage: invalid read")
)

// ConditionFailedError says which operation of a write failed its condition.
type ConditionFailedError struct {
	Index int // position of the operation in the write
	Key   Key
	Cond  CondKind
}

func (e *ConditionFailedError) Error() string {
	return fmt.Sprintf("storage: condition failed on operation %d (%s)", e.Index, e.Key)
}

func (e *ConditionFailedError) Is(target error) bool { return target == ErrConditionFailed }

// FailedOn reports whether err is a failed condition on the operation at
// index i of its write. Callers use it to tell which guard failed (the
// email guard rather than the user item, say).
func FailedOn(err error, i int) bool {
	var cf *ConditionFailedError
	return errors.As(err, &cf) && cf.Index == i
}

// ValidateWrite checks the shape of a write the same way for both adapters.
func ValidateWrite(ops []Op) error {
	if len(ops) == 0 {
		return fmt.Errorf("%w: no operations", ErrInvalidWrite)
	}
	if len(ops) > MaxWriteOps {
		return fmt.Errorf("%w: %d operations, at most %d", ErrInvalidWrite, len(ops), MaxWriteOps)
	}
	seen := make(map[Key]int, len(ops))
	for i, op := range ops {
		k := op.Target()
		if k.PK == "" || k.SK == "" {
			return fmt.Errorf("%w: operation %d has an empty key", ErrInvalidWrite, i)
		}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%w: operations %d and %d both address %s", ErrInvalidWrite, j, i, k)
		}
		seen[k] = i
		switch op.Kind {
		case OpPut:
			if op.Item.Type == "" {
				return fmt.Errorf("%w: put %d has no entity type", ErrInvalidWrite, i)
			}
			for name, ik := range op.Item.Index {
				if ik.PK == "" || ik.SK == "" {
					return fmt.Errorf("%w: put %d has an empty key on index %s", ErrInvalidWrite, i, name)
				}
			}
		case OpDelete:
		case OpCheck:
			if op.Cond.Kind == CondNone {
				return fmt.Errorf("%w: check %d has no condition", ErrInvalidWrite, i)
			}
		default:
			return fmt.Errorf("%w: operation %d has unknown kind %d", ErrInvalidWrite, i, op.Kind)
		}
	}
	return nil
}
