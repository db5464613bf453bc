package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
)

// unprocessingTransport sends BatchGetItem to DynamoDB Local and, in its
// first rounds answers, keeps at most keep of the items read and answers
// every other key asked as unprocessed, as DynamoDB does when it throttles
// a batch or reaches 16 MB. DynamoDB Local never does either.
type unprocessingTransport struct {
	rounds int64
	keep   int
	calls  atomic.Int64
}

type batchGetBody struct {
	RequestItems    map[string]json.RawMessage `json:"RequestItems,omitempty"`
	Responses       map[string][]json.RawMessage
	UnprocessedKeys map[string]keysAndAttributes
}

type keysAndAttributes struct {
	Keys           []map[string]map[string]string
	ConsistentRead bool
}

func (ut *unprocessingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") != "DynamoDB_20120810.BatchGetItem" || ut.calls.Add(1) > ut.rounds {
		return http.DefaultTransport.RoundTrip(req)
	}
	reqBody, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	var asked struct{ RequestItems map[string]keysAndAttributes }
	if err := json.Unmarshal(reqBody, &asked); err != nil {
		return nil, fmt.Errorf("unprocessingTransport: request: %w", err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var answer batchGetBody
	if err := json.Unmarshal(respBody, &answer); err != nil {
		return nil, fmt.Errorf("unprocessingTransport: answer: %w", err)
	}
	out := batchGetBody{Responses: map[string][]json.RawMessage{}, UnprocessedKeys: map[string]keysAndAttributes{}}
	for table, ka := range asked.RequestItems {
		kept := answer.Responses[table][:min(ut.keep, len(answer.Responses[table]))]
		keptKeys := map[string]bool{}
		for _, raw := range kept {
			var attrs map[string]map[string]string
			if err := json.Unmarshal(raw, &attrs); err != nil {
				return nil, fmt.Errorf("unprocessingTransport: item: %w", err)
			}
			keptKeys[attrs["PK"]["S"]+"\x00"+attrs["SK"]["S"]] = true
		}
		out.Responses[table] = kept
		var left []map[string]map[string]string
		for _, k := range ka.Keys {
			if !keptKeys[k["PK"]["S"]+"\x00"+k["SK"]["S"]] {
				left = append(left, k)
			}
		}
		if len(left) > 0 {
			out.UnprocessedKeys[table] = keysAndAttributes{Keys: left, ConsistentRead: ka.ConsistentRead}
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("X-Amz-Crc32")
	return resp, nil
}

func TestGetManyRetriesUnprocessedKeys(t *testing.T) {
	f := newFixture(t)
	if f.schema.PK != "PK" || f.schema.SK != "SK" {
		t.Fatalf("the transport reads keys as PK and SK; the schema has %s and %s", f.schema.PK, f.schema.SK)
	}
	const n = 2 * dynamo.BatchGetStalls
	var keys []storage.Key
	var ops []storage.Op
	for i := range n {
		it := item("BATCH", fmt.Sprintf("K#%02d", i), 1)
		keys = append(keys, it.Key)
		ops = append(ops, storage.Put(it, storage.Condition{}))
	}
	f.mustWrite(t, ops...)
	missing := storage.Key{PK: "BATCH", SK: "missing"}
	keys = append(keys, missing)

	tests := []struct {
		name      string
		transport *unprocessingTransport
		wantCalls int64
		wantErr   error
	}{
		{"one item a round, more rounds than the stall budget", &unprocessingTransport{rounds: n, keep: 1}, n + 1, nil},
		{"throttled, then answered", &unprocessingTransport{rounds: dynamo.BatchGetStalls - 1, keep: 0}, dynamo.BatchGetStalls, nil},
		{"throttled throughout", &unprocessingTransport{rounds: 1000, keep: 0}, dynamo.BatchGetStalls, storage.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl := f.tableWith(t, dynamo.WithHTTPClient(&http.Client{Transport: tc.transport}))
			got, err := tbl.GetMany(context.Background(), keys...)
			if calls := tc.transport.calls.Load(); calls != tc.wantCalls {
				t.Errorf("BatchGetItem called %d times, want %d", calls, tc.wantCalls)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				t.Logf("gave up: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Errorf("found %d items, want %d", len(got), n)
			}
			for _, k := range keys[:n] {
				if it, ok := got[k]; !ok || it.Key != k {
					t.Errorf("%s: %+v, %v", k, it, ok)
				}
			}
			if _, ok := got[missing]; ok {
				t.Errorf("the missing key %s was found", missing)
			}
		})
	}
}
