package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
)

// iamActions are the IAM actions a DynamoDB call needs: its own, or for a
// transaction one per kind of item it holds (there is no
// TransactWriteItems action).
func iamActions(c call) []string {
	if in, ok := c.params.(*dynamodb.TransactWriteItemsInput); ok {
		var out []string
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				out = append(out, "dynamodb:PutItem")
			case it.Delete != nil:
				out = append(out, "dynamodb:DeleteItem")
			case it.ConditionCheck != nil:
				out = append(out, "dynamodb:ConditionCheckItem")
			case it.Update != nil:
				out = append(out, "dynamodb:UpdateItem")
			}
		}
		return out
	}
	return []string{"dynamodb:" + c.op}
}

// grantedForABranch are the table actions a function is granted for a
// branch that no accepted request takes, with that branch: every other
// action a function is granted, its accepted requests must use (least
// privilege both ways).
var grantedForABranch = map[string]map[string]string{
	"notifier": {"dynamodb:DeleteItem": "release: a claim is deleted when its send fails, so the retry can claim the event again"},
}

// acceptingSender takes every email.
type acceptingSender struct {
	mu   sync.Mutex
	sent int
}

func (s *acceptingSender) Send(context.Context, email.Message) error {
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	return nil
}

// TestTemplateGrantsEachFunctionExactlyTheTableActionsItCalls runs an accepted
// request of every route (through the gateway and the authorizer, on
// DynamoDB Local, as the calls table does), then the notifier over every
// event those requests raised, records each function's DynamoDB calls
// with SDK middleware, and checks that template.yaml grants that function
// every IAM action they need, and no table action they do not (but for
// grantedForABranch). The local stack enforces no IAM: a call the
// template does not allow would first fail in AWS, with AccessDenied.
func TestTemplateGrantsEachFunctionExactlyTheTableActionsItCalls(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	tmplPath, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string][]string{}
	for _, fn := range tm.Functions {
		granted[fn.Name] = fn.Actions
	}
	h := openRouteHub(t)
	needs := map[string]map[string]string{} // function → action → the route that needed it
	need := func(function, where string, calls []call) {
		if needs[function] == nil {
			needs[function] = map[string]string{}
		}
		for _, c := range calls {
			for _, a := range iamActions(c) {
				if _, ok := needs[function][a]; !ok {
					needs[function][a] = where
				}
			}
		}
	}
	for _, r := range h.Routes() {
		owner := h.NewOrg(principal.Standard)
		do := func(req prooftest.Request) prooftest.Response {
			h.functions.take()
			h.authorizer.take()
			resp := h.Do(req)
			need(r.Function, r.Key(), h.functions.take())
			if !r.Public {
				need("authorizer", r.Key(), h.authorizer.take())
			}
			return resp
		}
		var first []map[string]any
		if body := h.PublicBody(r, owner); body != nil {
			first = append(first, body)
		}
		if _, tried, ok := prooftest.FindAccepted(do, r, owner, first...); !ok {
			t.Errorf("%s: no accepted request (%s), so its calls are unknown", r.Key(), strings.Join(tried, ", "))
		}
	}

	// The operator, with its event file.
	var req operator.Request
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(tmplPath), "events", "operator", "create-organization.json"))
	if err != nil || json.Unmarshal(raw, &req) != nil {
		t.Fatalf("the operator's event: %v", err)
	}
	h.functions.take()
	if _, err := h.Functions.Operator().Handle(context.Background(), req); err != nil {
		t.Fatalf("the operator: %v", err)
	}
	need("operator", "create_organization", h.functions.take())

	// The notifier, over every event the requests raised, as the stream
	// delivers them.
	items, err := prooftest.ScanItems(context.Background(), h.Clean, h.Table, h.Schema)
	if err != nil {
		t.Fatal(err)
	}
	var records []events.DynamoDBEventRecord
	for i, it := range items {
		if it.Type != outbox.EntityType {
			continue
		}
		records = append(records, events.DynamoDBEventRecord{
			EventID: fmt.Sprint(i), EventName: string(events.DynamoDBOperationTypeInsert), EventSource: "aws:dynamodb",
			Change: events.DynamoDBStreamRecord{
				Keys: stream.KeysFromItem(h.Schema, it.Key), NewImage: stream.ImageFromItem(h.Schema, it),
				SequenceNumber: fmt.Sprintf("%021d", i+1), StreamViewType: "NEW_IMAGE",
			},
		})
	}
	deps := *h.Functions
	sender := &acceptingSender{}
	deps.Sender = sender
	h.functions.take()
	resp, err := deps.Notifier().Handle(context.Background(), events.DynamoDBEvent{Records: records})
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("the notifier over %d events: %v, %d failures", len(records), err, len(resp.BatchItemFailures))
	}
	if sender.sent == 0 {
		t.Fatalf("the notifier sent nothing for %d events", len(records))
	}
	need("notifier", "the notifier", h.functions.take())

	var functions []string
	for fn := range needs {
		functions = append(functions, fn)
	}
	sort.Strings(functions)
	for _, fn := range functions {
		actions, ok := granted[fn]
		if !ok {
			t.Errorf("%s calls DynamoDB and is not in template.yaml", fn)
			continue
		}
		var missing []string
		for a, where := range needs[fn] {
			if !slices.Contains(actions, a) {
				missing = append(missing, a+" (for "+where+")")
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("template.yaml does not allow %s: %s", fn, strings.Join(missing, ", "))
		}
		for _, a := range actions {
			if _, used := needs[fn][a]; used || !strings.HasPrefix(a, "dynamodb:") || grantedForABranch[fn][a] != "" {
				continue
			}
			t.Errorf("template.yaml grants %s %s, which none of its accepted requests used: remove it, or name the branch that needs it in grantedForABranch", fn, a)
		}
	}
	for _, fn := range []string{"notifier", "authorizer", "operator"} {
		if len(needs[fn]) == 0 {
			t.Errorf("no calls recorded for the %s", fn)
		}
	}
}
