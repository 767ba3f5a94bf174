package sim

import (
	"strconv"
	"time"
)

// Fault sites. A site is a named place in a run where a fault can land; a
// runtime names every site it passes the same way, so that a decision
// taken at a site in one run is taken at the same place in another:
//
//	request K of ORDER on FROM->TO       the K-th request about ORDER (its OrderHeader) sent over the link
//	copy of request ...                  the second copy of a duplicated request, as its target receives it
//	visit M of POINT at NODE for ORDER   the M-th time NODE's code reached crash point POINT handling a request about ORDER
//	commit N of NODE for ORDER           the N-th commit of NODE (once its service has started) handling a request about ORDER
//
// and, for work about no order (a broker poll, a relay's or a consumer's
// own transactions, recovery), the same without "of ORDER" or "for
// ORDER": request K on FROM->TO, visit M of POINT at NODE, commit N of
// NODE. Sites are numbered per order, so that what happens to one order
// does not renumber the sites of another; work about no order is
// numbered per link, point and node.

// RequestSite names the k-th request (from 1) about order sent over link
// l, or the k-th about no order when order is "".
func RequestSite(l Link, order string, k uint64) string {
	if order == "" {
		return "request " + strconv.FormatUint(k, 10) + " on " + l.String()
	}
	return "request " + strconv.FormatUint(k, 10) + " of " + order + " on " + l.String()
}

// CopySite names the second copy of the request at site, as its target
// receives it.
func CopySite(site string) string { return "copy of " + site }

// VisitSite names the m-th visit (from 1) of node's code to crash point
// point while handling a request about order ("": about none).
func VisitSite(node, point, order string, m uint64) string {
	return "visit " + strconv.FormatUint(m, 10) + " of " + point + " at " + node + siteOrder(order)
}

// CommitSite names the k-th commit (from 1) of node while handling a
// request about order ("": about none).
func CommitSite(node, order string, k uint64) string {
	return "commit " + strconv.FormatUint(k, 10) + " of " + node + siteOrder(order)
}

func siteOrder(order string) string {
	if order == "" {
		return ""
	}
	return " for " + order
}

// Slot is what is decided at a site: a request site has three (how the
// network carries it, its injected latency, what its target does), a
// visit and a commit one each. A site holds at most one decision per
// slot.
type Slot string

// Slots.
const (
	// SlotNet is how the network carries a request: drop-request,
	// lost-response, late, duplicate or reorder.
	SlotNet Slot = "net"
	// SlotDelay is a request's injected latency.
	SlotDelay Slot = "delay"
	// SlotServe is what a request's target does with it: error, or crash
	// before or after handling it.
	SlotServe Slot = "serve"
	// SlotVisit is a crash point reached: crashpoint.
	SlotVisit Slot = "visit"
	// SlotCommit is a commit: crash-commit, before or after it.
	SlotCommit Slot = "commit"
)

// The faults decided at sites, by the names fault profiles give them.
const (
	FaultDropRequest  = "drop-request"
	FaultLostResponse = "lost-response"
	FaultLate         = SiteLate
	FaultDuplicate    = SiteDuplicate
	FaultReorder      = SiteReorder
	FaultLatency      = "latency"
	FaultError        = "error"
	FaultCrash        = "crash"
	FaultCrashPoint   = "crashpoint"
	FaultCrashCommit  = "crash-commit"
)

// SlotOf is the slot a site fault is decided in; ok is false for a name
// that is not a site fault.
func SlotOf(fault string) (s Slot, ok bool) {
	switch fault {
	case FaultDropRequest, FaultLostResponse, FaultLate, FaultDuplicate, FaultReorder:
		return SlotNet, true
	case FaultLatency:
		return SlotDelay, true
	case FaultError, FaultCrash:
		return SlotServe, true
	case FaultCrashPoint:
		return SlotVisit, true
	case FaultCrashCommit:
		return SlotCommit, true
	}
	return "", false
}

// Decision is one fault decided at a site: a line of a schedule, or a
// fault a runtime applied there.
type Decision struct {
	Site  string `json:"site"`
	Fault string `json:"fault"`
	// After is, for crash and crash-commit, a crash after the request was
	// handled (after the commit took effect) rather than before.
	After bool `json:"after,omitempty"`
	// Delay is latency's delay; late's and duplicate's delay and
	// reorder's hold, where zero means the default (see LinkFaults).
	Delay time.Duration `json:"delay,omitempty"`
	// At and Detail describe a decision a runtime took: when, since its
	// epoch, and the request ("POST /resources") or point. A runtime
	// applying a decision ignores them.
	At     time.Duration `json:"at,omitempty"`
	Detail string        `json:"detail,omitempty"`
}

// Slot is the slot d is decided in.
func (d Decision) Slot() Slot {
	s, _ := SlotOf(d.Fault)
	return s
}

// Pass is a site a run passed and the slot it asked for a decision at.
type Pass struct {
	Site string `json:"site"`
	Slot Slot   `json:"slot"`
	// Idle is a pass that did no work: a request about no order whose
	// handling changed no database (a poll that found nothing) or that
	// its target refused, a commit that changed no row. A fault there
	// interrupts nothing; it can only delay its caller or take a node
	// down at a moment when it was doing nothing.
	Idle bool `json:"idle,omitempty"`
}
