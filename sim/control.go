package sim

import (
	"context"
	"fmt"
	"time"
)

// LinkFaults is what a link does to each request crossing it. Every rate is
// a per-request probability, decided by the runtime's seeded source when the
// request is sent — never per connection.
type LinkFaults struct {
	// Down makes the link a black hole: requests are dropped and time out,
	// as in a partition.
	Down bool `json:"down,omitempty"`
	// DropRequest is the share of requests that never reach the service.
	DropRequest float64 `json:"drop_request,omitempty"`
	// LostResponse is the share of requests the service handles whose answer
	// never reaches the caller.
	LostResponse float64 `json:"lost_response,omitempty"`
	// Latency delays every request by Latency ± Jitter.
	Latency time.Duration `json:"latency,omitempty"`
	Jitter  time.Duration `json:"jitter,omitempty"`
}

// Zero reports whether f does nothing.
func (f LinkFaults) Zero() bool { return f == LinkFaults{} }

// NodeFaults is what a node does to itself.
type NodeFaults struct {
	// CrashRate is the per-request probability that the node crashes while
	// handling a request: before or after acting, chosen at random.
	CrashRate float64 `json:"crash_rate,omitempty"`
	// Downtime is how long a crashed node stays down before it restarts.
	Downtime time.Duration `json:"downtime,omitempty"`
	// CrashPoints maps a named crash point to the probability that the node
	// crashes when its code reaches it.
	CrashPoints map[string]float64 `json:"crash_points,omitempty"`
	// ErrorRate is the per-request probability of a transient 503 answered
	// before the service acts.
	ErrorRate float64 `json:"error_rate,omitempty"`
}

// Zero reports whether f does nothing.
func (f NodeFaults) Zero() bool {
	return f.CrashRate == 0 && len(f.CrashPoints) == 0 && f.ErrorRate == 0
}

// Validate names the first rate or duration out of range.
func (f LinkFaults) Validate() error {
	switch {
	case !(f.DropRequest >= 0 && f.DropRequest <= 1): // NaN too
		return fmt.Errorf("drop_request %v is not between 0 and 1", f.DropRequest)
	case !(f.LostResponse >= 0 && f.LostResponse <= 1):
		return fmt.Errorf("lost_response %v is not between 0 and 1", f.LostResponse)
	case f.DropRequest+f.LostResponse > 1:
		return fmt.Errorf("drop_request + lost_response is %v, more than 1", f.DropRequest+f.LostResponse)
	case f.Latency < 0:
		return fmt.Errorf("latency %v is negative", f.Latency)
	case f.Jitter < 0:
		return fmt.Errorf("jitter %v is negative", f.Jitter)
	}
	return nil
}

// Validate names the first rate or duration out of range.
func (f NodeFaults) Validate() error {
	switch {
	case !(f.CrashRate >= 0 && f.CrashRate <= 1): // NaN too
		return fmt.Errorf("crash_rate %v is not between 0 and 1", f.CrashRate)
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return fmt.Errorf("error_rate %v is not between 0 and 1", f.ErrorRate)
	case f.Downtime < 0:
		return fmt.Errorf("downtime %v is negative", f.Downtime)
	}
	for p, v := range f.CrashPoints {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("crash_points[%q] %v is not between 0 and 1", p, v)
		}
	}
	return nil
}

// Clone is f with a crash-point map of its own, so that a runtime can keep
// f while the caller changes its map.
func (f NodeFaults) Clone() NodeFaults {
	if f.CrashPoints != nil {
		points := make(map[string]float64, len(f.CrashPoints))
		for p, v := range f.CrashPoints {
			points[p] = v
		}
		f.CrashPoints = points
	}
	return f
}

// Applied is one fault as it actually happened, recorded by the runtime.
type Applied struct {
	// At is the runtime clock's time since the runtime started (its
	// Epoch); a scenario's result counts it from the run's start, as its
	// history.
	At time.Duration `json:"at"`
	// Fault names what happened: drop-request, lost-response, latency,
	// partition, crash, crash-point, restart, error.
	Fault string `json:"fault"`
	// Target is the link ("orders->payments") or node it hit.
	Target string `json:"target"`
	// Detail is the request ("POST /resources") or crash point.
	Detail string `json:"detail,omitempty"`
	// Order is the order the request it hit worked for (its OrderHeader);
	// empty for a request that names none (a broker poll), a crash point
	// and a crash the nemesis ordered.
	Order string `json:"order,omitempty"`
}

// Controller is what a nemesis can do to a running world. A runtime
// implements it.
type Controller interface {
	// SetLinkFaults replaces the faults on link.
	SetLinkFaults(l Link, f LinkFaults) error
	// SetNodeFaults replaces the faults of a node.
	SetNodeFaults(node string, f NodeFaults) error
	// Crash stops node hard now; it restarts after downtime (never, if
	// downtime is zero, until Restart or Heal).
	Crash(node string, downtime time.Duration) error
	// Restart starts a crashed node again on its own files.
	Restart(ctx context.Context, node string) error
	// Heal removes every fault and restarts every crashed node.
	Heal(ctx context.Context) error
	// Applied returns every fault that has happened so far, in order.
	Applied() []Applied
}
