package checker

import (
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Metrics are the client-side figures of a run, from its history.
//
// Durations are integer nanoseconds in JSON, as everywhere in this
// package; Metrics' JSON also carries each one in milliseconds under the
// same name with an _ms suffix, for people (it is ignored when read back).
type Metrics struct {
	// Ops counts every operation of the history.
	Ops int `json:"ops"`
	// Attempts counts checkout attempts, retries included.
	Attempts int `json:"attempts"`
	// Checkouts counts distinct checkout keys; each is counted once in
	// Confirmed, Rejected, Pending or Unknown by the outcome of its last
	// attempt (highest Attempt, then latest Call).
	Checkouts int `json:"checkouts"`
	// Confirmed: the last attempt was answered ok, order confirmed (or ok
	// with no state).
	Confirmed int `json:"confirmed"`
	// Rejected: the last attempt was rejected, or answered ok with the
	// order failed.
	Rejected int `json:"rejected"`
	// Pending: the last attempt was answered ok with the order in another
	// state (accepted, still in progress).
	Pending int `json:"pending"`
	// Unknown: the last attempt's outcome is unknown.
	Unknown int `json:"unknown"`
	// Availability is the share of checkout attempts answered definitively
	// (ok or rejected); 0 when there were none.
	Availability float64 `json:"availability"`
	// LatencyP50 and LatencyP99 are nearest-rank percentiles of Return -
	// Call over checkout attempts answered definitively.
	LatencyP50 time.Duration `json:"latency_p50"`
	LatencyP99 time.Duration `json:"latency_p99"`
	// Duration is the span of the history: the last Return minus the
	// first Call.
	Duration time.Duration `json:"duration"`
	// Throughput is definitive checkout attempts per second of Duration.
	Throughput float64 `json:"throughput"`
}

// MarshalJSON adds the _ms fields to m's JSON.
func (m Metrics) MarshalJSON() ([]byte, error) {
	type plain Metrics
	return json.Marshal(struct {
		plain
		LatencyP50Ms float64 `json:"latency_p50_ms"`
		LatencyP99Ms float64 `json:"latency_p99_ms"`
		DurationMs   float64 `json:"duration_ms"`
	}{plain(m), ms(m.LatencyP50), ms(m.LatencyP99), ms(m.Duration)})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// metrics computes the Metrics of a history.
func metrics(h []Op) Metrics {
	var m Metrics
	m.Ops = len(h)
	if len(h) == 0 {
		return m
	}
	first, last := h[0].Call, h[0].Return
	last1 := map[string]int{} // key → its last attempt, in h
	var keys []string
	var lat []time.Duration
	for i := range h {
		op := &h[i]
		first = min(first, op.Call)
		last = max(last, op.Return)
		if op.Kind != KindCheckout {
			continue
		}
		m.Attempts++
		if op.Outcome.Definitive() {
			lat = append(lat, op.Return-op.Call)
		}
		j, seen := last1[op.Key]
		if !seen {
			keys = append(keys, op.Key)
		}
		if prev := &h[j]; !seen || op.Attempt > prev.Attempt || op.Attempt == prev.Attempt && op.Call > prev.Call {
			last1[op.Key] = i
		}
	}
	m.Checkouts = len(keys)
	for _, k := range keys {
		op := &h[last1[k]]
		switch {
		case op.Outcome == OutcomeRejected, op.Outcome == OutcomeOK && op.State == sim.OrderFailed:
			m.Rejected++
		case op.Outcome == OutcomeOK && (op.State == sim.OrderConfirmed || op.State == ""):
			m.Confirmed++
		case op.Outcome == OutcomeOK:
			m.Pending++
		default:
			m.Unknown++
		}
	}
	if m.Attempts > 0 {
		m.Availability = float64(len(lat)) / float64(m.Attempts)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	m.LatencyP50 = percentile(lat, 0.50)
	m.LatencyP99 = percentile(lat, 0.99)
	m.Duration = last - first
	if m.Duration > 0 {
		m.Throughput = float64(len(lat)) / m.Duration.Seconds()
	}
	return m
}

// percentile is the nearest-rank p-th percentile of sorted; 0 if empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
