package det

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// link is a directed link of the world: its faults and the seeded sources
// that decide each request's fate and delays. It is the link's
// http.RoundTripper.
type link struct {
	r    *Runtime
	l    sim.Link
	name string
	// What a caller waits for, by phase, for deadlock reports.
	waitNet, waitAnswer, waitLost string
	faults                        sim.LinkFaults
	rng                           *rand.Rand // fault rolls, as the live runtime's
	net                           *rand.Rand // network delays
	sent                          uint64     // requests sent so far: the last one's site number
	answered                      uint64     // the highest site number answered so far
}

// lane is what the link does with one request, as the live runtime's
// lanes.
type lane int

const (
	clean lane = iota // delivered, answered
	drop              // never delivered
	lost              // delivered and handled, the answer never comes back
)

// decide rolls the fate of one request: its lane and its injected delay.
// It records every fault it decides.
func (k *link) decide(req *http.Request) (lane, time.Duration) {
	f := k.faults
	ln, fault := clean, ""
	var delay time.Duration
	switch {
	case f.Down:
		ln, fault = drop, "partition"
	case f.DropRequest > 0 || f.LostResponse > 0:
		switch u := k.rng.Float64(); {
		case u < f.DropRequest:
			ln, fault = drop, "drop-request"
		case u < f.DropRequest+f.LostResponse:
			ln, fault = lost, "lost-response"
		}
	}
	if !f.Down && (f.Latency > 0 || f.Jitter > 0) {
		delay = f.Latency
		if f.Jitter > 0 {
			delay += time.Duration(k.rng.Int64N(2*int64(f.Jitter)+1)) - f.Jitter
		}
		delay = max(delay, 0)
	}
	detail, order := req.Method+" "+req.URL.Path, req.Header.Get(sim.OrderHeader)
	if delay > 0 {
		k.r.record("latency", k.name, detail, order)
	}
	if fault != "" {
		k.r.record(fault, k.name, detail, order)
	}
	return ln, delay
}

// hop is one network delay.
func (k *link) hop() time.Duration {
	if k.r.opt.NetDelay <= 0 {
		return 0
	}
	return time.Duration(k.net.Int64N(int64(k.r.opt.NetDelay)))
}

// call is one request in flight to a node's handler.
type call struct {
	caller *proc // nil for a copy nobody waits for (a duplicate)
	inc    *incarnation
	idx    int    // index in inc.calls; -1 once removed
	seq    uint64 // the request's number on its link
	lost   bool
	gone   bool // the caller stopped waiting
	done   bool // the answer (or the cut) has reached the caller
	rec    *recorder
	err    error
	cancel context.CancelFunc // the handler's request context
}

// waiting reports whether c's caller is parked waiting for c.
func (c *call) waiting() bool { return c.caller != nil && c.caller.call == c }

// cut fails c as a closed connection would: its caller hears at once.
// The handler's context ends at the scheduler's next step (see halt).
func (c *call) cut(s *sched, err error) {
	s.cancels = append(s.cancels, c.cancel)
	if c.done || c.lost {
		return
	}
	c.done, c.err = true, err
	if c.waiting() {
		s.ready(c.caller, wokeOther)
	}
}

// RoundTrip implements http.RoundTripper: it decides the request's fate by
// the link's faults, waits out the network's delay on the virtual clock,
// runs the target's handler as a process of the target's current
// incarnation and waits for its answer or the request's context. It never
// retries.
func (k *link) RoundTrip(req *http.Request) (*http.Response, error) {
	var (
		resp *http.Response
		err  error
	)
	if merr := k.r.do(req.Context(), func(p *proc) error {
		resp, err = k.roundTrip(p, req)
		return nil
	}); merr != nil {
		return nil, merr
	}
	return resp, err
}

func (k *link) roundTrip(p *proc, req *http.Request) (*http.Response, error) {
	s := k.r.s
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("link %s: reading the request body: %w", k.name, err)
		}
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil { // never sent: nothing to decide
		return nil, fmt.Errorf("link %s: %w", k.name, err)
	}
	sent := s.now
	ln, delay := k.decide(req)
	k.sent++
	seq, extra := k.sent, sim.SiteClean
	if ln == clean {
		extra = k.faults.SiteFault(k.r.opt.Seed, k.l, seq)
		if extra != sim.SiteClean {
			k.r.recordAt(extra, k.name, req.Method+" "+req.URL.Path, req.Header.Get(sim.OrderHeader), sim.RequestSite(k.l, seq))
		}
	}
	if extra == sim.SiteLate {
		deadline, ok := ctx.Deadline()
		return k.late(p, ctx, req, body, seq, k.faults.LateAt(sent, deadline, ok))
	}
	if err := s.sleep(p, ctx, delay+k.hop(), k.waitNet); err != nil {
		return nil, err // never delivered
	}
	if ln == drop {
		return nil, k.blackHole(p, ctx)
	}
	if extra == sim.SiteReorder {
		if err := k.hold(p, ctx, seq); err != nil {
			return nil, err // never delivered
		}
	}
	c := &call{caller: p, seq: seq, lost: ln == lost, rec: newRecorder()}
	if err := k.deliver(c, req, body); err != nil {
		return nil, err
	}
	if extra == sim.SiteDuplicate {
		dup := &call{seq: seq, gone: true, rec: newRecorder()}
		if d := k.faults.DuplicateDelay - s.now.Sub(sent); d > 0 {
			k.later(s.now.Add(d), dup, req, body)
		} else {
			k.deliver(dup, req, body)
		}
	}
	defer func() {
		if !c.done { // the caller hangs up (gave up, or crashed): the handler's context ends
			c.gone = true
			c.cancel()
		}
	}()
	if c.lost {
		return nil, k.blackHole(p, ctx)
	}
	return k.await(p, ctx, c, req)
}

// await waits for c's answer or the end of ctx.
func (k *link) await(p *proc, ctx context.Context, c *call, req *http.Request) (*http.Response, error) {
	if !c.done {
		p.call, p.done, p.what = c, ctx.Done(), k.waitAnswer
		k.r.s.park(p)
	}
	if !c.done {
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.rec.response(req), nil
}

// deliver hands c's request to the target's current incarnation: its
// handler runs as a process of it, on a request whose context ends when
// the handler returns, the node crashes or (for a call its caller waits
// for, see roundTrip) the caller hangs up. It fails when the target is
// down.
func (k *link) deliver(c *call, req *http.Request, body []byte) error {
	s := k.r.s
	to := k.r.nodes[k.l.To]
	inc := to.cur
	if inc == nil || inc.down || inc.h == nil {
		err := fmt.Errorf("connection refused: %s is down", k.l.To)
		if !c.done && !c.gone {
			c.done, c.err = true, err
			if c.waiting() {
				s.ready(c.caller, wokeOther)
			}
		}
		return err
	}
	hctx, hcancel := context.WithCancel(inc.ctx)
	u := *req.URL
	sreq := &http.Request{
		Method:     req.Method,
		URL:        &u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     req.Header.Clone(),
		Body:       http.NoBody,
		Host:       u.Host,
		RemoteAddr: k.l.From + ":0",
		RequestURI: u.RequestURI(),
	}
	if len(body) > 0 {
		sreq.Body, sreq.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	sreq = sreq.WithContext(hctx)
	c.inc, c.idx, c.cancel = inc, len(inc.calls), hcancel
	inc.calls = append(inc.calls, c)
	h := s.spawn(inc, "", func() { k.serve(c, sreq) })
	h.nameOf = func() string { return fmt.Sprintf("%s#%d/%s %s", to.name, inc.num, sreq.Method, sreq.URL.Path) }
	return nil
}

// later delivers c at the virtual time at; meanwhile the network holds it
// (Runtime.Held counts it).
func (k *link) later(at time.Time, c *call, req *http.Request, body []byte) {
	k.r.held++
	k.r.s.addTimer(at, nil, func() {
		k.r.held--
		k.deliver(c, req, body)
	})
}

// late holds a request in the network and delivers it at the virtual time
// at, whether or not its caller still waits then: the handler's context
// does not end when the caller hangs up, and an answer nobody waits for
// goes nowhere. The caller waits for an answer as for any request.
func (k *link) late(p *proc, ctx context.Context, req *http.Request, body []byte, seq uint64, at time.Time) (*http.Response, error) {
	c := &call{caller: p, seq: seq, rec: newRecorder(), cancel: func() {}}
	k.later(at, c, req, body)
	defer func() {
		if !c.done { // the caller hangs up (gave up, or crashed): the answer goes nowhere
			c.gone = true
		}
	}()
	return k.await(p, ctx, c, req)
}

// hold keeps the seq-th request back until a request sent after it over
// the link has been answered, or the link's reorder hold has passed, or
// ctx is done (then it is never delivered).
func (k *link) hold(p *proc, ctx context.Context, seq uint64) error {
	s := k.r.s
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.timer = s.addTimer(s.now.Add(k.faults.Hold()), p, nil)
	p.cond = func() bool { return k.answered > seq }
	p.done = ctx.Done()
	p.what = k.waitNet
	s.park(p)
	if p.why == wokeDone {
		return ctx.Err()
	}
	return nil
}

// blackHole waits until ctx is done, as a caller whose request or answer
// vanished does, and returns ctx's error.
func (k *link) blackHole(p *proc, ctx context.Context) error {
	s := k.r.s
	if ctx.Done() == nil {
		s.await(p, "a request lost over "+k.name+" with no deadline", func() bool { return false })
	}
	for ctx.Err() == nil {
		p.done, p.what = ctx.Done(), k.waitLost
		s.park(p)
	}
	return ctx.Err()
}

// serve is the handler process of one request: the node's request faults,
// then the service's handler; the answer travels back after a network
// delay.
func (k *link) serve(c *call, req *http.Request) {
	r, inc := k.r, c.inc
	defer func() {
		if c.idx >= 0 {
			last := len(inc.calls) - 1
			q := inc.calls[last]
			inc.calls[c.idx], q.idx = q, c.idx
			inc.calls[last] = nil
			inc.calls = inc.calls[:last]
			c.idx = -1
		}
	}()
	name, order := req.Method+" "+req.URL.Path, req.Header.Get(sim.OrderHeader)
	switch inc.n.roll() {
	case failFast:
		r.record("error", inc.n.name, name, order)
		sim.WriteError(c.rec, http.StatusServiceUnavailable, "injected_error", inc.n.name+" failed transiently before acting (injected fault)")
	case crashBefore:
		r.crash(inc, "crash", "before "+name, order, inc.n.downtime())
		panic(http.ErrAbortHandler)
	case crashAfter:
		inc.h.ServeHTTP(newRecorder(), req)
		r.crash(inc, "crash", "after "+name, order, inc.n.downtime())
		panic(http.ErrAbortHandler)
	default:
		inc.h.ServeHTTP(c.rec, req)
	}
	c.cancel() // the handler has returned: its request context ends
	k.answered = max(k.answered, c.seq)
	if c.lost || c.gone || c.done {
		return
	}
	s := r.s
	deliver := func() {
		if !c.gone && !c.done {
			c.done = true
			if c.waiting() {
				s.ready(c.caller, wokeOther)
			}
		}
	}
	if d := k.hop(); d > 0 {
		s.addTimer(s.now.Add(d), nil, deliver)
	} else {
		deliver()
	}
}

// recorder is the answer a handler writes, kept in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// response is the answer as the caller receives it.
func (w *recorder) response(req *http.Request) *http.Response {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.header // the handler is done with it
	h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}
}

// noLink is the transport between two nodes the world does not link.
type noLink struct{ l sim.Link }

func (n noLink) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, fmt.Errorf("no link %s in the world: add it to World.Links", n.l)
}
