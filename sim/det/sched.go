package det

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// procState is where a process is in its life.
type procState uint8

const (
	stRunnable procState = iota // in the run queue (its goroutine, if any, parked)
	stRunning                   // holds the baton
	stWaiting                   // parked until a timer, a context, a condition or an answer
	stDone                      // returned or aborted
)

// wakeReason says why a waiting process was made runnable.
type wakeReason uint8

const (
	wokeOther wakeReason = iota // an abort, an answer
	wokeTimer                   // its timer fired
	wokeDone                    // the context it watched is done
	wokeCond                    // its condition holds
)

// proc is one logical process: a goroutine that runs only while it holds
// the baton.
type proc struct {
	id      uint64
	name    string        // its name, or "" when named by nameOf
	nameOf  func() string // names it when asked (a request's handler)
	inc     *incarnation  // the node incarnation it belongs to; nil for none
	serving *call         // the request it handles, for a handler
	incIdx  int           // its index in inc.procs
	fn      func()
	wake    chan struct{}
	started bool // its goroutine exists
	state   procState
	aborted bool // it must end at its next step (a crash, Stop)

	// What a waiting process waits for; cleared when it is made runnable.
	done    <-chan struct{} // a context's Done channel, or nil
	cond    func() bool     // a condition, or nil
	timer   *timer          // a wake-up, or nil
	call    *call           // an answer it waits for, or nil
	what    string          // what it waits for, for deadlock reports
	why     wakeReason
	waitIdx int // index in sched.waiting; -1 when not in it
}

// order is the order the request p handles is about, or "" for a process
// that handles no request about an order (a relay, a consumer).
func (p *proc) order() string {
	if p == nil || p.serving == nil {
		return ""
	}
	return p.serving.order
}

// title is p's name, for reports.
func (p *proc) title() string {
	if p.name == "" && p.nameOf != nil {
		return p.nameOf()
	}
	return p.name
}

// timer is an event at a virtual instant: it wakes a process or runs fn.
type timer struct {
	when time.Time
	seq  uint64
	idx  int // index in the heap; -1 once removed
	p    *proc
	fn   func()
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

// sched is the seeded scheduler: the run queue, the parked processes, the
// virtual clock and its timers. Only the baton holder touches it; the baton
// passes over channels, which orders every access for the race detector.
type sched struct {
	now     time.Time
	rng     *rand.Rand
	cur     *proc // the baton holder; nil when the driver holds it
	runq    []*proc
	waiting []*proc // parked on a context or a condition
	timers  timerHeap
	all     []*proc // live processes, in creation order
	free    []*worker
	seq     uint64 // timer and process numbering
	steps   uint64 // baton hand-overs

	cancels []func()     // context cancellations due at the next step
	openTx  atomic.Int64 // open database transactions, on every node

	driver   chan struct{} // wakes the goroutine driving a Main or a Stop
	main     *proc         // the root process of the running Main
	host     context.Context
	halted   error // the host context ended the Main
	failure  error // a process panicked: sticky
	stopping bool  // Stop is unwinding every process
}

func newSched(epoch time.Time, rng *rand.Rand) *sched {
	return &sched{now: epoch, rng: rng, driver: make(chan struct{}, 1)}
}

// spawn creates a runnable process. Its goroutine starts when it is first
// picked.
func (s *sched) spawn(inc *incarnation, name string, fn func()) *proc {
	s.seq++
	p := &proc{id: s.seq, name: name, inc: inc, fn: fn, waitIdx: -1}
	if inc != nil {
		p.incIdx = len(inc.procs)
		inc.procs = append(inc.procs, p)
	}
	s.all = append(s.all, p)
	s.runq = append(s.runq, p)
	return p
}

// addTimer schedules a wake-up of p, or fn, at when.
func (s *sched) addTimer(when time.Time, p *proc, fn func()) *timer {
	s.seq++
	t := &timer{when: when, seq: s.seq, p: p, fn: fn}
	heap.Push(&s.timers, t)
	return t
}

// removeTimer cancels t if it has not fired.
func (s *sched) removeTimer(t *timer) {
	if t != nil && t.idx >= 0 {
		heap.Remove(&s.timers, t.idx)
	}
}

// ready makes a waiting process runnable.
func (s *sched) ready(p *proc, why wakeReason) {
	if p.state != stWaiting {
		return
	}
	if p.waitIdx >= 0 {
		last := len(s.waiting) - 1
		q := s.waiting[last]
		s.waiting[p.waitIdx], q.waitIdx = q, p.waitIdx
		s.waiting[last] = nil
		s.waiting = s.waiting[:last]
		p.waitIdx = -1
	}
	s.removeTimer(p.timer)
	p.done, p.cond, p.timer, p.call, p.what = nil, nil, nil, nil, ""
	p.why = why
	p.state = stRunnable
	s.runq = append(s.runq, p)
}

// abort makes p end at its next step.
func (s *sched) abort(p *proc) {
	if p.state == stDone {
		return
	}
	p.aborted = true
	s.ready(p, wokeOther)
}

// scan makes runnable every waiting process whose context is done or whose
// condition holds. Contexts are only ever cancelled by the baton holder (a
// timer, a crash, a cancel func), so scanning at each pick sees every
// cancellation at a deterministic point.
func (s *sched) scan() {
	for i := 0; i < len(s.waiting); {
		p := s.waiting[i]
		switch {
		case p.done != nil && isClosed(p.done):
			s.ready(p, wokeDone)
		case p.cond != nil && p.cond():
			s.ready(p, wokeCond)
		default:
			i++
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// pick chooses the next process to run: a random runnable one; when none
// is runnable, it advances the clock to the earliest timer and fires every
// timer due then. It returns nil when nothing can ever run again (a
// deadlock, or everything has ended), when the host context is done, or
// when Stop has unwound every runnable process.
func (s *sched) pick() *proc {
	for len(s.cancels) > 0 {
		cancels := s.cancels
		s.cancels = nil
		for _, cancel := range cancels {
			cancel()
		}
	}
	for {
		s.steps++
		if s.steps&1023 == 0 && s.host != nil && s.host.Err() != nil && s.halted == nil && !s.stopping {
			s.halted = s.host.Err()
		}
		if s.halted != nil && !s.stopping {
			return nil
		}
		s.scan()
		if n := len(s.runq); n > 0 {
			i := 0
			if n > 1 {
				i = s.rng.IntN(n)
			}
			p := s.runq[i]
			s.runq[i] = s.runq[n-1]
			s.runq[n-1] = nil
			s.runq = s.runq[:n-1]
			return p
		}
		if s.stopping || !s.fire() {
			return nil
		}
	}
}

// read is a reading of the virtual clock for a process: its time, after
// which the clock moves on by a nanosecond. Every reading is strictly
// later than the one before, so an operation a client calls after another
// one returned (each timed by a reading) is after it on the clock too, as
// on a real machine; without it, work done between two scheduling points
// takes no time, and an answer and the next call would share an instant
// that a linearizability checker takes for an overlap. Readings happen in
// the baton's order, so they stay deterministic. Timers are not moved: a
// timer due at an instant the readings went past fires at the next pick
// that finds nothing runnable, as it would have.
func (s *sched) read() time.Time {
	t := s.now
	s.now = s.now.Add(time.Nanosecond)
	return t
}

// fire advances the clock to the earliest timer and fires every timer due
// then. It reports false when no timer is pending.
func (s *sched) fire() bool {
	if len(s.timers) == 0 {
		return false
	}
	if w := s.timers[0].when; w.After(s.now) {
		s.now = w
	}
	for len(s.timers) > 0 && !s.timers[0].when.After(s.now) {
		t := heap.Pop(&s.timers).(*timer)
		if t.p != nil {
			if t.p.timer == t {
				t.p.timer = nil
				s.ready(t.p, wokeTimer)
			}
			continue
		}
		t.fn()
	}
	return true
}

// switchTo hands the baton to next, or to the driver when next is nil.
func (s *sched) switchTo(next *proc) {
	s.cur = next
	if next == nil {
		s.driver <- struct{}{}
		return
	}
	next.state = stRunning
	if !next.started {
		next.started = true
		if n := len(s.free); n > 0 {
			w := s.free[n-1]
			s.free[n-1] = nil
			s.free = s.free[:n-1]
			w.p, next.wake = next, w.wake
			w.wake <- struct{}{}
			return
		}
		w := &worker{wake: make(chan struct{}, 1), p: next}
		next.wake = w.wake
		go s.work(w)
		return
	}
	next.wake <- struct{}{}
}

// park blocks the running process p until the scheduler picks it again.
// The caller has set what p waits for. It panics with http.ErrAbortHandler
// if p was aborted meanwhile.
func (s *sched) park(p *proc) {
	if n := s.openTx.Load(); n > 0 {
		panic(fmt.Errorf("det: %s blocks on the runtime (waiting for %s) with a database transaction open: "+
			"a process must not hold a transaction across a call to the runtime (a request, a sleep)", p.title(), p.what))
	}
	p.state = stWaiting
	if p.done != nil || p.cond != nil {
		p.waitIdx = len(s.waiting)
		s.waiting = append(s.waiting, p)
	}
	next := s.pick()
	if next != p {
		s.switchTo(next)
		<-p.wake
	} else {
		p.state = stRunning
		s.cur = p
	}
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
}

// worker is a goroutine that runs processes one after another: a process
// ends, its goroutine waits for the next, with its stack already grown.
type worker struct {
	wake chan struct{}
	p    *proc // the process it runs; nil to end
}

// work is a worker's goroutine.
func (s *sched) work(w *worker) {
	for {
		if !s.runOne(w) {
			return // the process called runtime.Goexit: this goroutine ends
		}
		<-w.wake
		if w.p == nil {
			return
		}
	}
}

// runOne runs w's process to its end and hands the baton on. It reports
// whether w is free for another process.
func (s *sched) runOne(w *worker) bool {
	p := w.p
	returned := false
	defer func() { s.exit(p, w, returned) }()
	s.call(p)
	returned = true
	return true
}

// call runs p's function; an abort ends it quietly, any other panic fails
// the world.
func (s *sched) call(p *proc) {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler && s.failure == nil {
			s.failure = fmt.Errorf("det: process %s panicked: %v\n%s", p.title(), v, debug.Stack())
		}
	}()
	if !p.aborted {
		p.fn()
	}
}

// exit ends p and hands the baton on: to the driver when p was the root of
// a Main or a process failed, else to the next process. A reusable worker
// joins the free list first.
func (s *sched) exit(p *proc, w *worker, reuse bool) {
	p.state = stDone
	p.fn = nil
	for i, q := range s.all {
		if q == p {
			copy(s.all[i:], s.all[i+1:])
			s.all[len(s.all)-1] = nil
			s.all = s.all[:len(s.all)-1]
			break
		}
	}
	if inc := p.inc; inc != nil {
		last := len(inc.procs) - 1
		q := inc.procs[last]
		inc.procs[p.incIdx], q.incIdx = q, p.incIdx
		inc.procs[last] = nil
		inc.procs = inc.procs[:last]
		if inc.down && len(inc.procs) == 0 {
			inc.teardown()
		}
	}
	if reuse {
		w.p = nil
		s.free = append(s.free, w)
	}
	if p == s.main || (s.failure != nil && !s.stopping) {
		s.switchTo(nil)
		return
	}
	s.switchTo(s.pick())
}

// release ends the free workers' goroutines. The driver holds the baton.
func (s *sched) release() {
	for _, w := range s.free {
		w.p = nil
		w.wake <- struct{}{}
	}
	s.free = nil
}

// drive runs the world from the driver's goroutine until the baton comes
// back to it.
func (s *sched) drive() {
	if next := s.pick(); next != nil {
		s.switchTo(next)
		<-s.driver
	}
	s.cur = nil
}

// sleep parks p for d of virtual time or until ctx is done.
func (s *sched) sleep(p *proc, ctx context.Context, d time.Duration, what string) error {
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.timer = s.addTimer(s.now.Add(max(d, 0)), p, nil)
	p.done = ctx.Done()
	p.what = what
	s.park(p)
	if p.why == wokeTimer {
		return nil
	}
	return ctx.Err()
}

// await parks p until cond holds (checked at every pick).
func (s *sched) await(p *proc, what string, cond func() bool) {
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
	if cond() {
		return
	}
	p.cond, p.what = cond, what
	s.park(p)
}

// blocked describes every parked process, for a deadlock report.
func (s *sched) blocked() string {
	var out []string
	for _, p := range s.all {
		if p.state == stWaiting {
			out = append(out, p.title()+" (waiting for "+p.what+")")
		}
	}
	sort.Strings(out)
	if len(out) > 8 {
		out = append(out[:8], fmt.Sprintf("and %d more", len(out)-8))
	}
	return strings.Join(out, ", ")
}
