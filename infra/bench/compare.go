package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Noise is, by section, how much worse a ratio, a peak memory or a size
// may be in a later run before Compare calls it a regression: what the same
// figure moved by between runs of one commit on this 2-core machine (cold
// start 1.45-1.75, a list page at scale 0.85-1.19, the authorizer's
// in-memory decisions a few percent).
var Noise = map[string]float64{
	"authorizer":   0.10,
	"request path": 0.15,
	"cold start":   0.20,
	"scale":        0.30,
	"memory":       0.10,
	"binary size":  0.05,
}

// Change is one figure in two runs.
type Change struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Unit    string  `json:"unit"` // what Old and New count: "ratio", "calls", "queries", "MiB", "KiB"
	Old     float64 `json:"old"`
	New     float64 `json:"new"`
	// OldMet and NewMet: the figure met its goal in each run.
	OldMet bool `json:"old_met"`
	NewMet bool `json:"new_met"`
	// Status is "regression" (a goal no longer met, a count that grew, or
	// a ratio, memory or size worse by more than Noise), "improvement"
	// (the reverse), "same", "added" or "removed".
	Status string `json:"status"`
}

// figure is one comparable figure of a report.
type figure struct {
	unit  string
	value float64
	met   bool
	// exact: any increase is a regression (a count); otherwise only one
	// beyond the section's Noise.
	exact bool
}

// figures lists every comparable figure of r by section and name.
func figures(r *Report) map[[2]string]figure {
	out := map[[2]string]figure{}
	for section, pairs := range map[string][]Pair{"authorizer": r.Authorizer, "request path": r.Routes, "cold start": r.ColdStart, "scale": r.Scale} {
		for _, p := range pairs {
			if q, ok := p.Extra["ddb_queries"]; ok && p.Baseline == 0 {
				out[[2]string{section, p.Name}] = figure{unit: "queries", value: q, met: p.Met, exact: true}
				continue
			}
			out[[2]string{section, p.Name}] = figure{unit: "ratio", value: p.Ratio, met: p.Met}
		}
	}
	for _, c := range r.Calls {
		if !c.Measured {
			continue
		}
		n := float64(len(c.Calls) + c.AuthorizerCalls)
		out[[2]string{"DynamoDB calls", c.Function + " " + c.Route}] = figure{unit: "calls", value: n, met: len(c.Calls) <= 1 && c.AuthorizerCalls <= 1, exact: true}
	}
	for _, b := range r.Binaries {
		rss := float64(b.PeakRSSBytes) / (1 << 20)
		out[[2]string{"memory", b.Function}] = figure{unit: "MiB", value: rss, met: rss <= goalMemoryMiB}
		out[[2]string{"binary size", b.Function}] = figure{unit: "KiB", value: float64(b.SizeBytes / 1024), met: true}
	}
	return out
}

// Compare sets every figure of a later run (new) beside the same figure of
// an earlier one (old), regressions first.
func Compare(old, new *Report) []Change {
	before, after := figures(old), figures(new)
	var out []Change
	for k, a := range after {
		c := Change{Section: k[0], Name: k[1], Unit: a.unit, New: a.value, NewMet: a.met, Status: "added"}
		if b, ok := before[k]; ok {
			c.Old, c.OldMet, c.Status = b.value, b.met, judge(b, a, Noise[k[0]])
		}
		out = append(out, c)
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out = append(out, Change{Section: k[0], Name: k[1], Unit: b.unit, Old: b.value, OldMet: b.met, Status: "removed"})
		}
	}
	rank := map[string]int{"regression": 0, "improvement": 1, "added": 2, "removed": 3, "same": 4}
	sort.Slice(out, func(i, j int) bool {
		if rank[out[i].Status] != rank[out[j].Status] {
			return rank[out[i].Status] < rank[out[j].Status]
		}
		if out[i].Section != out[j].Section {
			return out[i].Section < out[j].Section
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func judge(old, new figure, noise float64) string {
	switch {
	case old.met && !new.met:
		return "regression"
	case !old.met && new.met:
		return "improvement"
	}
	margin := noise * old.value
	if new.exact {
		margin = 0
	}
	switch {
	case new.value > old.value+margin:
		return "regression"
	case new.value < old.value-margin:
		return "improvement"
	}
	return "same"
}

// Regressions counts the changes that are regressions.
func Regressions(changes []Change) int {
	n := 0
	for _, c := range changes {
		if c.Status == "regression" {
			n++
		}
	}
	return n
}

// ChangesMarkdown is the comparison as a table; figures that stayed the
// same are counted, not listed.
func ChangesMarkdown(changes []Change, oldName, newName string) string {
	var b strings.Builder
	same := 0
	sections := make([]string, 0, len(Noise))
	for s := range Noise {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	var noise []string
	for _, s := range sections {
		noise = append(noise, fmt.Sprintf("%s %.0f%%", s, Noise[s]*100))
	}
	fmt.Fprintf(&b, "# Benchmarks compared\n\n%s (before) and %s (after). A ratio, peak memory or size counts as changed beyond what the same figure moves between runs (%s); a count of calls or queries, and a goal met or missed, on any change.\n\n", oldName, newName, strings.Join(noise, ", "))
	fmt.Fprintf(&b, "| status | section | figure | unit | before | after | goal met before → after |\n|---|---|---|---|--:|--:|:-:|\n")
	for _, c := range changes {
		if c.Status == "same" {
			same++
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s → %s |\n", c.Status, c.Section, c.Name, c.Unit, number(c.Old, c.Status == "added"), number(c.New, c.Status == "removed"), metWord(c.OldMet, c.Status == "added"), metWord(c.NewMet, c.Status == "removed"))
	}
	fmt.Fprintf(&b, "\n%d regressions; %d figures the same.\n", Regressions(changes), same)
	return b.String()
}

func number(v float64, absent bool) string {
	if absent {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func metWord(met, absent bool) string {
	switch {
	case absent:
		return "–"
	case met:
		return "yes"
	}
	return "no"
}

// LoadReport reads a results.json.
func LoadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
