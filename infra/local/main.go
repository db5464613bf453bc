// Command local runs the whole hub on one machine the way AWS runs it: an
// API Gateway stand-in routes each request, calls the authorizer with the
// authorizer event and the function with its payload 2.0 event, and the
// table's change feed drives the notifier.
//
// By default the table is an embedded bbolt file and email goes to an
// outbox folder, so nothing but Go is needed:
//
//	go run ./infra/local                 # make run
//	go run ./infra/local -emulators      # make run-emulated: DynamoDB Local + SES emulator
//	go run ./infra/local create-org -name Acme -plan lite -admin-email ada@acme.example
//
// Environment: HUB_ADDR (127.0.0.1:8080), HUB_DATA_DIR (.data),
// HUB_DYNAMODB_ENDPOINT and HUB_SES_ENDPOINT (use those instead of the
// embedded defaults), HUB_TABLE (integration-hub), HUB_SENDER.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/integration-hub/hub/internal/emulators"
	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/principal"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "create-org" {
		if err := createOrg(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "create-org:", err)
			os.Exit(1)
		}
		return
	}
	useEmulators := flag.Bool("emulators", false, "start DynamoDB Local and the SES emulator and use them")
	flag.Parse()
	if err := run(*useEmulators); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func run(useEmulators bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With(slog.String("function", "local"))

	addr := env("HUB_ADDR", "127.0.0.1:8080")
	if useEmulators {
		cleanup, err := startEmulators(log)
		if err != nil {
			return err
		}
		defer cleanup()
	}
	st, err := localstack.Open(ctx, stackConfig(addr, log))
	if err != nil {
		return err
	}
	defer st.Close()

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (set HUB_ADDR to use another address): %w", addr, err)
	}
	srv := &http.Server{Handler: st.Gateway, ReadHeaderTimeout: 10 * time.Second}
	go st.Pump.Run(ctx)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()

	demo, err := st.EnsureDemo(ctx)
	if err != nil {
		return err
	}
	printBanner(addr, st, demo)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stackConfig reads the local stack's settings from the environment.
func stackConfig(addr string, log *slog.Logger) localstack.Config {
	return localstack.Config{
		DataDir:          env("HUB_DATA_DIR", ".data"),
		BaseURL:          "http://" + addr,
		DynamoDBEndpoint: os.Getenv("HUB_DYNAMODB_ENDPOINT"),
		SESEndpoint:      os.Getenv("HUB_SES_ENDPOINT"),
		Table:            env("HUB_TABLE", "integration-hub"),
		Sender:           env("HUB_SENDER", "hub@localhost.localdomain"),
		Log:              log,
	}
}

func printBanner(addr string, st *localstack.Stack, demo localstack.Demo) {
	fmt.Fprintf(os.Stderr, "\nIntegration Hub is listening on http://%s\n", addr)
	fmt.Fprintf(os.Stderr, "  table: %s\n  email: %s\n", st.TableDescription, st.EmailDescription)
	if demo.Created {
		fmt.Fprintf(os.Stderr, "\nDemo organization %q created; its administrator %s was invited.\n", demo.OrgID, demo.AdminEmail)
	} else {
		fmt.Fprintf(os.Stderr, "\nDemo organization %q (administrator %s).\n", demo.OrgID, demo.AdminEmail)
	}
	if st.OutboxDir != "" {
		fmt.Fprintf(os.Stderr, "Sign in: take the token from the invitation in %s (the link ends in #token=...), then\n", st.OutboxDir)
	} else {
		fmt.Fprintf(os.Stderr, "Sign in: take the token from the invitation in the SES emulator's inbox (%s/store), then\n", os.Getenv("HUB_SES_ENDPOINT"))
	}
	fmt.Fprintf(os.Stderr, "  curl -s http://%s/auth/invitations/accept -H 'Content-Type: application/json' \\\n", addr)
	fmt.Fprintf(os.Stderr, "    -d '{\"token\":\"<token>\",\"name\":\"Ada\",\"password\":\"<a password of 8+ characters>\"}'\n")
	fmt.Fprintf(os.Stderr, "and afterwards sign in with POST /auth/login {\"email\":%q,\"password\":...}.\n\n", demo.AdminEmail)
}

// startEmulators starts DynamoDB Local and the SES emulator and points the
// stack at them through the environment.
func startEmulators(log *slog.Logger) (func(), error) {
	ddb, err := emulators.StartDynamoDBLocal()
	if err != nil {
		return nil, fmt.Errorf("DynamoDB Local (run `make emulators` first): %w", err)
	}
	ses, err := emulators.StartSES()
	if err != nil {
		ddb.Stop()
		return nil, fmt.Errorf("SES emulator (run `make emulators` first): %w", err)
	}
	os.Setenv("HUB_DYNAMODB_ENDPOINT", ddb.Endpoint)
	os.Setenv("HUB_SES_ENDPOINT", ses.Endpoint)
	log.Info("emulators started", slog.String("dynamodb", ddb.Endpoint), slog.String("ses", ses.Endpoint))
	return func() { ses.Stop(); ddb.Stop() }, nil
}

// createOrg is the operator's command: it creates an organization and
// invites its primary administrator, as the operator function does in AWS.
func createOrg(args []string) error {
	fs := flag.NewFlagSet("create-org", flag.ContinueOnError)
	in := operator.CreateInput{}
	fs.StringVar(&in.Name, "name", "", "organization name (required)")
	plan := fs.String("plan", "standard", "standard or lite")
	fs.StringVar(&in.AdminEmail, "admin-email", "", "primary administrator's email (required)")
	fs.StringVar(&in.AdminName, "admin-name", "", "primary administrator's name")
	fs.StringVar(&in.ID, "id", "", "organization id (generated when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in.Plan = principal.Plan(*plan)
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	addr := env("HUB_ADDR", "127.0.0.1:8080")
	st, err := localstack.Open(ctx, stackConfig(addr, log))
	if err != nil {
		return err
	}
	defer st.Close()
	resp, err := st.Deps.Operator().Handle(ctx, operator.Request{Action: "create_organization", Organization: &in})
	if err != nil {
		return err
	}
	if err := st.Pump.Once(ctx); err != nil {
		return err
	}
	fmt.Printf("organization %s (%s, %s) created; %s was invited (admin id %s)\n", resp.Organization.ID, resp.Organization.Name, resp.Organization.Plan, in.AdminEmail, resp.AdminID)
	return nil
}
