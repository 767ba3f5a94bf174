package scenarios

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/sim"
)

// Metrics are the run's figures that do not depend on the host: counts of
// outcomes and faults. Timings of a live run depend on the machine and sit
// under the record's host key; a det run's are virtual and sit beside
// these in the record's metrics.
type Metrics struct {
	Checkouts    int     `json:"checkouts"`
	Attempts     int     `json:"attempts"`
	Confirmed    int     `json:"confirmed"`
	Rejected     int     `json:"rejected"`
	Unknown      int     `json:"unknown"`
	Availability float64 `json:"availability"`
	Converged    bool    `json:"converged"`
	Faults       int     `json:"faults_applied"`
}

// FaultsApplied is the record of what the nemesis and the runtime did.
type FaultsApplied struct {
	Profile string `json:"profile"`
	// Counts tallies applied faults by "fault target", e.g.
	// "lost-response orders->payments".
	Counts map[string]int `json:"counts"`
	Steps  []faults.Step  `json:"steps"`
	// Events is every fault applied; a record keeps them in a file of
	// their own (results.Files.Faults), records before version 4 here.
	Events []sim.Applied `json:"events,omitempty"`
}

// Faults summarises what was applied.
func (r *Result) Faults() FaultsApplied {
	fa := FaultsApplied{Profile: r.Config.Faults, Counts: map[string]int{}, Steps: r.Steps, Events: r.Applied}
	for _, a := range r.Applied {
		fa.Counts[a.Fault+" "+a.Target]++
	}
	if fa.Steps == nil {
		fa.Steps = []faults.Step{}
	}
	return fa
}

// Metrics are the host-independent figures of the run.
func (r *Result) Metrics() Metrics {
	m := r.Report.Metrics
	return Metrics{
		Checkouts: m.Checkouts, Attempts: m.Attempts, Confirmed: m.Confirmed,
		Rejected: m.Rejected, Unknown: m.Unknown, Availability: m.Availability,
		Converged: r.Converged, Faults: len(r.Applied),
	}
}

// Timings are the run's figures on the runtime's clock, in milliseconds
// and per second. The live runtime's clock is the wall clock slowed down by
// the run's Slowness (1 on a machine fast enough).
func (r *Result) Timings() map[string]float64 {
	m := r.Report.Metrics
	return map[string]float64{
		"latency_p50_ms":   float64(m.LatencyP50.Microseconds()) / 1000,
		"latency_p99_ms":   float64(m.LatencyP99.Microseconds()) / 1000,
		"throughput_per_s": m.Throughput,
		"converge_ms":      float64(r.Converge.Microseconds()) / 1000,
		"duration_s":       r.Duration.Seconds(),
	}
}

// Record is the result's record: the summary a person opens — the
// configuration, the faults applied (counted, and the nemesis's steps),
// the verdict, the findings with their witnesses, the metrics, the sites
// a det run passed. The history, each fault applied, a det run's schedule
// and the final state are not in it: WriteRecord stores them beside it.
func (r *Result) Record() (*results.Record, error) {
	anomalies := map[string]int{}
	for _, c := range checker.Classes {
		anomalies[string(c)] = r.Report.Anomalies[c].Count
	}
	rec := &results.Record{
		SchemaVersion: results.SchemaVersion,
		Tool:          "txchaos",
		Scenario:      r.Config.Scenario,
		Pattern:       r.Config.Pattern,
		Runtime:       r.Config.Runtime,
		Seed:          r.Config.Seed,
		Anomalies:     anomalies,
		Verdict:       string(r.Report.Verdict),
		VerdictReason: r.Report.Reason,
		Evidence:      r.Evidence,
		Host:          results.NewHost(r.Started),
	}
	if r.Config.Runtime == results.RuntimeDet {
		rec.Schedule = r.scheduleRecord()
	}
	var metrics any = r.Metrics()
	if r.Config.Runtime == results.RuntimeDet {
		// Virtual time is part of the run: its timings are metrics, the
		// same on every replay.
		m, err := detMetrics(r.Metrics(), r.Timings())
		if err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
		metrics = m
	} else {
		rec.Host.Extra = r.Timings()
		rec.Host.Extra["slowness"] = r.Slowness
	}
	fa := r.Faults()
	fa.Events = nil
	for _, f := range []struct {
		dst *json.RawMessage
		v   any
	}{
		{&rec.Config, r.Config},
		{&rec.FaultsApplied, fa},
		{&rec.Metrics, metrics},
		{&rec.Findings, r.Report.Anomalies},
		{&rec.Reads, r.Report.Reads},
	} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
		*f.dst = b
	}
	return rec, nil
}

// scheduleRecord is what the record says of the run's sites; its faults
// are in a file beside it (WriteRecord).
func (r *Result) scheduleRecord() *results.Schedule {
	rs := &results.Schedule{Sites: map[string]int{}}
	i := 0
	for p := range r.Passes.All() {
		if i++; i > r.healedAt {
			break
		}
		if p.Idle {
			rs.Idle++
		}
		if f := siteFamily(p); f != "" {
			rs.Sites[f]++
		}
	}
	return rs
}

// siteFamily is the family a pass's site is counted in, or "" for a pass
// that is not counted (a request site's serve pass: the site is counted
// once, at its net pass).
func siteFamily(p sim.Pass) string {
	w := strings.Fields(p.Site)
	switch {
	case p.Slot == sim.SlotNet && len(w) > 0:
		return "requests on " + w[len(w)-1]
	case p.Slot == sim.SlotServe && len(w) > 1 && w[0] == "copy":
		return "copies on " + w[len(w)-1]
	case p.Slot == sim.SlotVisit && len(w) >= 6: // visit M of POINT at NODE [for ORDER]
		return "visits of " + w[3] + " at " + w[5]
	case p.Slot == sim.SlotCommit && len(w) >= 4: // commit N of NODE [for ORDER]
		return "commits of " + w[3]
	}
	return ""
}

// detMetrics is m with a det run's timings beside its fields.
func detMetrics(m Metrics, timings map[string]float64) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	for k, v := range timings {
		out[k] = v
	}
	return out, nil
}

// FaultCounts lists applied-fault tallies sorted by name, for display.
func (fa FaultsApplied) FaultCounts() []string {
	var out []string
	for k, v := range fa.Counts {
		out = append(out, fmt.Sprintf("%s ×%d", k, v))
	}
	sort.Strings(out)
	return out
}
