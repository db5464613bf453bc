package main

import (
	"context"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestCheckLoopbackRefusesEveryTargetButThisMachine(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"127.0.0.1:0", true},
		{"http://127.0.0.1:8000", true},
		{"http://localhost:8000", true},
		{"[::1]:9000", true},
		{"http://[::1]:9000/", true},
		{"127.8.9.10:80", true},
		{"0.0.0.0:8080", false},
		{"http://10.0.0.5:8000", false},
		{"https://dynamodb.us-east-1.amazonaws.com", false},
		{"example.com:80", false},
		{"http://localhost.example.com:80", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := CheckLoopback(tt.target); (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok %v", tt.target, err, tt.ok)
		}
	}
}

// A short run against DynamoDB Local, bounded by its request count: no
// request answers 5xx or fails, and every acknowledged write is found.
func TestABoundedRunHasNo5xxAndFindsEveryAcknowledgedWrite(t *testing.T) {
	sum, err := Run(context.Background(), Config{
		Clients: 6, Orgs: 2, MaxRequests: 300, Duration: 5 * time.Minute,
		DynamoDB: testenv.DynamoDBLocal(t), Addr: "127.0.0.1:0",
		Hashing: passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() || sum.Requests != 300 || sum.Acknowledged == 0 {
		t.Errorf("run: %d requests, %d 5xx, %d failed, %d acknowledged, %d verified, missing %v, failures %v",
			sum.Requests, sum.ServerErrors, sum.Failed, sum.Acknowledged, sum.Verified, sum.Missing, sum.Failures)
	}
}

// The check after a run fails a write that was acknowledged and is not in
// the table, and an update count the document's version does not show.
func TestTheCheckCatchesAMissingWriteAndALostUpdate(t *testing.T) {
	table := testenv.EmbeddedTable(t)
	o := &org{id: "o1"}
	r := newRun(Config{}, nil)
	r.acks = []ack{
		{key: keys.User("o1", "never-written"), created: true},
		{raises: keys.NotificationSettings("o1"), orgID: "o1"},
	}
	sum := r.summarize(context.Background(), table, []*org{o}, time.Second, Config{})
	if sum.OK() || len(sum.Missing) != 2 {
		t.Errorf("OK %v, missing %v: want both writes reported", sum.OK(), sum.Missing)
	}
}
