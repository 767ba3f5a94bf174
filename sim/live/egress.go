package live

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// The requests between the runtime and its node processes (process.go).

// egress serves link k's requests from its node process: each goes over
// the link, its lane and fault decided here, and its answer back; a
// request that fails cuts the node's connection, which the node sees as
// the transport error it would have seen in this process. The caller's
// deadline comes along (deadlineHeader), so that a late request arrives
// after it as it would in this process.
func (p *procs) egress(k *link) (string, error) {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", k.addr(), pr.In.Host
		},
		Transport:    k,
		ErrorHandler: abort,
		ErrorLog:     log.New(io.Discard, "", 0),
	}
	return p.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(deadlineHeader); v != "" {
			r.Header.Del(deadlineHeader)
			if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
				r = r.WithContext(context.WithValue(r.Context(), callerDeadlineKey{}, time.Unix(0, ns)))
			}
		}
		proxy.ServeHTTP(w, r)
	}))
}

// deadlineHeader carries the deadline of a node process's request, in
// Unix nanoseconds, to the runtime's egress (deadlineTransport).
const deadlineHeader = "Txchaos-Deadline"

// callerDeadlineKey is the context key of a node process's deadline in its
// request's context at the egress.
type callerDeadlineKey struct{}

// callerDeadline is the deadline of the caller of a request with context
// ctx, on the wall clock: the node process's, at an egress, or ctx's own.
// (A context's deadline is on the wall clock: WithTimeout scales d to it.
// The link converts it to the runtime's clock, clock.at.)
func callerDeadline(ctx context.Context) (time.Time, bool) {
	if d, ok := ctx.Value(callerDeadlineKey{}).(time.Time); ok {
		return d, true
	}
	return ctx.Deadline()
}

// deadlineTransport sends a node process's requests to the egress with
// their deadline in deadlineHeader, on the wall clock, which the process
// and the runtime share (their own clocks are both the wall clock slowed
// down by the same factor from the same epoch).
type deadlineTransport struct{ next http.RoundTripper }

func (t deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if d, ok := req.Context().Deadline(); ok {
		req = req.Clone(req.Context())
		req.Header.Set(deadlineHeader, strconv.FormatInt(d.UnixNano(), 10))
	}
	return t.next.RoundTrip(req)
}

// forward is the handler of a node process's incarnation in the runtime:
// the guard's service, it hands each request to the process at addr on a
// connection of its own.
func forward(addr string, dialTimeout time.Duration) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", addr, pr.In.Host
		},
		Transport:    laneTransport(addr, dialTimeout),
		ErrorHandler: abort,
		ErrorLog:     log.New(io.Discard, "", 0),
	}
}

// abort cuts the connection of a request that failed, without an answer.
func abort(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) }
