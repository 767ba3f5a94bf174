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
	// Late is the share of requests the network holds and delivers
	// LateDelay after they were sent, whether or not the caller still
	// waits: a caller that gave up meanwhile saw a timeout, the service
	// handles the request in full and its answer goes nowhere. With no
	// LateDelay a late request arrives LateMargin after the caller's
	// deadline: the caller has given up.
	Late      float64       `json:"late,omitempty"`
	LateDelay time.Duration `json:"late_delay,omitempty"`
	// Duplicate is the share of requests the network delivers twice, as a
	// retransmit would: the caller gets the first copy's answer, the second
	// copy arrives DuplicateDelay after the first was sent (at once when
	// zero) and its answer goes nowhere.
	Duplicate      float64       `json:"duplicate,omitempty"`
	DuplicateDelay time.Duration `json:"duplicate_delay,omitempty"`
	// Reorder is the share of requests the network holds back until the
	// next request sent over the link has been answered, so that it
	// overtakes them; a held request goes on after ReorderHold
	// (DefaultReorderHold when zero) if no other request comes. The caller
	// waits for it as for latency.
	Reorder     float64       `json:"reorder,omitempty"`
	ReorderHold time.Duration `json:"reorder_hold,omitempty"`
}

// LateMargin is how long after its caller's deadline a late request
// (LinkFaults.Late without a LateDelay) arrives, and how long after it was
// sent when the caller set no deadline.
const LateMargin = 100 * time.Millisecond

// DefaultReorderHold bounds how long a reordered request waits for another
// to overtake it.
const DefaultReorderHold = 100 * time.Millisecond

// LateAt is when a late request sent at sent, by a caller whose deadline
// is deadline (ok false: none), arrives under f.
func (f LinkFaults) LateAt(sent, deadline time.Time, ok bool) time.Time {
	switch {
	case f.LateDelay > 0:
		return sent.Add(f.LateDelay)
	case ok && deadline.After(sent):
		return deadline.Add(LateMargin)
	}
	return sent.Add(LateMargin)
}

// Hold is how long a reordered request waits at most to be overtaken.
func (f LinkFaults) Hold() time.Duration {
	if f.ReorderHold > 0 {
		return f.ReorderHold
	}
	return DefaultReorderHold
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
	// CommitCrash is the probability that the node crashes at one of its
	// commits once its service has started: just before it (the
	// transaction is rolled back) or just after it (the work is kept, the
	// code that committed never goes on), each half the time. Every write
	// transaction counts, an autocommitted statement included.
	CommitCrash float64 `json:"commit_crash,omitempty"`
}

// Zero reports whether f does nothing.
func (f NodeFaults) Zero() bool {
	return f.CrashRate == 0 && len(f.CrashPoints) == 0 && f.ErrorRate == 0 && f.CommitCrash == 0
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
	case !isRate(f.Late):
		return fmt.Errorf("late %v is not between 0 and 1", f.Late)
	case !isRate(f.Duplicate):
		return fmt.Errorf("duplicate %v is not between 0 and 1", f.Duplicate)
	case !isRate(f.Reorder):
		return fmt.Errorf("reorder %v is not between 0 and 1", f.Reorder)
	case f.LateDelay < 0:
		return fmt.Errorf("late_delay %v is negative", f.LateDelay)
	case f.DuplicateDelay < 0:
		return fmt.Errorf("duplicate_delay %v is negative", f.DuplicateDelay)
	case f.ReorderHold < 0:
		return fmt.Errorf("reorder_hold %v is negative", f.ReorderHold)
	}
	return nil
}

// isRate reports whether r is a probability (NaN is not).
func isRate(r float64) bool { return r >= 0 && r <= 1 }

// Validate names the first rate or duration out of range.
func (f NodeFaults) Validate() error {
	switch {
	case !(f.CrashRate >= 0 && f.CrashRate <= 1): // NaN too
		return fmt.Errorf("crash_rate %v is not between 0 and 1", f.CrashRate)
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return fmt.Errorf("error_rate %v is not between 0 and 1", f.ErrorRate)
	case f.Downtime < 0:
		return fmt.Errorf("downtime %v is negative", f.Downtime)
	case !isRate(f.CommitCrash):
		return fmt.Errorf("commit_crash %v is not between 0 and 1", f.CommitCrash)
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
	// Site names the place the fault landed (see RequestSite, VisitSite,
	// CommitSite): "request 2 of o000007 on orders->payments", "commit 12
	// of rewards". A crash the nemesis ordered and a restart have none.
	Site string `json:"site,omitempty"`
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

// Site faults a link can do to one request besides dropping, losing and
// delaying it: see LinkFaults.Late, Duplicate and Reorder.
const (
	SiteClean     = ""
	SiteLate      = "late"
	SiteDuplicate = "duplicate"
	SiteReorder   = "reorder"
)

// SiteFault decides what f's late, duplicate and reorder rates do to the
// request at site (RequestSite) in a run seeded by seed: SiteLate,
// SiteDuplicate, SiteReorder or SiteClean. Each is decided by
// Chance(seed, fault, site), so that a request's fate depends on its site
// alone, whatever else the run drew; a late request is neither duplicated
// nor reordered, a duplicated one is not reordered. Both runtimes decide
// with it.
func (f LinkFaults) SiteFault(seed int64, site string) string {
	for _, x := range []struct {
		name string
		rate float64
	}{{SiteLate, f.Late}, {SiteDuplicate, f.Duplicate}, {SiteReorder, f.Reorder}} {
		if x.rate > 0 && Chance(seed, x.name, site) < x.rate {
			return x.name
		}
	}
	return SiteClean
}

// CommitFault decides what f's CommitCrash does to the commit at site
// (CommitSite) in a run seeded by seed: whether the node crashes there,
// and if so whether before the commit or after it, each decided by
// Chance(seed, "crash-commit", site).
func (f NodeFaults) CommitFault(seed int64, site string) (crash, before bool) {
	if f.CommitCrash <= 0 {
		return false, false
	}
	if Chance(seed, "crash-commit", site) >= f.CommitCrash {
		return false, false
	}
	return true, Chance(seed, "crash-commit-side", site) < 0.5
}
