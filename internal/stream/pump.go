package stream

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Handler is the notifier's Lambda handler signature for stream batches.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Pump does locally what Lambda's DynamoDB event source mapping does: it
// polls a Source, keeps the records the filter admits, hands them to the
// handler in batches, and retries the records the handler reports as failed
// (ReportBatchItemFailures), from the first failed one on, up to MaxRetries times, then drops them with an
// error log, as the mapping sends them to its on-failure destination.
type Pump struct {
	Source     Source
	Filter     Filter
	Handler    Handler
	BatchSize  int
	MaxRetries int
	Interval   time.Duration
	Log        *slog.Logger
}

// Run pumps until ctx ends.
func (p *Pump) Run(ctx context.Context) {
	interval := p.Interval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	for {
		if err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.Log.ErrorContext(ctx, "change feed poll failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Once polls the source once and delivers what it returned.
func (p *Pump) Once(ctx context.Context) error {
	recs, err := p.Source.Poll(ctx)
	if err != nil {
		return err
	}
	var admitted []events.DynamoDBEventRecord
	for _, r := range recs {
		if p.Filter.Match(r) {
			admitted = append(admitted, r)
		}
	}
	size := p.BatchSize
	if size <= 0 {
		size = 25
	}
	for start := 0; start < len(admitted); start += size {
		p.deliver(ctx, admitted[start:min(start+size, len(admitted))])
	}
	return nil
}

func (p *Pump) deliver(ctx context.Context, batch []events.DynamoDBEventRecord) {
	for attempt := 0; len(batch) > 0; attempt++ {
		resp, err := p.Handler(ctx, events.DynamoDBEvent{Records: batch})
		var retry []events.DynamoDBEventRecord
		if err != nil {
			// A failed invocation retries the whole batch.
			retry = batch
			p.Log.ErrorContext(ctx, "notifier invocation failed", slog.String("error", err.Error()))
		} else {
			// Like the event source mapping, resume from the first failed
			// record: the records after it are delivered again too, which
			// the notifier's de-duplication must absorb.
			failed := map[string]bool{}
			for _, f := range resp.BatchItemFailures {
				failed[f.ItemIdentifier] = true
			}
			for i, r := range batch {
				if failed[r.Change.SequenceNumber] {
					retry = batch[i:]
					break
				}
			}
		}
		if len(retry) == 0 {
			return
		}
		if attempt >= p.MaxRetries {
			for _, r := range retry {
				p.Log.ErrorContext(ctx, "stream record dropped after retries", slog.String("sequence", r.Change.SequenceNumber), slog.String("event_id", r.EventID))
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
		batch = retry
	}
}
