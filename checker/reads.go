package checker

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReadModel is a consistency model for the reads of orders (GET
// /orders/{key}) and of rewards balances: what a pattern promises its
// readers, and what Check finds they got. The models nest, strongest
// first; each promises what the weaker ones do.
type ReadModel string

// The read models. The zero ReadModel is Linearizable.
const (
	// Linearizable: every read shows at least what any client had been
	// told (by a checkout's answer or an earlier read) before the read was
	// called, and no decision no checkout had been sent for.
	Linearizable ReadModel = "linearizable"
	// Session is read-your-writes and monotonic reads, per client: every
	// read shows at least what its own client had been told before it
	// (its checkout's answer, its earlier reads); and reads converge, as
	// Eventual says.
	Session ReadModel = "session"
	// Eventual: once the faults are healed and the world is at rest,
	// every read shows the state the checkouts settled on — each decision
	// a client was told, each balance counting the orders confirmed and
	// none failed. Before that a read may lag.
	Eventual ReadModel = "eventual"
)

// ReadModels lists the read models, strongest first.
var ReadModels = []ReadModel{Linearizable, Session, Eventual}

// class is the anomaly class of the reads whose weakest broken model is m.
func (m ReadModel) class() Class {
	switch m {
	case Session:
		return SessionStaleRead
	case Eventual:
		return UnconvergedRead
	}
	return StaleRead
}

// includes reports whether promising m promises o too: o is m or weaker.
func (m ReadModel) includes(o ReadModel) bool { return m.rank() <= o.rank() }

func (m ReadModel) rank() int {
	if m == "" {
		return 0
	}
	return slices.Index(ReadModels, m)
}

// Valid reports whether m is one of ReadModels or the zero ReadModel.
func (m ReadModel) Valid() bool { return m == "" || slices.Contains(ReadModels, m) }

// Reads is what the reads of a run showed, judged against the model its
// pattern promises. Reads that break a promised model are anomalies, in
// Report.Anomalies under the model's class; reads that break only a model
// stronger than the promise are information, in Unpromised.
type Reads struct {
	// Promise is the read model the pattern promises.
	Promise ReadModel `json:"promise"`
	// Held lists the models the reads held, strongest first (a model holds
	// when no read breaks it; with no read at all every model holds).
	Held []ReadModel `json:"held"`
	// Unpromised holds the read classes of the models stronger than
	// Promise that the reads broke: what they showed, not an anomaly.
	Unpromised map[Class]Finding `json:"unpromised,omitempty"`
	// Stale counts the stale reads: reads that missed a state a client had
	// been shown before they were called (an order found absent or pending
	// after an answer showed it further on, a balance short of orders a
	// client had been told were confirmed), whatever the promise.
	Stale int `json:"stale"`
	// MaxStaleness is how stale the stalest of them was at least: from the
	// first answer that showed what it missed to its call. (The history
	// cannot say when within its checkout an order changed, so this is a
	// lower bound: a client's read right after its own checkout's answer
	// is stale by the gap between the two.)
	MaxStaleness time.Duration `json:"max_staleness"`
}

// MarshalJSON adds max_staleness_ms, for people (ignored when read back).
func (r Reads) MarshalJSON() ([]byte, error) {
	type plain Reads
	return json.Marshal(struct {
		plain
		MaxStalenessMs float64 `json:"max_staleness_ms"`
	}{plain(r), ms(r.MaxStaleness)})
}

// String says what the reads showed, in one line: the promise, the models
// held and broken, and the stale reads.
func (r Reads) String() string {
	var held, broke []string
	for _, m := range ReadModels {
		if slices.Contains(r.Held, m) {
			held = append(held, string(m))
		} else {
			broke = append(broke, string(m))
		}
	}
	if len(held) == 0 {
		held = []string{"none"}
	}
	s := fmt.Sprintf("reads: promised %s · held %s", r.Promise, strings.Join(held, ", "))
	if len(broke) > 0 {
		s += " · broke " + strings.Join(broke, ", ")
	}
	if r.Stale == 0 {
		return s + " · no stale read"
	}
	return s + fmt.Sprintf(" · %d stale, the stalest by at least %s", r.Stale, span(r.MaxStaleness))
}

// level orders an order's states: absent, then pending, then decided.
func level(s status) int {
	switch s {
	case absent:
		return 0
	case pending:
		return 1
	}
	return 2
}

// readCase is one read that broke a model: the weakest model it broke,
// the example that says how, and the partition that draws it.
type readCase struct {
	model   ReadModel
	example string
	part    Partition
}

// judgeReads judges every read of x (answered ok; a read that learned
// nothing says nothing) against each read model, and measures the stale
// ones. Each read that breaks a model is counted once, under the weakest
// model it breaks: a read at rest that still lags has not converged
// (Eventual); one that goes back on its own client's knowledge breaks
// Session; any other that breaks linearizability, Linearizable.
//
// A read goes back on an earlier answer when it shows an earlier state
// (absent, pending, decided), or the other decision — unless it shows the
// decision the order settled on (settles), for then the answer it
// contradicts is the checkouts' anomaly, non-linearizable. A read at rest
// that shows a decision is judged there too, and here only for lag.
func (x *history) judgeReads() (cases []readCase, stale int, worst time.Duration) {
	measure := func(d time.Duration) {
		stale++
		worst = max(worst, d)
	}
	for _, k := range x.keys {
		d, decided := x.decision(k)
		for _, i := range x.ops[k] {
			r := &x.h[i]
			sr, ok := observed(r)
			if r.Kind != KindGet || !ok {
				continue
			}
			back := func(so status) bool {
				if level(sr) < level(so) {
					return true
				}
				return !r.AtRest && level(sr) == 2 && level(so) == 2 && sr != so && !(decided && d.settled && sr == d.s)
			}
			var missed, any, own *Op // the first answer (by return) r missed, went back on, went back on of its own client
			var anyS, ownS status
			for _, j := range x.ops[k] {
				o := &x.h[j]
				so, ok := observed(o)
				if j == i || !ok || o.Return >= r.Call || !back(so) {
					continue
				}
				if level(sr) < level(so) && (missed == nil || o.Return < missed.Return) {
					missed = o
				}
				if any == nil || o.Return < any.Return {
					any, anyS = o, so
				}
				if o.Client == r.Client && (own == nil || o.Return < own.Return) {
					own, ownS = o, so
				}
			}
			if missed != nil {
				measure(r.Call - missed.Return)
			}
			var model ReadModel
			var why string
			switch {
			case any != nil && r.AtRest:
				model, why = Eventual, wentBack(r, sr, any, anyS)
			case r.AtRest:
				continue
			case own != nil:
				model, why = Session, wentBack(r, sr, own, ownS)
			case any != nil:
				model, why = Linearizable, wentBack(r, sr, any, anyS)
			case level(sr) == 2 && !slices.ContainsFunc(x.ops[k], func(j int) bool { return x.h[j].Kind == KindCheckout && x.h[j].Call <= r.Return }):
				model, why = Linearizable, fmt.Sprintf("%s before any checkout was sent", readSaw(r, sr))
			case level(sr) == 2 && decided && sr != d.s:
				model, why = Linearizable, fmt.Sprintf("%s, but %s", readSaw(r, sr), answer(d.op, d.s))
			default:
				continue
			}
			cases = append(cases, readCase{model, fmt.Sprintf("order %s: %s", k, why), Partition{Key: k, Verdict: VerdictAnomalies, File: fileName("history-", k)}})
		}
	}
	for _, i := range x.balances {
		b := &x.h[i]
		all := x.balanceBounds(b, -1)
		if b.Points < all.lower {
			measure(b.Call - all.known)
		}
		why := x.balanceViolation(b, all)
		if why == "" {
			continue
		}
		model := Linearizable
		switch own := x.balanceBounds(b, b.Client); {
		case b.AtRest:
			model = Eventual
		case b.Points < own.lower:
			model = Session
		}
		cases = append(cases, readCase{model, fmt.Sprintf("customer %s: %s", b.Key, why), Partition{Key: b.Key, Balance: true, Verdict: VerdictAnomalies, File: fileName("history-customer-", b.Key)}})
	}
	return cases, stale, worst
}

// decided is an answer that showed an order's decision; settled marks a
// read at rest's.
type decided struct {
	op      *Op
	s       status
	settled bool
}

// decision is the decision of order k: the one it settled on (its first
// read at rest that shows one), else the one its checkouts answered when
// they agree, else the first one a read returned.
func (x *history) decision(k string) (decided, bool) {
	var settled, fromCheckout, fromRead decided // op nil: none yet
	disagree := false
	for _, i := range x.ops[k] {
		op := &x.h[i]
		s, ok := observed(op)
		if !ok || level(s) < 2 {
			continue
		}
		d := decided{op, s, settles(op)}
		switch {
		case d.settled:
			if settled.op == nil || op.Return < settled.op.Return {
				settled = d
			}
		case op.Kind == KindCheckout && fromCheckout.op == nil:
			fromCheckout = d
		case op.Kind == KindCheckout:
			disagree = disagree || fromCheckout.s != s
		case fromRead.op == nil || op.Return < fromRead.op.Return:
			fromRead = d
		}
	}
	switch {
	case settled.op != nil:
		return settled, true
	case disagree: // non-linearizable says so; the reads cannot be held to either
		return decided{}, false
	case fromCheckout.op != nil:
		return fromCheckout, true
	case fromRead.op != nil:
		return fromRead, true
	}
	return decided{}, false
}

// wentBack says how the read r, which saw sr, went back on the answer o,
// which showed so: how long after it, and whose it was.
func wentBack(r *Op, sr status, o *Op, so status) string {
	whose := answer(o, so)
	switch {
	case o.Client != r.Client:
		whose = fmt.Sprintf("client %d's %s", o.Client, whose)
	case !r.AtRest:
		whose = "its own " + whose
	}
	return fmt.Sprintf("%s, %s after %s", readSaw(r, sr), span(r.Call-o.Return), whose)
}

// readSaw is "client 2 read absent at 4.3ms", or "read absent at rest at
// 2.1s" for a read taken at rest.
func readSaw(r *Op, s status) string {
	if r.AtRest {
		return fmt.Sprintf("read %s at rest at %s", s, at(r.Call))
	}
	return fmt.Sprintf("client %d read %s at %s", r.Client, s, at(r.Call))
}

// answer is what the answer o showed: "checkout#1 answered confirmed at
// 4.3ms", "read saw pending at 3ms".
func answer(o *Op, s status) string {
	if o.Kind == KindCheckout {
		return fmt.Sprintf("checkout#%d answered %s at %s", o.Attempt, s, at(o.Return))
	}
	return fmt.Sprintf("read saw %s at %s", s, at(o.Return))
}

// span is a short duration to the precision it needs: nanoseconds below a
// microsecond, microseconds below a millisecond, then tenths of
// milliseconds.
func span(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

// judgeReadModels turns the cases into the report: each promised model's
// class is an anomaly (its partitions drawn), each stronger model's class
// information.
func judgeReadModels(r *Report, x *history, promise ReadModel) {
	if promise == "" || !promise.Valid() {
		promise = Linearizable
	}
	cases, stale, worst := x.judgeReads()
	found := map[Class]*Finding{}
	drawn := map[string]bool{}
	for _, p := range r.Linearizability {
		drawn[p.File] = true
	}
	for _, c := range cases {
		class := c.model.class()
		f := found[class]
		if f == nil {
			f = &Finding{}
			found[class] = f
		}
		if !promise.includes(c.model) {
			f.add("%s", c.example)
			continue
		}
		f.add("%s (%s)", c.example, c.part.File)
		if !drawn[c.part.File] {
			drawn[c.part.File] = true
			r.Linearizability = append(r.Linearizability, c.part)
		}
	}
	r.Reads = Reads{Promise: promise, Stale: stale, MaxStaleness: worst}
	for i, m := range ReadModels {
		held := true
		for _, w := range ReadModels[i:] {
			held = held && found[w.class()] == nil
		}
		if held {
			r.Reads.Held = append(r.Reads.Held, m)
		}
		f := found[m.class()]
		if f == nil {
			continue
		}
		if promise.includes(m) {
			r.Anomalies[m.class()] = *f
			continue
		}
		if r.Reads.Unpromised == nil {
			r.Reads.Unpromised = map[Class]Finding{}
		}
		r.Reads.Unpromised[m.class()] = *f
	}
}
