package live

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The network's late, duplicated and reordered requests (see the package
// doc). A detached sender is a runtime goroutine that holds a copy of a
// request, sends it over the link's clean lane on a connection of its own
// at a given time, reads the whole answer and hands it to the caller if the
// caller still waits; otherwise the answer goes nowhere. Its connection
// does not close when the caller gives up, so the service handles the
// request in full.

// answer is what a detached sender got.
type answer struct {
	resp *http.Response
	err  error
}

// copyOf is req with its body read into memory, and the body.
func copyOf(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// late hands req to a detached sender that sends it at at (on the
// runtime's clock) and waits for
// its answer until req's context is done.
func (k *link) late(req *http.Request, at time.Time) (*http.Response, error) {
	body, err := copyOf(req)
	if err != nil {
		return nil, fmt.Errorf("link %s: reading the request body: %w", k.l, err)
	}
	ans := make(chan answer, 1) // never blocks the sender: a caller that left reads nothing
	if !k.send(req, body, at, ans) {
		return nil, fmt.Errorf("link %s: the runtime is stopping", k.l)
	}
	select {
	case a := <-ans:
		return a.resp, a.err
	case <-req.Context().Done():
		return nil, fmt.Errorf("link %s: the request is late: %w", k.l, req.Context().Err())
	}
}

// duplicate sends req over the clean lane and a second copy by a
// detached sender at at (on the runtime's clock); the caller gets the first copy's answer.
func (k *link) duplicate(req *http.Request, seq uint64, at time.Time) (*http.Response, error) {
	body, err := copyOf(req)
	if err != nil {
		return nil, fmt.Errorf("link %s: reading the request body: %w", k.l, err)
	}
	first := req.Clone(req.Context())
	first.Body, first.GetBody = io.NopCloser(bytes.NewReader(body)), nil
	k.send(req, body, at, nil)
	resp, err := k.hops[clean].RoundTrip(first)
	if err == nil {
		k.answer(seq)
	}
	return resp, err
}

// send starts a detached sender of req's copy (body) at at on the
// runtime's clock, which puts its
// answer in ans if ans is not nil. It reports false, sending nothing, once
// the runtime is stopping.
func (k *link) send(req *http.Request, body []byte, at time.Time, ans chan<- answer) bool {
	run := func(ctx context.Context) {
		if k.held != nil {
			defer k.held.Add(-1)
		}
		t := time.NewTimer(k.clock.until(at))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		out := req.Clone(ctx)
		out.Body, out.GetBody = http.NoBody, nil
		if len(body) > 0 {
			out.Body = io.NopCloser(bytes.NewReader(body))
		}
		a := answer{}
		resp, err := k.hops[clean].RoundTrip(out)
		if err != nil {
			a.err = fmt.Errorf("link %s: %w", k.l, err)
		} else {
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				a.err = fmt.Errorf("link %s: reading the answer: %w", k.l, err)
			} else {
				resp.Body = io.NopCloser(bytes.NewReader(data))
				a.resp = resp
			}
		}
		if ans != nil {
			ans <- a
		}
	}
	if k.held != nil {
		k.held.Add(1)
	}
	if k.detach == nil {
		go run(context.Background())
		return true
	}
	if !k.detach(run) {
		if k.held != nil {
			k.held.Add(-1)
		}
		return false
	}
	return true
}

// hold keeps the seq-th request back until a request sent after it over
// the link has been answered, hold has passed on the runtime's clock, or
// ctx is done.
func (k *link) hold(ctx context.Context, seq uint64, hold time.Duration) error {
	t := time.NewTimer(k.clock.real(hold))
	defer t.Stop()
	for {
		k.mu.Lock()
		overtaken, next := k.answered > seq, k.overtake
		k.mu.Unlock()
		if overtaken {
			return nil
		}
		select {
		case <-next:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// answer notes that the seq-th request over the link has been answered.
func (k *link) answer(seq uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if seq > k.answered {
		k.answered = seq
		close(k.overtake)
		k.overtake = make(chan struct{})
	}
}

// Held is how many requests the network holds for a later delivery (late
// requests, second copies of duplicated ones), answer included: until
// they are done, the world is not at rest.
func (r *Runtime) Held() int { return int(r.held.Load()) }

// detach runs fn, a detached sender of the network, on a runtime
// goroutine; fn's context is cancelled when Stop begins.
func (r *Runtime) detach(fn func(ctx context.Context)) bool {
	return r.spawn(func() { fn(r.net) })
}
