package live

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/txchaos/txchaos/sim"
)

// lane is one of a link's proxies, each with a permanent toxic.
type lane int

const (
	clean     lane = iota // no toxic
	drop                  // the request never reaches the service
	lost                  // the service acts, its answer never comes back
	lostCrash             // lost, and the service crashes once it has answered (links to a server node only)
	numLanes
)

var laneNames = [numLanes]string{clean: "clean", drop: "drop", lost: "lost", lostCrash: "lost-crash"}

// laneToxics are the lanes' toxics. A timeout toxic with timeout 0 holds
// the bytes of its stream forever and never closes the connection on its
// own: the caller waits until its deadline.
var laneToxics = [numLanes]string{
	drop: `{"name":"drop","type":"timeout","stream":"upstream","toxicity":1,"attributes":{"timeout":0}}`,
	lost: `{"name":"lost","type":"timeout","stream":"downstream","toxicity":1,"attributes":{"timeout":0}}`,
}

// dialTimeout bounds opening a connection to a proxy on 127.0.0.1, on the
// runtime's clock.
const dialTimeout = 2 * time.Second

// link is a directed link of the world: its lanes, its faults, and the
// seeded source that decides each request's fate. It is the link's
// http.RoundTripper; a link to a server node (server.go) carries
// connections instead, one per call (dial).
type link struct {
	l       sim.Link
	log     *faultLog
	to      *node // set for a link to a server node
	clock   clock
	proxies [numLanes]*toxiproxy.Proxy
	addrs   [numLanes]string // the proxies' listen addresses, fixed
	hops    [numLanes]*http.Transport
	egress  string // where its node process sends its requests (process.go); "" if none

	mu       sync.Mutex
	faults   sim.LinkFaults
	rng      *rand.Rand
	seed     int64
	sent     uint64            // HTTP requests sent so far: the last one's number
	answered uint64            // the highest number answered so far
	perOrder map[string]uint64 // HTTP requests sent so far per order: site numbers (sim.RequestSite)
	overtake chan struct{}     // closed and replaced when answered grows

	// detach runs a detached sender on a runtime goroutine that Stop ends
	// (its context is cancelled when Stop begins); nil runs it on a plain
	// goroutine.
	detach func(fn func(ctx context.Context)) bool
	held   *atomic.Int64 // the runtime's count of detached senders under way; nil in tests
}

// newLink starts the lanes of l, each a proxy to upstream. to is the
// node l leads to if it runs a server (nil for an HTTP service): its link
// gets server lanes (serverToxics) and carries connections, not requests.
func newLink(tox *toxiproxy.ApiServer, l sim.Link, upstream string, to *node, seed int64, log *faultLog, c clock) (*link, error) {
	k := &link{l: l, log: log, to: to, clock: c, rng: newRand(seed, "link/"+l.String()), seed: seed, overtake: make(chan struct{})}
	lanes, toxics := []lane{clean, drop, lost}, laneToxics
	if to != nil {
		lanes, toxics = append(lanes, lostCrash), serverToxics
	}
	for _, ln := range lanes {
		p := toxiproxy.NewProxy(tox, l.String()+"/"+laneNames[ln], "127.0.0.1:0", upstream)
		if js := toxics[ln]; js != "" {
			// Added before the proxy starts: no connection ever sees the
			// toxic change, and Toxiproxy never re-rolls it.
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
				k.close()
				return nil, fmt.Errorf("link %s: %s lane toxic: %w", l, laneNames[ln], err)
			}
		}
		if ln == lostCrash {
			to.crashOnAnswer(p)
		}
		if err := p.Start(); err != nil {
			k.close()
			return nil, fmt.Errorf("link %s: start the %s lane proxy: %w", l, laneNames[ln], err)
		}
		k.proxies[ln], k.addrs[ln] = p, p.Listen
		if to == nil {
			k.hops[ln] = laneTransport(p.Listen, c.real(dialTimeout))
		}
	}
	return k, nil
}

// laneTransport carries requests to one lane's proxy, a new connection for
// each request. MaxIdleConnsPerHost < 0 keeps no connection for reuse, so a
// connection is never reused and Go never silently re-sends a request (it
// only retries on reused connections). DisableKeepAlives would do the same
// but sends "Connection: close": the service would then close the
// connection after answering, and Toxiproxy passes that close through a
// lane that swallows the answer, so a lost response would fail at once
// instead of timing out.
func laneTransport(addr string, dialTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout}
	return &http.Transport{
		Proxy: nil, // never an HTTP proxy from the environment
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
		MaxIdleConnsPerHost: -1,
		DisableCompression:  true,
	}
}

// addr is the clean lane's address: the host of the link's URLs.
func (k *link) addr() string { return k.addrs[clean] }

// set replaces the link's faults.
func (k *link) set(f sim.LinkFaults) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = f
}

// decide rolls the fate of one request (detail: "POST /publish"; order:
// the order it names, if any): its lane and its delay. It records every
// fault it decides.
func (k *link) decide(detail, order string) (lane, time.Duration) {
	k.mu.Lock()
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
	k.mu.Unlock()
	if delay > 0 {
		k.log.add("latency", k.l.String(), detail, order)
	}
	if fault != "" {
		k.log.add(fault, k.l.String(), detail, order)
	}
	return ln, delay
}

// siteFault decides the site fault of the next HTTP request over the link
// (sim.LinkFaults.SiteFault) when its lane is clean, and records it: its
// number, the fault (sim.SiteClean for none) and the link's faults.
// A link to a server node carries connections, which these faults do not
// touch.
func (k *link) siteFault(ln lane, detail, order string) (uint64, string, sim.LinkFaults) {
	k.mu.Lock()
	f := k.faults
	k.sent++
	if k.perOrder == nil {
		k.perOrder = map[string]uint64{}
	}
	k.perOrder[order]++
	seq, site, extra := k.sent, sim.RequestSite(k.l, order, k.perOrder[order]), sim.SiteClean
	if ln == clean {
		extra = f.SiteFault(k.seed, site)
	}
	k.mu.Unlock()
	if extra != sim.SiteClean {
		k.log.addAt(extra, k.l.String(), detail, order, site)
	}
	return seq, extra, f
}

// RoundTrip sends req over the lane its roll picks, after its delay (on
// the runtime's clock), on a new connection. It never retries.
func (k *link) RoundTrip(req *http.Request) (*http.Response, error) {
	if k.to != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("link %s leads to %s, which does not speak HTTP", k.l, k.to.srvName())
	}
	if err := req.Context().Err(); err != nil { // never sent: nothing to decide
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("link %s: %w", k.l, err)
	}
	// The late and duplicated copies' times are on the runtime's clock,
	// as the caller's deadline is once converted.
	sent := k.clock.now()
	detail, order := req.Method+" "+req.URL.Path, req.Header.Get(sim.OrderHeader)
	ln, delay := k.decide(detail, order)
	seq, extra, f := k.siteFault(ln, detail, order)
	if extra == sim.SiteLate {
		deadline, ok := callerDeadline(req.Context())
		return k.late(req, f.LateAt(sent, k.clock.at(deadline), ok))
	}
	if delay > 0 {
		if err := k.clock.sleep(req.Context(), delay); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("link %s: waiting out the injected latency: %w", k.l, err)
		}
	}
	if extra == sim.SiteReorder {
		if err := k.hold(req.Context(), seq, f.Hold()); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("link %s: held back to be overtaken: %w", k.l, err)
		}
	}
	if extra == sim.SiteDuplicate {
		return k.duplicate(req, seq, sent.Add(f.DuplicateDelay))
	}
	resp, err := k.hops[ln].RoundTrip(req)
	if err == nil {
		k.answer(seq)
	}
	return resp, err
}

// retarget points every lane to a new upstream address.
func (k *link) retarget(upstream string) error {
	var errs []error
	for ln, p := range k.proxies {
		if p == nil {
			continue
		}
		if err := p.Update(&toxiproxy.Proxy{Listen: k.addrs[ln], Upstream: upstream, Enabled: true}); err != nil {
			errs = append(errs, fmt.Errorf("link %s: %s lane: %w", k.l, laneNames[ln], err))
		}
	}
	return errors.Join(errs...)
}

// close stops the lanes' proxies, which closes their connections.
func (k *link) close() {
	for ln, p := range k.proxies {
		if p != nil {
			p.Stop()
		}
		if t := k.hops[ln]; t != nil {
			t.CloseIdleConnections()
		}
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

// Transport implements sim.Runtime: the round tripper of the link from → to.
// A pair that is not a link of the world gets a transport that fails every
// request.
func (r *Runtime) Transport(from, to string) http.RoundTripper {
	if k := r.links[sim.Link{From: from, To: to}]; k != nil {
		return k
	}
	return noLink{sim.Link{From: from, To: to}}
}

// url is the base URL at which from reaches service: its link's clean lane.
func (r *Runtime) url(from, service string) string {
	if k := r.links[sim.Link{From: from, To: service}]; k != nil {
		return "http://" + k.addr()
	}
	return "http://" + service + ".no-link.invalid"
}

// newToxServer is an embedded Toxiproxy server: it owns no listener, only
// the proxies created on it.
func newToxServer() *toxiproxy.ApiServer {
	return toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
}
