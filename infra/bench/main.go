// Command bench runs the hub's benchmarks (internal/proof/bench) and their
// report tables, and writes the results as Markdown and JSON:
//
//	go run ./infra/bench -out build/bench     # make bench
//	go run ./infra/bench compare OLD.json NEW.json
//
// It runs `go test -bench` on the benchmarks (authorizer, request path,
// cold start, list pages at scale) and `go test -run TestReport` for the
// tables that are counts (DynamoDB calls per route, binary sizes, peak
// memory), pairs each figure with its baseline from the same run, and
// writes <out>/results.md, <out>/results.json and the raw go test output
// (<out>/bench.txt). Every ratio is measured against a baseline of the
// same run. With -previous (make bench passes the last run's results.json)
// it also compares the two runs figure by figure and writes
// <out>/compare.md; `compare` does that for any two results.json.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/integration-hub/hub/internal/proof/readme"
)

// Goals the figures are held to (issue 7).
const (
	goalAuthorizer = 1.20 // authorizer / bare verification
	goalRoute      = 1.25 // handler / bare DynamoDB calls, at the median
	goalColdStart  = 1.50 // bootstrap / minimal Lambda
	goalMemoryMiB  = 64.0
	goalScale      = 1.20 // page of 100,000 / page of 100
	goalCatalog    = 2    // queries of the marketplace catalog
)

const pkg = "./internal/proof/bench"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		if len(os.Args) != 4 {
			fmt.Fprintln(os.Stderr, "usage: bench compare OLD.json NEW.json")
			os.Exit(2)
		}
		md, err := compareFiles(os.Args[2], os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Print(md)
		return
	}
	out := flag.String("out", "build/bench", "folder for results.md, results.json and the raw output")
	benchtime := flag.String("benchtime", "1s", "go test -benchtime for each benchmark")
	filter := flag.String("bench", ".", "go test -bench: which benchmarks")
	reports := flag.Bool("reports", true, "also run the report tables (calls per route, binaries and memory)")
	readmePath := flag.String("readme", "", "also put the tables in this file, between <!-- bench:begin --> and <!-- bench:end -->")
	previous := flag.String("previous", "", "an earlier run's results.json: compare this run with it (<out>/compare.md)")
	flag.Parse()
	if err := run(*out, *benchtime, *filter, *reports, *readmePath); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *previous != "" {
		md, err := compareFiles(*previous, filepath.Join(*out, "results.json"))
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, "compare.md"), []byte(md), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: compare:", err)
			os.Exit(1)
		}
		fmt.Printf("\n%s\nwritten: %s\n", md, filepath.Join(*out, "compare.md"))
	}
}

// compareFiles compares two results.json.
func compareFiles(oldPath, newPath string) (string, error) {
	old, err := LoadReport(oldPath)
	if err != nil {
		return "", err
	}
	cur, err := LoadReport(newPath)
	if err != nil {
		return "", err
	}
	return ChangesMarkdown(Compare(old, cur), runName(oldPath, old), runName(newPath, cur)), nil
}

// runName names a run by its file and, when it has them, its commit and date.
func runName(path string, r *Report) string {
	if r.Meta["commit"] == "" {
		return "`" + path + "`"
	}
	return fmt.Sprintf("`%s` (commit %s, %s)", path, r.Meta["commit"], r.Meta["date"])
}

func run(out, benchtime, filter string, reports bool, readmePath string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	raw, err := os.Create(filepath.Join(out, "bench.txt"))
	if err != nil {
		return err
	}
	defer raw.Close()
	var buf bytes.Buffer
	cmd := exec.Command("go", "test", pkg, "-run", "^$", "-bench", filter, "-benchmem", "-benchtime", benchtime, "-count", "1", "-timeout", "90m")
	cmd.Stdout = io.MultiWriter(&buf, raw, os.Stdout)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go test -bench: %w", err)
	}
	results := Parse(&buf)
	tables := filepath.Join(out, "tables")
	if reports {
		if err := os.MkdirAll(tables, 0o755); err != nil {
			return err
		}
		abs, _ := filepath.Abs(tables)
		cmd := exec.Command("go", "test", pkg, "-run", "^TestReport", "-count", "1", "-v", "-timeout", "60m", "-args", "-report", abs)
		cmd.Stdout, cmd.Stderr = io.MultiWriter(raw, os.Stdout), os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go test -run TestReport: %w", err)
		}
	}
	r := Build(results, tables)
	r.Meta = meta(benchtime)
	md := r.Markdown()
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("\n%s\nwritten: %s, %s\n", md, filepath.Join(out, "results.md"), filepath.Join(out, "results.json"))
	if readmePath != "" {
		// The README's section has its own heading: drop the report's and
		// put its tables one level below the section's.
		_, body, _ := strings.Cut(md, "\n")
		body = strings.ReplaceAll(body, "\n## ", "\n### ")
		if err := readme.Replace(readmePath, "bench", body); err != nil {
			return err
		}
		fmt.Println("and in", readmePath)
	}
	return nil
}

// Result is one benchmark line of go test's output.
type Result struct {
	Name       string             `json:"name"` // without "Benchmark" and the -N suffix
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"` // by unit: ns/op, B/op, allocs/op, p50-ns...
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

// Parse reads the benchmark lines of go test output.
func Parse(r io.Reader) []Result {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[2], 10, 64)
		res := Result{Name: m[1], Iterations: n, Metrics: map[string]float64{}}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			res.Metrics[fields[i+1]] = v
		}
		out = append(out, res)
	}
	return out
}

// Report is what results.md and results.json hold.
type Report struct {
	Meta       map[string]string `json:"meta"`
	Authorizer []Pair            `json:"authorizer"`
	Routes     []Pair            `json:"routes"`
	ColdStart  []Pair            `json:"cold_start"`
	Scale      []Pair            `json:"scale"`
	Calls      []CallsRow        `json:"calls_per_route,omitempty"`
	Binaries   []BinaryRow       `json:"binaries,omitempty"`
	Benchmarks []Result          `json:"benchmarks"`
}

// Pair is a figure next to its baseline from the same run.
type Pair struct {
	Name     string             `json:"name"`
	Value    float64            `json:"value"`    // ns (or bytes) of the measured thing
	Baseline float64            `json:"baseline"` // the same for its baseline
	Ratio    float64            `json:"ratio"`
	Goal     float64            `json:"goal"`
	Met      bool               `json:"met"`
	Extra    map[string]float64 `json:"extra,omitempty"`
}

func pair(name string, value, baseline, goal float64, extra map[string]float64) Pair {
	p := Pair{Name: name, Value: value, Baseline: baseline, Goal: goal, Extra: extra}
	if baseline > 0 {
		p.Ratio = value / baseline
		p.Met = p.Ratio <= goal
	}
	return p
}

// CallsRow mirrors the bench package's calls.json.
type CallsRow struct {
	Function        string   `json:"function"`
	Route           string   `json:"route"`
	Measured        bool     `json:"measured"`
	Status          int      `json:"status,omitempty"`
	Calls           []string `json:"calls"`
	AuthorizerCalls int      `json:"authorizer_calls"`
	Note            string   `json:"note,omitempty"`
}

// BinaryRow mirrors the bench package's binaries.json.
type BinaryRow struct {
	Function      string `json:"function"`
	SizeBytes     int64  `json:"size_bytes"`
	HostSizeBytes int64  `json:"host_size_bytes"`
	Invocations   int    `json:"invocations"`
	Event         string `json:"event"`
	FunctionError string `json:"function_error,omitempty"`
	PeakRSSBytes  int64  `json:"peak_rss_bytes"`
}

// Build pairs the results and reads the report tables in dir.
func Build(results []Result, dir string) *Report {
	r := &Report{Benchmarks: results}
	by := map[string]Result{}
	for _, res := range results {
		by[res.Name] = res
	}
	for _, res := range results {
		group, rest, _ := strings.Cut(res.Name, "/")
		switch group {
		case "Authorizer":
			subject, ok := strings.CutSuffix(rest, "/authorizer")
			if !ok {
				continue
			}
			bare := by[group+"/"+subject+"/bare"]
			value, baseline := res.Metrics["ns/op"], bare.Metrics["ns/op"]
			// Timed in turns (/turns) when the run has it; older runs
			// timed the two apart.
			if turns, ok := by[group+"/"+subject+"/turns"]; ok {
				value, baseline = turns.Metrics["authorizer-ns/op"], turns.Metrics["bare-ns/op"]
			}
			p := pair(label(subject), value, baseline, goalAuthorizer, map[string]float64{
				"decisions_per_second": 1e9 / value, "allocs_per_op": res.Metrics["allocs/op"], "bare_allocs_per_op": bare.Metrics["allocs/op"],
			})
			r.Authorizer = append(r.Authorizer, p)
		case "Route":
			subject, ok := strings.CutSuffix(rest, "/handler")
			if !ok {
				continue
			}
			// The bare calls are measured in turns with the handler
			// (bare-p50-ns); older runs measured them apart (/bare).
			bare, ok := res.Metrics["bare-p50-ns"]
			if !ok {
				bare = by[group+"/"+subject+"/bare"].Metrics["p50-ns"]
			}
			r.Routes = append(r.Routes, pair(label(subject), res.Metrics["p50-ns"], bare, goalRoute, map[string]float64{"ddb_calls": res.Metrics["ddb-calls"]}))
		case "ColdStart":
			if strings.HasSuffix(rest, "=minimal") {
				continue
			}
			// The minimal Lambda starts in turns with each function
			// (minimal-ready-p50-ns); older runs started it apart.
			min, ok := res.Metrics["minimal-ready-p50-ns"]
			if !ok {
				min = by[group+"/function=minimal"].Metrics["ready-p50-ns"]
			}
			extra := map[string]float64{"init_ddb_requests": res.Metrics["init-ddb-requests"]}
			// The minimal Lambda with the DynamoDB client, started in
			// the same turns (client-ready-p50-ns), when the run has it.
			if client, ok := res.Metrics["client-ready-p50-ns"]; ok && client > 0 {
				extra["client_ready_ns"] = client
			}
			r.ColdStart = append(r.ColdStart, pair(label(rest), res.Metrics["ready-p50-ns"], min, goalColdStart, extra))
		case "ListPage":
			if sort, ok := strings.CutSuffix(rest, "/items=100000"); ok {
				small := by[group+"/"+sort+"/items=100"]
				r.Scale = append(r.Scale, pair("list page of 50, "+label(sort)+", 100,000 vs 100 items", res.Metrics["p50-ns"], small.Metrics["p50-ns"], goalScale,
					map[string]float64{"ddb_calls": res.Metrics["ddb-calls"]}))
			}
			if strings.HasPrefix(rest, "catalog/") {
				p := Pair{Name: "marketplace catalog, " + label(strings.TrimPrefix(rest, "catalog/")), Value: res.Metrics["p50-ns"], Goal: goalCatalog,
					Extra: map[string]float64{"ddb_calls": res.Metrics["ddb-calls"], "ddb_queries": res.Metrics["ddb-queries"]}}
				// The goal counts queries: the catalog's integrations and
				// the end-user's tenants, whatever their numbers. The
				// end-user's record (first and last seen) is one GetItem
				// more, shown in the calls column.
				p.Met = res.Metrics["ddb-queries"] <= goalCatalog
				r.Scale = append(r.Scale, p)
			}
		}
	}
	readJSON(filepath.Join(dir, "calls.json"), &r.Calls)
	readJSON(filepath.Join(dir, "binaries.json"), &r.Binaries)
	return r
}

func readJSON(path string, v any) {
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, v)
	}
}

// label turns a benchmark name part back into words.
func label(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if route, ok := strings.CutPrefix(s, "route="); ok {
		return route
	}
	for _, p := range []string{"credential=", "route=", "function=", "sort="} {
		s = strings.ReplaceAll(s, p, "")
	}
	return strings.ReplaceAll(s, "/", ", ")
}

func meta(benchtime string) map[string]string {
	m := map[string]string{
		"date":      time.Now().UTC().Format(time.RFC3339),
		"go":        runtime.Version(),
		"platform":  runtime.GOOS + "/" + runtime.GOARCH,
		"cpus":      strconv.Itoa(runtime.NumCPU()),
		"benchtime": benchtime,
	}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m["commit"] = strings.TrimSpace(string(b))
		if st, err := exec.Command("git", "status", "--porcelain").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			m["commit"] += " (with uncommitted changes)"
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m["cpu"] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

func mark(met bool) string {
	if met {
		return "yes"
	}
	return "**no**"
}

func us(ns float64) string { return strconv.FormatFloat(ns/1e3, 'f', 1, 64) }
func ms(ns float64) string { return strconv.FormatFloat(ns/1e6, 'f', 2, 64) }

// Markdown is the report as README tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	keys := make([]string, 0, len(r.Meta))
	for k := range r.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "# Benchmarks\n\nProduced by `make bench` (infra/bench); every ratio is against a baseline measured in the same run.\n\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, r.Meta[k])
	}

	fmt.Fprintf(&b, "\n## Authorizer: decisions per credential kind\n\nThe authorizer's Handle over an in-memory table, next to the bare verification of the same credential (jwt.Parse with the same key and rules; for an API key its parse, SHA-256 and comparison). Goal: ratio at most %.2f.\n\n", goalAuthorizer)
	fmt.Fprintf(&b, "| credential | authorizer µs | decisions/s | allocs | bare µs | bare allocs | ratio | goal met |\n|---|--:|--:|--:|--:|--:|--:|:-:|\n")
	for _, p := range r.Authorizer {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %s | %.0f | %.2f | %s |\n", p.Name, us(p.Value), p.Extra["decisions_per_second"], p.Extra["allocs_per_op"], us(p.Baseline), p.Extra["bare_allocs_per_op"], p.Ratio, mark(p.Met))
	}

	fmt.Fprintf(&b, "\n## Request path: handler next to its bare DynamoDB calls (DynamoDB Local, medians)\n\nEach route's handler through the API Gateway V2 adapter, and the DynamoDB calls one request of it makes replayed with the bare SDK client (a write's keys made fresh). Goal: ratio at most %.2f.\n\n", goalRoute)
	fmt.Fprintf(&b, "| route | handler ms | bare ms | ratio | DynamoDB calls | goal met |\n|---|--:|--:|--:|--:|:-:|\n")
	for _, p := range r.Routes {
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.0f | %s |\n", p.Name, ms(p.Value), ms(p.Baseline), p.Ratio, p.Extra["ddb_calls"], mark(p.Met))
	}

	if len(r.Calls) > 0 {
		fmt.Fprintf(&b, "\n## DynamoDB calls per route\n\nCounted by SDK middleware on an accepted request of every route (through the gateway, on DynamoDB Local). Goal: a read route one call, a write route one call (one transaction), the authorizer at most one.\n\n")
		fmt.Fprintf(&b, "| function | route | calls | function's calls | authorizer | goal met |\n|---|---|--:|---|--:|:-:|\n")
		for _, c := range r.Calls {
			if !c.Measured {
				fmt.Fprintf(&b, "| %s | %s | – | not measured: %s | – | – |\n", c.Function, c.Route, strings.ReplaceAll(c.Note, "|", "/"))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %s |\n", c.Function, c.Route, len(c.Calls), strings.Join(c.Calls, " + "), c.AuthorizerCalls, mark(len(c.Calls) <= 1 && c.AuthorizerCalls <= 1))
		}
	}

	fmt.Fprintf(&b, "\n## Cold start\n\nExec of each compiled `bootstrap` (deploy flags, built for this machine) to its first request for an invocation under the Lambda Runtime API harness, next to a minimal Go Lambda built the same way, and to that minimal Lambda linking and constructing the DynamoDB client and nothing of the hub (`dynamodb-client`: the SDK's share), all three in turns. Goal: ratio to the minimal Lambda at most %.2f, and no DynamoDB request before the first invocation.\n\n", goalColdStart)
	fmt.Fprintf(&b, "| function | ready ms | minimal ms | ratio | DynamoDB client alone ms | its ratio | function / client alone | DynamoDB requests at init | goal met |\n|---|--:|--:|--:|--:|--:|--:|--:|:-:|\n")
	for _, p := range r.ColdStart {
		client, clientRatio, over := "–", "–", "–"
		if c := p.Extra["client_ready_ns"]; c > 0 && p.Baseline > 0 {
			client, clientRatio, over = ms(c), strconv.FormatFloat(c/p.Baseline, 'f', 2, 64), strconv.FormatFloat(p.Value/c, 'f', 2, 64)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s | %s | %s | %.0f | %s |\n", p.Name, ms(p.Value), ms(p.Baseline), p.Ratio, client, clientRatio, over, p.Extra["init_ddb_requests"], mark(p.Met && p.Extra["init_ddb_requests"] == 0))
	}

	if len(r.Binaries) > 0 {
		fmt.Fprintf(&b, "\n## Binary sizes and memory\n\nSizes of the linux/arm64 `bootstrap` as deployed (`-tags lambda.norpc -trimpath -ldflags \"-s -w\"`); peak resident memory of the process over %d invocations with the event shown. Goal: at most %.0f MiB, so every function runs at 128 MB.\n\n", r.Binaries[0].Invocations, goalMemoryMiB)
		fmt.Fprintf(&b, "| function | size KiB (arm64) | peak RSS MiB | event | goal met |\n|---|--:|--:|---|:-:|\n")
		for _, bin := range r.Binaries {
			rss := float64(bin.PeakRSSBytes) / (1 << 20)
			fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %s |\n", bin.Function, bin.SizeBytes/1024, rss, bin.Event, mark(rss <= goalMemoryMiB))
		}
	}

	fmt.Fprintf(&b, "\n## Scale\n\nA page of 50 users of an organization with 100,000 users next to one with 100 (the users function's handler, DynamoDB Local, medians); goal: ratio at most %.2f. The marketplace catalog of an organization with 1,000 integrations for an end-user with 100 tenants; goal: %d queries.\n\n", goalScale, goalCatalog)
	fmt.Fprintf(&b, "| measure | ms | baseline ms | ratio | DynamoDB calls | of them queries | goal met |\n|---|--:|--:|--:|--:|--:|:-:|\n")
	for _, p := range r.Scale {
		base, ratio, queries := "–", "–", "–"
		if p.Baseline > 0 {
			base, ratio = ms(p.Baseline), strconv.FormatFloat(p.Ratio, 'f', 2, 64)
		}
		if q, ok := p.Extra["ddb_queries"]; ok {
			queries = strconv.FormatFloat(q, 'f', 0, 64)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f | %s | %s |\n", p.Name, ms(p.Value), base, ratio, p.Extra["ddb_calls"], queries, mark(p.Met))
	}
	return b.String()
}
