// Package dynamofeed reads a table's DynamoDB stream as a Lambda event
// source mapping would, for the local stack and the tests. It is apart from
// the dynamo adapter so that the functions, which never read a stream, do
// not link (and initialise) the DynamoDB Streams client.
package dynamofeed

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/stream"
)

// eventSource is what a Lambda event source mapping writes in every record.
const eventSource = "aws:dynamodb"

// Source reads a table's DynamoDB stream the way a Lambda event source
// mapping would, for the local stack and the tests (DynamoDB Local runs no
// mappings). It follows every shard, reading a parent shard to its end
// before its children, and hands out records in the Lambda event shape.
type Source struct {
	client    *dynamodbstreams.Client
	streamArn string
	schema    storage.Schema
	fromStart bool

	mu sync.Mutex
	// positioned is set once the first Poll has found the shards.
	positioned bool
	shards     map[string]*shardReader
	// undelivered holds records read by a Poll that then failed; the next
	// Poll returns them first.
	undelivered []events.DynamoDBEventRecord
}

var _ stream.Source = (*Source)(nil)

// shardReader is the reading position in one shard.
type shardReader struct {
	id, parentID string
	// openAt is where reading starts when there is no sequence number yet.
	openAt       types.ShardIteratorType
	iterator     *string
	lastSequence string
	// drained: the shard is closed and every record of it was read.
	drained bool
}

// NewClient builds a DynamoDB Streams client configured as dynamo.NewClient
// configures its client; DynamoDB Local serves streams on the table's
// endpoint.
func NewClient(ctx context.Context, endpoint string, opts ...dynamo.ClientOption) (*dynamodbstreams.Client, error) {
	cfg, err := dynamo.AWSConfig(ctx, endpoint, opts...)
	if err != nil {
		return nil, err
	}
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// NewSource reads the stream streamArn of a table with the given
// schema. With fromStart it returns every record the stream still holds;
// otherwise the first Poll positions it at the end of the stream and later
// Polls return what was written after that one.
func NewSource(streams *dynamodbstreams.Client, streamArn string, schema storage.Schema, fromStart bool) *Source {
	return &Source{
		client:    streams,
		streamArn: streamArn,
		schema:    schema,
		fromStart: fromStart,
		shards:    map[string]*shardReader{},
	}
}

// Poll returns the records written since the previous Poll, across all
// shards, each shard's records in order and a parent's before its
// children's.
func (s *Source) Poll(ctx context.Context) ([]events.DynamoDBEventRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	records := s.undelivered
	s.undelivered = nil
	for {
		if err := s.discoverShards(ctx); err != nil {
			s.undelivered = records
			return nil, err
		}
		drainedNow := 0
		for _, sh := range s.readableShards() {
			read, err := s.readShard(ctx, sh)
			records = append(records, read...)
			if err != nil {
				s.undelivered = records
				return nil, err
			}
			if sh.drained {
				drainedNow++
			}
		}
		// A shard that closed may have children that are readable now.
		if drainedNow == 0 {
			return records, nil
		}
	}
}

// discoverShards adds the stream's new shards and forgets drained shards
// the stream no longer lists.
func (s *Source) discoverShards(ctx context.Context) error {
	listed := map[string]bool{}
	input := &dynamodbstreams.DescribeStreamInput{StreamArn: &s.streamArn}
	for {
		out, err := s.client.DescribeStream(ctx, input)
		if err != nil {
			return fmt.Errorf("dynamo: describe stream %s: %w", s.streamArn, err)
		}
		desc := out.StreamDescription
		if desc == nil {
			return fmt.Errorf("dynamo: describe stream %s: no description", s.streamArn)
		}
		for _, shard := range desc.Shards {
			id := aws.ToString(shard.ShardId)
			listed[id] = true
			if _, known := s.shards[id]; known {
				continue
			}
			sh := &shardReader{id: id, parentID: aws.ToString(shard.ParentShardId), openAt: types.ShardIteratorTypeTrimHorizon}
			if !s.positioned && !s.fromStart {
				closed := shard.SequenceNumberRange != nil && shard.SequenceNumberRange.EndingSequenceNumber != nil
				sh.openAt = types.ShardIteratorTypeLatest
				sh.drained = closed
			}
			s.shards[id] = sh
		}
		if desc.LastEvaluatedShardId == nil {
			break
		}
		input.ExclusiveStartShardId = desc.LastEvaluatedShardId
	}
	s.positioned = true
	for id, sh := range s.shards {
		if sh.drained && !listed[id] {
			delete(s.shards, id)
		}
	}
	return nil
}

// readableShards are the shards not yet drained whose parent, if the stream
// still lists it, is drained; shard ids begin with their creation time, so
// sorting them reads older shards first.
func (s *Source) readableShards() []*shardReader {
	var readable []*shardReader
	for _, sh := range s.shards {
		if sh.drained {
			continue
		}
		if parent, ok := s.shards[sh.parentID]; ok && !parent.drained {
			continue
		}
		readable = append(readable, sh)
	}
	sort.Slice(readable, func(i, j int) bool { return readable[i].id < readable[j].id })
	return readable
}

// readShard returns the shard's records from its position to the end of
// what it holds now, marking it drained when it is closed and read through.
func (s *Source) readShard(ctx context.Context, sh *shardReader) ([]events.DynamoDBEventRecord, error) {
	var records []events.DynamoDBEventRecord
	reopened := false
	for {
		if sh.iterator == nil {
			if err := s.openShard(ctx, sh); err != nil {
				return records, err
			}
		}
		out, err := s.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iterator})
		var expired *types.ExpiredIteratorException
		var trimmed *types.TrimmedDataAccessException
		switch {
		case err == nil:
		case (errors.As(err, &expired) || errors.As(err, &trimmed)) && !reopened:
			// An iterator lives 15 minutes; a trimmed position is older
			// than the stream's 24 hours. Both reopen from lastSequence or,
			// when that is gone too, from the oldest record.
			if trimmed != nil {
				sh.lastSequence = ""
				sh.openAt = types.ShardIteratorTypeTrimHorizon
			}
			sh.iterator = nil
			reopened = true
			continue
		default:
			return records, fmt.Errorf("dynamo: read stream shard %s: %w", sh.id, err)
		}
		for _, r := range out.Records {
			rec, err := s.eventRecord(r)
			if err != nil {
				return records, fmt.Errorf("dynamo: stream shard %s: %w", sh.id, err)
			}
			records = append(records, rec)
			sh.lastSequence = rec.Change.SequenceNumber
		}
		sh.iterator = out.NextShardIterator
		if sh.iterator == nil {
			sh.drained = true
			return records, nil
		}
		if len(out.Records) == 0 {
			return records, nil
		}
	}
}

func (s *Source) openShard(ctx context.Context, sh *shardReader) error {
	input := &dynamodbstreams.GetShardIteratorInput{
		StreamArn:         &s.streamArn,
		ShardId:           &sh.id,
		ShardIteratorType: sh.openAt,
	}
	if sh.lastSequence != "" {
		input.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		input.SequenceNumber = &sh.lastSequence
	}
	out, err := s.client.GetShardIterator(ctx, input)
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		// The shard aged out of the stream.
		sh.drained = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("dynamo: open stream shard %s at %s: %w", sh.id, input.ShardIteratorType, err)
	}
	if out.ShardIterator == nil {
		sh.drained = true
		return nil
	}
	sh.iterator = out.ShardIterator
	return nil
}

// eventRecord is r as a Lambda event source mapping delivers it.
func (s *Source) eventRecord(r types.Record) (events.DynamoDBEventRecord, error) {
	change := r.Dynamodb
	if change == nil {
		return events.DynamoDBEventRecord{}, fmt.Errorf("record %s has no change", aws.ToString(r.EventID))
	}
	for _, keyAttr := range []string{s.schema.PK, s.schema.SK} {
		if _, ok := change.Keys[keyAttr].(*types.AttributeValueMemberS); !ok {
			return events.DynamoDBEventRecord{}, fmt.Errorf("record %s has no string key attribute %q: is the stream of another table?", aws.ToString(r.EventID), keyAttr)
		}
	}
	rec := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    eventSource,
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: s.streamArn,
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: aws.ToString(change.SequenceNumber),
			SizeBytes:      aws.ToInt64(change.SizeBytes),
			StreamViewType: string(change.StreamViewType),
		},
	}
	if change.ApproximateCreationDateTime != nil {
		rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *change.ApproximateCreationDateTime}
	}
	if r.UserIdentity != nil {
		rec.UserIdentity = &events.DynamoDBUserIdentity{
			Type:        aws.ToString(r.UserIdentity.Type),
			PrincipalID: aws.ToString(r.UserIdentity.PrincipalId),
		}
	}
	var err error
	if rec.Change.Keys, err = eventImage(change.Keys); err != nil {
		return rec, fmt.Errorf("record %s keys: %w", rec.EventID, err)
	}
	if rec.Change.NewImage, err = eventImage(change.NewImage); err != nil {
		return rec, fmt.Errorf("record %s new image: %w", rec.EventID, err)
	}
	if rec.Change.OldImage, err = eventImage(change.OldImage); err != nil {
		return rec, fmt.Errorf("record %s old image: %w", rec.EventID, err)
	}
	return rec, nil
}

// eventImage converts a stream image to the Lambda event's attribute
// values; a nil image stays nil.
func eventImage(image map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if image == nil {
		return nil, nil
	}
	converted := make(map[string]events.DynamoDBAttributeValue, len(image))
	for name, v := range image {
		ev, err := eventAttribute(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		converted[name] = ev
	}
	return converted, nil
}

func eventAttribute(v types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberM:
		m, err := eventImage(v.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		if m == nil {
			m = map[string]events.DynamoDBAttributeValue{}
		}
		return events.NewMapAttribute(m), nil
	case *types.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, elem := range v.Value {
			ev, err := eventAttribute(elem)
			if err != nil {
				return events.DynamoDBAttributeValue{}, fmt.Errorf("element %d: %w", i, err)
			}
			list[i] = ev
		}
		return events.NewListAttribute(list), nil
	}
	return events.DynamoDBAttributeValue{}, fmt.Errorf("unsupported attribute value %T", v)
}
