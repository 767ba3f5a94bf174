package live

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"

	"github.com/txchaos/txchaos/sim"
)

// referenceProbe is the time per probe request (measureSlowness) for
// which a world's durations hold as written, the speed the built-in
// scenarios' timeouts were tuned on: two shared cores running the tests
// under the race detector serve probe requests in 1.5 to 3.5 ms when
// other work is light, and in 10 to 60 ms with eight busy loops beside
// them, where the expectation matrix failed cells in real time. Without
// the race detector the same machine serves them in under 2 ms even when
// busy. A machine that serves them slower than referenceProbe gets a
// slowness factor of its time per request over it.
const referenceProbe = 2 * time.Millisecond

// The probe: probeStreams streams of requests at once, enough to keep a
// few cores busy, probeRequests in all, after one untimed request each.
const (
	probeStreams  = 8
	probeRequests = 64
)

// MaxSlowness bounds Options.Slowness and the measured factor: beyond it
// a machine is too slow or too busy for a live run to mean anything.
const MaxSlowness = 100

// clock is the runtime's clock: the wall clock slowed down by a factor.
type clock struct {
	start    time.Time // on the wall clock, with its monotonic reading
	slowness float64   // at least 1
}

// now is the runtime's time: start plus the wall time elapsed since,
// divided by the slowness.
func (c clock) now() time.Time {
	if c.slowness <= 1 {
		return time.Now()
	}
	return c.start.Add(time.Duration(float64(time.Since(c.start)) / c.slowness))
}

// real is how long d of the runtime's time lasts on the wall clock.
func (c clock) real(d time.Duration) time.Duration {
	if d <= 0 || c.slowness <= 1 {
		return d
	}
	r := float64(d) * c.slowness
	if r >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(r)
}

// sleep waits d on the runtime's clock, or until ctx is done.
func (c clock) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(c.real(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// at is the runtime's time at wall, a reading of the wall clock (a
// context's deadline, one a node process sent): its inverse is wall.
func (c clock) at(wall time.Time) time.Time {
	if c.slowness <= 1 {
		return wall
	}
	return c.start.Add(time.Duration(float64(wall.Sub(c.start)) / c.slowness))
}

// until is how long, on the wall clock, until the runtime's clock reads t
// (at most 0 once it has).
func (c clock) until(t time.Time) time.Duration {
	return c.real(t.Sub(c.now()))
}

// Epoch is the clock's reading when the runtime started: Applied's times
// count from it.
func (r *Runtime) Epoch() time.Time { return r.clock.start }

// Slowness is how many times slower than the wall clock the runtime's
// clock runs: Options.Slowness, or the factor measured at Start.
func (r *Runtime) Slowness() float64 { return r.clock.slowness }

// Now implements sim.Runtime: the runtime's clock, which runs Slowness
// times slower than the wall clock.
func (r *Runtime) Now() time.Time { return r.clock.now() }

// Sleep implements sim.Runtime: it waits d on the runtime's clock (d times
// Slowness of real time) or until ctx is done.
func (r *Runtime) Sleep(ctx context.Context, d time.Duration) error {
	return r.clock.sleep(ctx, d)
}

// WithTimeout implements sim.Runtime: context.WithTimeout of d on the
// runtime's clock (d times Slowness of real time).
func (r *Runtime) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.clock.real(d))
}

// checkSlowness checks Options.Slowness: 0 (measure it) or a factor
// between 1 and MaxSlowness.
func checkSlowness(s float64) error {
	if s == 0 || (s >= 1 && s <= MaxSlowness) { // false for NaN
		return nil
	}
	return fmt.Errorf("live: Options.Slowness is %v: want 0 (measure it) or a factor between 1 and %d", s, MaxSlowness)
}

// measureSlowness measures how fast the machine serves requests of the
// kind a world makes — each over a new connection, through a Toxiproxy
// proxy, to an HTTP handler that commits one write to a SQLite file in dir
// — when many are in flight, as in a run: what it measures is the share of
// the machine the process gets, not how fast one idle request returns. It
// returns the wall time per request over referenceProbe, at least 1, and
// fails if the machine is more than MaxSlowness times too slow: such a run
// would only time out.
func measureSlowness(ctx context.Context, dir string) (float64, error) {
	path := filepath.Join(dir, ".slowness-probe.db")
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	db, err := sim.OpenDB(path)
	if err != nil {
		return 0, fmt.Errorf("live: measure the machine's speed: %w", err)
	}
	defer db.Close()
	if err := sim.Migrate(ctx, db, `CREATE TABLE IF NOT EXISTS probe (n INTEGER)`); err != nil {
		return 0, fmt.Errorf("live: measure the machine's speed: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("live: measure the machine's speed: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := db.ExecContext(r.Context(), `INSERT INTO probe(n) VALUES (1)`); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}),
		ReadHeaderTimeout: time.Minute,
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	defer func() {
		srv.Close()
		<-served
	}()
	p := toxiproxy.NewProxy(newToxServer(), "slowness-probe", "127.0.0.1:0", ln.Addr().String())
	if err := p.Start(); err != nil {
		return 0, fmt.Errorf("live: measure the machine's speed: start a proxy: %w", err)
	}
	defer p.Stop()
	hop := laneTransport(p.Listen, dialTimeout)
	defer hop.CloseIdleConnections()
	client := &http.Client{Transport: hop}
	url := "http://" + p.Listen + "/"

	// The probe gives up once the machine has shown itself too slow.
	limit := time.Duration(probeRequests+probeStreams) * MaxSlowness * referenceProbe
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	streams := func(each int) error {
		errs := make(chan error, probeStreams)
		for range probeStreams {
			go func() {
				var err error
				for i := 0; i < each && err == nil; i++ {
					err = probe(ctx, client, url)
				}
				errs <- err
			}()
		}
		var first error
		for range probeStreams {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	err = streams(1) // warm up: connections, the handler, the database
	var per time.Duration
	if err == nil {
		began := time.Now()
		err = streams(probeRequests / probeStreams)
		per = time.Since(began) / probeRequests
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return 0, fmt.Errorf("live: this machine is too slow or too busy for a live run: %d requests through a proxy to a SQLite write took over %v, more than %d times the %v each a live world's timeouts are written for; run on the det runtime, or when the machine is less busy",
			probeRequests+probeStreams, limit, MaxSlowness, referenceProbe)
	case err != nil:
		return 0, fmt.Errorf("live: measure the machine's speed: %w", err)
	}
	return max(1, float64(per)/float64(referenceProbe)), nil
}

// probe sends one probe request and reads its answer.
func probe(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("probe request: status %s", resp.Status)
	}
	return nil
}
