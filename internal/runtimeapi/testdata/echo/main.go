// Command echo is the runtimeapi tests' Lambda function: it answers with the
// event it was given, unless the event asks it to misbehave.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// instructions are the fields of an event the function acts on.
type instructions struct {
	Fail    bool `json:"fail"`
	Panic   bool `json:"panic"`
	Context bool `json:"context"`
	// SleepMS sleeps without watching the deadline, as a stuck handler would.
	SleepMS int `json:"sleepMs"`
	// ResponseBytes answers with a string this long instead of the event.
	ResponseBytes int `json:"responseBytes"`
}

// invocationContext is the answer to {"context":true}: what the runtime
// learned from the Runtime API and the environment.
type invocationContext struct {
	RequestID          string   `json:"requestId"`
	InvokedFunctionARN string   `json:"invokedFunctionArn"`
	DeadlineMS         int64    `json:"deadlineMs"`
	TraceID            string   `json:"traceId"`
	FunctionName       string   `json:"functionName"`
	MemoryLimitMB      int      `json:"memoryLimitMb"`
	Environ            []string `json:"environ"`
}

var errAsked = errors.New("failing as asked")

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("echo: handling %s\n", lc.AwsRequestID)
	var in instructions
	if err := json.Unmarshal(event, &in); err != nil {
		return nil, fmt.Errorf("echo: decode event: %w", err)
	}
	switch {
	case in.Fail:
		return nil, errAsked
	case in.Panic:
		panic("echo: panicking as asked")
	case in.SleepMS > 0:
		time.Sleep(time.Duration(in.SleepMS) * time.Millisecond)
	case in.ResponseBytes > 0:
		return strings.Repeat("x", in.ResponseBytes), nil
	case in.Context:
		deadline, _ := ctx.Deadline()
		traceID, _ := ctx.Value("x-amzn-trace-id").(string)
		return invocationContext{
			RequestID:          lc.AwsRequestID,
			InvokedFunctionARN: lc.InvokedFunctionArn,
			DeadlineMS:         deadline.UnixMilli(),
			TraceID:            traceID,
			FunctionName:       lambdacontext.FunctionName,
			MemoryLimitMB:      lambdacontext.MemoryLimitInMB,
			Environ:            os.Environ(),
		}, nil
	}
	return event, nil
}

func main() {
	var opts []lambda.Option
	if os.Getenv("ECHO_ENABLE_SIGTERM") != "" {
		opts = append(opts, lambda.WithEnableSIGTERM(func() {
			fmt.Println("echo: SIGTERM")
			os.Exit(0)
		}))
	}
	if os.Getenv("ECHO_FAIL_INIT") != "" {
		log.Fatal("echo: failing init as asked")
	}
	lambda.StartWithOptions(handle, opts...)
}
