// Package dynamo is the DynamoDB adapter of the storage port (aws-sdk-go-v2).
// It runs in Lambda and, in tests and the local stack, against DynamoDB
// Local. Every expression string the hub sends to DynamoDB is built here.
//
// DynamoDB deletes expired items only eventually and DynamoDB Local never
// does, so every read drops items whose TTL attribute has passed and every
// condition treats them as absent.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/storage"
)

// DefaultPageSize is the page size of a Query without a limit.
const DefaultPageSize = 100

// Table is one DynamoDB table behind the storage port.
type Table struct {
	client *dynamodb.Client
	name   string
	schema storage.Schema
}

var _ storage.Table = (*Table)(nil)

// New returns the adapter for the table called name, whose attribute names
// are schema's (tableschema.Load(), generated from template.yaml).
func New(client *dynamodb.Client, name string, schema storage.Schema) *Table {
	return &Table{client: client, name: name, schema: schema}
}

// Get returns the live item with the key, reading consistently.
func (t *Table) Get(ctx context.Context, k storage.Key) (storage.Item, error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &t.name,
		Key:            t.tableKey(k),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return storage.Item{}, translateError(err, "get "+k.String(), nil)
	}
	if out.Item == nil {
		return storage.Item{}, fmt.Errorf("dynamo: get %s: %w", k, storage.ErrNotFound)
	}
	it, err := t.itemFromAttributes(out.Item)
	if err != nil {
		return storage.Item{}, fmt.Errorf("dynamo: get %s: %w", k, err)
	}
	if it.Expired(time.Now()) {
		return storage.Item{}, fmt.Errorf("dynamo: get %s: %w (expired)", k, storage.ErrNotFound)
	}
	return it, nil
}

// Query returns one page of q's partition. Expired items are dropped and the
// page is filled from further down the partition instead. The adapter reads
// one item past the page to know whether another page follows, so the last
// page never comes with a cursor.
func (t *Table) Query(ctx context.Context, q storage.Query) (storage.Page, error) {
	keyAttrs, err := t.keyAttributes(q.Index)
	if err != nil {
		return storage.Page{}, err
	}
	if q.PK == "" {
		return storage.Page{}, errors.New("dynamo: query: empty partition key")
	}
	pageSize := q.Limit
	switch {
	case pageSize <= 0:
		pageSize = DefaultPageSize
	case pageSize > storage.MaxPageSize:
		pageSize = storage.MaxPageSize
	}
	var startKey map[string]types.AttributeValue
	if q.Cursor != "" {
		pos, err := storage.DecodeCursor(q)
		if err != nil {
			return storage.Page{}, fmt.Errorf("dynamo: query %s: %w", q.PK, err)
		}
		startKey = t.exclusiveStartKey(q.Index, pos)
	}
	cond, nonEmpty, err := keyCondition(keyAttrs, q)
	if err != nil || !nonEmpty {
		return storage.Page{}, err
	}

	input := &dynamodb.QueryInput{
		TableName:                 &t.name,
		KeyConditionExpression:    &cond.text,
		ExpressionAttributeNames:  cond.names,
		ExpressionAttributeValues: cond.values,
		ScanIndexForward:          aws.Bool(!q.Descending),
	}
	if q.Index != "" {
		input.IndexName = aws.String(q.Index)
	} else {
		input.ConsistentRead = aws.Bool(true)
	}
	now := time.Now()
	var page storage.Page
	for {
		input.ExclusiveStartKey = startKey
		input.Limit = aws.Int32(int32(pageSize - len(page.Items) + 1))
		out, err := t.client.Query(ctx, input)
		if err != nil {
			return storage.Page{}, translateError(err, "query "+q.PK, nil)
		}
		for _, attrs := range out.Items {
			it, err := t.itemFromAttributes(attrs)
			if err != nil {
				return storage.Page{}, fmt.Errorf("dynamo: query %s: %w", q.PK, err)
			}
			if it.Expired(now) {
				continue
			}
			if len(page.Items) == pageSize {
				last := page.Items[len(page.Items)-1]
				page.Cursor = storage.EncodeCursor(q, storage.Position{Table: last.Key, Index: last.Index[q.Index]})
				return page, nil
			}
			page.Items = append(page.Items, it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, nil
		}
		startKey = out.LastEvaluatedKey
	}
}

// Write applies ops atomically: one operation as a single conditional put
// or delete, several (or a lone check) as one transaction.
func (t *Table) Write(ctx context.Context, ops ...storage.Op) error {
	if err := storage.ValidateWrite(ops); err != nil {
		return fmt.Errorf("dynamo: write: %w", err)
	}
	now := time.Now()
	items := make([]types.TransactWriteItem, len(ops))
	for i, op := range ops {
		item, err := t.transactItem(op, now)
		if err != nil {
			return fmt.Errorf("dynamo: write: operation %d: %w", i, err)
		}
		items[i] = item
	}
	if len(ops) == 1 {
		switch only := items[0]; {
		case only.Put != nil:
			_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                 only.Put.TableName,
				Item:                      only.Put.Item,
				ConditionExpression:       only.Put.ConditionExpression,
				ExpressionAttributeNames:  only.Put.ExpressionAttributeNames,
				ExpressionAttributeValues: only.Put.ExpressionAttributeValues,
			})
			return translateError(err, "put "+ops[0].Target().String(), ops)
		case only.Delete != nil:
			_, err := t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName:                 only.Delete.TableName,
				Key:                       only.Delete.Key,
				ConditionExpression:       only.Delete.ConditionExpression,
				ExpressionAttributeNames:  only.Delete.ExpressionAttributeNames,
				ExpressionAttributeValues: only.Delete.ExpressionAttributeValues,
			})
			return translateError(err, "delete "+ops[0].Target().String(), ops)
		}
	}
	_, err := t.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return translateError(err, fmt.Sprintf("write of %d operations", len(ops)), ops)
}

// transactItem is op as an operation of TransactWriteItems; a write of one
// put or delete reuses its parts for PutItem or DeleteItem.
func (t *Table) transactItem(op storage.Op, now time.Time) (types.TransactWriteItem, error) {
	var cond expression
	if op.Cond.Kind != storage.CondNone {
		var err error
		if cond, err = conditionExpression(t.schema, op.Cond, now); err != nil {
			return types.TransactWriteItem{}, err
		}
	}
	condText := cond.textOrNil()
	switch op.Kind {
	case storage.OpPut:
		attrs, err := t.attributesFromItem(op.Item)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		return types.TransactWriteItem{Put: &types.Put{
			TableName:                 &t.name,
			Item:                      attrs,
			ConditionExpression:       condText,
			ExpressionAttributeNames:  cond.names,
			ExpressionAttributeValues: cond.values,
		}}, nil
	case storage.OpDelete:
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 &t.name,
			Key:                       t.tableKey(op.Key),
			ConditionExpression:       condText,
			ExpressionAttributeNames:  cond.names,
			ExpressionAttributeValues: cond.values,
		}}, nil
	case storage.OpCheck:
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName:                 &t.name,
			Key:                       t.tableKey(op.Key),
			ConditionExpression:       condText,
			ExpressionAttributeNames:  cond.names,
			ExpressionAttributeValues: cond.values,
		}}, nil
	}
	return types.TransactWriteItem{}, fmt.Errorf("%w: operation kind %d", storage.ErrInvalidWrite, op.Kind)
}

// keyAttributes are the key attribute names of the table (index "") or of
// the named index.
func (t *Table) keyAttributes(index string) (storage.Key, error) {
	if index == "" {
		return storage.Key{PK: t.schema.PK, SK: t.schema.SK}, nil
	}
	attrs, ok := t.schema.Indexes[index]
	if !ok {
		return storage.Key{}, fmt.Errorf("dynamo: query: the table has no index %q", index)
	}
	return attrs, nil
}

func (t *Table) tableKey(k storage.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		t.schema.PK: &types.AttributeValueMemberS{Value: k.PK},
		t.schema.SK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// exclusiveStartKey resumes a query after pos. On an index DynamoDB needs
// both the item's index key and its table key.
func (t *Table) exclusiveStartKey(index string, pos storage.Position) map[string]types.AttributeValue {
	key := t.tableKey(pos.Table)
	if index != "" {
		attrs := t.schema.Indexes[index]
		key[attrs.PK] = &types.AttributeValueMemberS{Value: pos.Index.PK}
		key[attrs.SK] = &types.AttributeValueMemberS{Value: pos.Index.SK}
	}
	return key
}

// attributesFromItem is the envelope as DynamoDB stores it; it matches
// stream.ImageFromItem, which is how the stream shows it back.
func (t *Table) attributesFromItem(it storage.Item) (map[string]types.AttributeValue, error) {
	attrs := t.tableKey(it.Key)
	attrs[storage.AttrType] = &types.AttributeValueMemberS{Value: it.Type}
	attrs[storage.AttrVersion] = number(it.Version)
	if len(it.Data) > 0 {
		attrs[storage.AttrData] = &types.AttributeValueMemberS{Value: string(it.Data)}
	}
	if !it.ExpiresAt.IsZero() {
		attrs[t.schema.TTL] = epochSeconds(it.ExpiresAt)
	}
	for name, k := range it.Index {
		indexAttrs, ok := t.schema.Indexes[name]
		if !ok {
			return nil, fmt.Errorf("%w: item %s names index %q, which the table does not have", storage.ErrInvalidWrite, it.Key, name)
		}
		attrs[indexAttrs.PK] = &types.AttributeValueMemberS{Value: k.PK}
		attrs[indexAttrs.SK] = &types.AttributeValueMemberS{Value: k.SK}
	}
	return attrs, nil
}

func (t *Table) itemFromAttributes(attrs map[string]types.AttributeValue) (storage.Item, error) {
	var it storage.Item
	var err error
	if it.PK, err = stringAttribute(attrs, t.schema.PK); err != nil {
		return it, err
	}
	if it.SK, err = stringAttribute(attrs, t.schema.SK); err != nil {
		return it, err
	}
	if it.Type, err = stringAttribute(attrs, storage.AttrType); err != nil {
		return it, err
	}
	if it.Version, err = numberAttribute(attrs, storage.AttrVersion); err != nil {
		return it, err
	}
	data, err := stringAttribute(attrs, storage.AttrData)
	if err != nil {
		return it, err
	}
	if data != "" {
		it.Data = []byte(data)
	}
	expiry, err := numberAttribute(attrs, t.schema.TTL)
	if err != nil {
		return it, err
	}
	if expiry != 0 {
		it.ExpiresAt = time.Unix(expiry, 0).UTC()
	}
	for name, indexAttrs := range t.schema.Indexes {
		pk, err := stringAttribute(attrs, indexAttrs.PK)
		if err != nil {
			return it, err
		}
		sk, err := stringAttribute(attrs, indexAttrs.SK)
		if err != nil {
			return it, err
		}
		if pk != "" && sk != "" {
			if it.Index == nil {
				it.Index = make(map[string]storage.Key, len(t.schema.Indexes))
			}
			it.Index[name] = storage.Key{PK: pk, SK: sk}
		}
	}
	return it, nil
}

// stringAttribute is the string attribute name, or "" when the item has no
// such attribute.
func stringAttribute(attrs map[string]types.AttributeValue, name string) (string, error) {
	v, ok := attrs[name]
	if !ok {
		return "", nil
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("attribute %q is %T, want a string", name, v)
	}
	return s.Value, nil
}

// numberAttribute is the integer attribute name, or 0 when the item has no
// such attribute.
func numberAttribute(attrs map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := attrs[name]
	if !ok {
		return 0, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %q is %T, want a number", name, v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %q: %w", name, err)
	}
	return i, nil
}
