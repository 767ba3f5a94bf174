package live

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/txchaos/txchaos/sim"
)

// TestMain serves a node when the runtime of a test started this binary
// as one (process_test.go), and otherwise runs the tests and checks that
// they leave no goroutine behind.
func TestMain(m *testing.M) {
	if IsNode() {
		os.Exit(ServeNode(testWorld))
	}
	goleak.VerifyTestMain(m)
}

// rawServer reads HTTP requests and hangs up without answering, counting the
// requests it read. With answerFirst it answers the first request of each
// connection and hangs up on the second, the way a server closing an idle
// keep-alive connection looks to a client that just sent on it.
type rawServer struct {
	ln          net.Listener
	answerFirst bool
	seen        atomic.Int64
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       []net.Conn
}

func newRawServer(t *testing.T, answerFirst bool) *rawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawServer{ln: ln, answerFirst: answerFirst}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.handle(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; ; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		s.seen.Add(1)
		if !s.answerFirst || i > 0 {
			return // hang up without an answer
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

// newTestLink is a link to upstream with its proxies stopped at cleanup.
func newTestLink(t *testing.T, upstream string, seed int64) (*link, *faultLog) {
	log := &faultLog{clock: clock{start: time.Now(), slowness: 1}}
	k, err := newLink(newToxServer(), sim.Link{From: "a", To: "b"}, upstream, nil, seed, log, clock{start: time.Now(), slowness: 1})
	require.NoError(t, err)
	t.Cleanup(k.close)
	return k, log
}

func postWithKey(t *testing.T, ctx context.Context, url string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(`{"a":1}`)))
	require.NoError(t, err)
	require.NotNil(t, req.GetBody, "the body is rewindable: Go would be allowed to replay it")
	req.Header.Set("Idempotency-Key", "k1")
	return req
}

// TestNoSilentReplay proves that a link never re-sends a request on its
// own, even one Go's transport considers replayable (a GET, a POST with an
// Idempotency-Key and a rewindable body), and shows, as a control, that a
// plain keep-alive transport does.
func TestNoSilentReplay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against a hang
	defer cancel()

	t.Run("link transport", func(t *testing.T) {
		srv := newRawServer(t, false)
		k, _ := newTestLink(t, srv.ln.Addr().String(), 1)
		client := &http.Client{Transport: k}
		url := "http://" + k.addr() + "/x"
		for _, req := range []*http.Request{
			postWithKey(t, ctx, url),
			must(http.NewRequestWithContext(ctx, http.MethodGet, url, nil)),
		} {
			before := srv.seen.Load()
			resp, err := client.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			require.Error(t, err, "%s: the server hung up: the caller must see an error", req.Method)
			// A minute guards against a hang; it is not a speed verdict.
			require.Eventually(t, func() bool { return srv.seen.Load() > before }, time.Minute, 5*time.Millisecond)
			time.Sleep(50 * time.Millisecond) // room for a replay to arrive
			require.Equal(t, before+1, srv.seen.Load(), "%s reached the server more than once", req.Method)
		}
	})

	t.Run("control: a keep-alive transport replays on a reused connection", func(t *testing.T) {
		srv := newRawServer(t, true)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		url := "http://" + srv.ln.Addr().String() + "/x"
		resp, err := client.Get(url) // opens the connection the next request reuses
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()

		resp, err = client.Do(postWithKey(t, ctx, url))
		require.NoError(t, err, "Go hid the hang-up by re-sending the request")
		resp.Body.Close()
		require.Equal(t, int64(3), srv.seen.Load(), "warm-up, the POST, and its silent replay")
		t.Logf("plain keep-alive transport: the POST with an Idempotency-Key reached the server twice and the caller saw success")
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestConnectionTrap measures why per-connection toxicity is a trap: with a
// keep-alive client, Toxiproxy's roll is made once per connection and every
// request on it shares the outcome, while the link's lanes decide each
// request on its own.
func TestConnectionTrap(t *testing.T) {
	const requests = 200
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	upstream := up.Listener.Addr().String()

	t.Run("keep-alive client, one proxy, toxicity 0.5", func(t *testing.T) {
		p := toxiproxy.NewProxy(newToxServer(), "trap", "127.0.0.1:0", upstream)
		_, err := p.Toxics.AddToxicJson(strings.NewReader(`{"name":"reset","type":"reset_peer","stream":"upstream","toxicity":0.5,"attributes":{"timeout":0}}`))
		require.NoError(t, err)
		require.NoError(t, p.Start())
		defer p.Stop()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: time.Minute} // a guard against a hang

		before := conns.Load()
		faulted, run, longest := 0, 0, 0
		for range requests {
			resp, err := client.Get("http://" + p.Listen + "/")
			if err != nil {
				faulted++
				run = 0
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			run++
			longest = max(longest, run)
		}
		opened := conns.Load() - before
		t.Logf("keep-alive: %d requests over %d connections: %d faulted (%.1f%%) at toxicity 0.5; longest run of clean requests on one connection: %d",
			requests, opened, faulted, 100*float64(faulted)/requests, longest)
		// Once a connection rolls clean, every later request on it is clean:
		// the faulted requests are the connections reset before the first
		// clean roll, and 60 or more of them (0.3 of 200) come with
		// probability 2⁻⁶⁰.
		require.Less(t, float64(faulted)/requests, 0.3, "per-connection rolls should not look like a per-request rate of 0.5")
	})

	t.Run("lanes, drop-request 0.5", func(t *testing.T) {
		k, log := newTestLink(t, upstream, 7)
		k.set(sim.LinkFaults{DropRequest: 0.5})
		client := &http.Client{Transport: k}
		before := conns.Load()
		var failed, unrolled atomic.Int64
		var wg sync.WaitGroup
		for range 4 { // 4 callers × 50 requests: the roll sequence is the same whatever the order
			wg.Go(func() {
				for range requests / 4 {
					ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
					req := must(http.NewRequestWithContext(ctx, http.MethodGet, "http://"+k.addr()+"/", nil))
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						if strings.Contains(err.Error(), "link a->b: context deadline exceeded") {
							unrolled.Add(1) // a busy machine let the deadline pass before the link saw it
						}
					} else {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					cancel()
				}
			})
		}
		wg.Wait()
		drops := 0
		for _, a := range log.all() {
			require.Equal(t, "drop-request", a.Fault)
			require.Equal(t, "a->b", a.Target)
			require.Equal(t, "GET /", a.Detail)
			drops++
		}
		rolled := requests - int(unrolled.Load())
		t.Logf("lanes: %d requests rolled over %d connections: %d dropped (%.1f%%) at rate 0.5; %d failed as seen by the callers",
			rolled, conns.Load()-before, drops, 100*float64(drops)/float64(rolled), failed.Load())
		// Binomial(rolled ≤ 200, 1/2) lies within 40 of its mean except
		// with probability < 2e-8 (40 is over 5.6 standard deviations).
		require.InDelta(t, float64(rolled)/2, drops, 40)
		require.GreaterOrEqual(t, failed.Load(), int64(drops), "every dropped request must fail")
	})
}

// TestDecisionsAreSeeded checks that a link's rolls depend on the seed
// only, and that the rates are per request.
func TestDecisionsAreSeeded(t *testing.T) {
	faults := sim.LinkFaults{DropRequest: 0.2, LostResponse: 0.3, Latency: time.Millisecond, Jitter: time.Millisecond}
	roll := func(seed int64) []lane {
		k := &link{l: sim.Link{From: "a", To: "b"}, log: &faultLog{}, rng: newRand(seed, "link/a->b")}
		k.set(faults)
		out := make([]lane, 2000)
		for i := range out {
			out[i], _ = k.decide("GET /y", "")
		}
		return out
	}
	a, b, c := roll(1), roll(1), roll(2)
	require.Equal(t, a, b, "same seed, same decisions")
	require.NotEqual(t, a, c, "another seed, other decisions")
	var counts [numLanes]int
	for _, ln := range a {
		counts[ln]++
	}
	// 2000 rolls per lane: the drop share's standard deviation is
	// √(0.2·0.8/2000) ≈ 0.0089 and the lost share's √(0.3·0.7/2000) ≈
	// 0.0102, so ±0.06 is over 5.8 standard deviations for both: a seed
	// misses it with probability < 1e-8.
	require.InDelta(t, 0.2, float64(counts[drop])/2000, 0.06)
	require.InDelta(t, 0.3, float64(counts[lost])/2000, 0.06)
}
