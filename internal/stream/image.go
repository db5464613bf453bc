// Package stream is the change feed side of the storage port: the records a
// DynamoDB stream (or the embedded adapter's feed) carries, in the shape a
// Lambda receives them (events.DynamoDBEventRecord), and the one place that
// converts a stream image to and from a storage.Item.
package stream

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/storage"
)

// Source yields the records written since the previous call, oldest first.
// An empty result means nothing new yet; callers poll.
type Source interface {
	Poll(ctx context.Context) ([]events.DynamoDBEventRecord, error)
}

// ImageFromItem is the item as a stream's NewImage shows it.
func ImageFromItem(s storage.Schema, it storage.Item) map[string]events.DynamoDBAttributeValue {
	img := map[string]events.DynamoDBAttributeValue{
		s.PK:                events.NewStringAttribute(it.PK),
		s.SK:                events.NewStringAttribute(it.SK),
		storage.AttrType:    events.NewStringAttribute(it.Type),
		storage.AttrVersion: events.NewNumberAttribute(strconv.FormatInt(it.Version, 10)),
	}
	if len(it.Data) > 0 {
		img[storage.AttrData] = events.NewStringAttribute(string(it.Data))
	}
	if !it.ExpiresAt.IsZero() {
		img[s.TTL] = events.NewNumberAttribute(strconv.FormatInt(it.ExpiresAt.Unix(), 10))
	}
	for name, k := range it.Index {
		attrs, ok := s.Indexes[name]
		if !ok {
			continue
		}
		img[attrs.PK] = events.NewStringAttribute(k.PK)
		img[attrs.SK] = events.NewStringAttribute(k.SK)
	}
	return img
}

// KeysFromItem is the item's key as a stream record's Keys shows it.
func KeysFromItem(s storage.Schema, k storage.Key) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		s.PK: events.NewStringAttribute(k.PK),
		s.SK: events.NewStringAttribute(k.SK),
	}
}

// ItemFromImage reads an item back from a stream image. Stream images carry
// events.DynamoDBAttributeValue, which the SDK's attributevalue package does
// not accept; this is the one place that converts them.
func ItemFromImage(s storage.Schema, img map[string]events.DynamoDBAttributeValue) (storage.Item, error) {
	str := func(name string) (string, error) {
		v, ok := img[name]
		if !ok {
			return "", nil
		}
		if v.DataType() != events.DataTypeString {
			return "", fmt.Errorf("stream image: attribute %q is not a string", name)
		}
		return v.String(), nil
	}
	num := func(name string) (int64, error) {
		v, ok := img[name]
		if !ok {
			return 0, nil
		}
		if v.DataType() != events.DataTypeNumber {
			return 0, fmt.Errorf("stream image: attribute %q is not a number", name)
		}
		return strconv.ParseInt(v.Number(), 10, 64)
	}
	var it storage.Item
	var err error
	if it.PK, err = str(s.PK); err != nil {
		return it, err
	}
	if it.SK, err = str(s.SK); err != nil {
		return it, err
	}
	if it.PK == "" || it.SK == "" {
		return it, fmt.Errorf("stream image: missing key attributes %q/%q", s.PK, s.SK)
	}
	if it.Type, err = str(storage.AttrType); err != nil {
		return it, err
	}
	if it.Version, err = num(storage.AttrVersion); err != nil {
		return it, err
	}
	data, err := str(storage.AttrData)
	if err != nil {
		return it, err
	}
	if data != "" {
		it.Data = []byte(data)
	}
	ttl, err := num(s.TTL)
	if err != nil {
		return it, err
	}
	if ttl != 0 {
		it.ExpiresAt = time.Unix(ttl, 0).UTC()
	}
	for name, attrs := range s.Indexes {
		pk, err := str(attrs.PK)
		if err != nil {
			return it, err
		}
		sk, err := str(attrs.SK)
		if err != nil {
			return it, err
		}
		if pk != "" && sk != "" {
			if it.Index == nil {
				it.Index = map[string]storage.Key{}
			}
			it.Index[name] = storage.Key{PK: pk, SK: sk}
		}
	}
	return it, nil
}
