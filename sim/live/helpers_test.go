package live_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// callTimeout bounds the tests' calls: short, so that faulted calls fail
// fast.
const callTimeout = 300 * time.Millisecond

// hangGuard bounds the tests' waits for something that must happen: long
// enough that no machine, however busy, reaches it unless the runtime is
// broken. It guards against a hang and says nothing about speed.
const hangGuard = time.Minute

// waitFor polls cond until it holds, failing the test after hangGuard.
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, hangGuard, 5*time.Millisecond, msg)
}

// start runs w until the test ends.
func start(t *testing.T, w sim.World) *live.Runtime {
	t.Helper()
	r, err := live.Start(context.Background(), w, live.Options{Dir: t.TempDir(), Seed: 42})
	require.NoError(t, err)
	t.Logf("slowness %.2f", r.Slowness())
	t.Cleanup(func() { require.NoError(t, r.Stop()) })
	return r
}

// paymentsWorld is orders (a service that does nothing itself: the tests
// call from its node) and a real idempotent payments service; a node waits
// callTimeout for an answer.
func paymentsWorld() sim.World {
	return sim.World{
		Config: sim.Config{CallTimeout: callTimeout},
		Services: map[string]sim.Service{
			sim.Orders:   sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) { return http.NewServeMux(), nil }),
			sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
		},
		Links: []sim.Link{{From: sim.Orders, To: sim.Payments}},
	}
}

// store is a test service on the orders node over a table of named rows.
type store struct {
	starts atomic.Int32
	ticks  atomic.Int64  // its process's ticks
	held   chan struct{} // a hold or wait request has written its row and waits
	free   chan struct{} // lets a wait request answer
}

func newStore() *store { return &store{held: make(chan struct{}, 1), free: make(chan struct{})} }

func (s *store) world() sim.World {
	return sim.World{
		Services: map[string]sim.Service{sim.Orders: s},
		Links:    []sim.Link{{From: sim.Client, To: sim.Orders}},
	}
}

func insertRow(ctx context.Context, db *sql.DB, name string) error {
	_, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO rows(name) VALUES (?)`, name)
	return err
}

// Start implements sim.Service.
func (s *store) Start(n *sim.Node) (http.Handler, error) {
	s.starts.Add(1)
	if err := sim.Migrate(n.Context(), n.DB(), `CREATE TABLE IF NOT EXISTS rows (name TEXT PRIMARY KEY)`); err != nil {
		return nil, err
	}
	n.Go("ticker", func(ctx context.Context) {
		for n.Sleep(ctx, 2*time.Millisecond) == nil {
			s.ticks.Add(1)
		}
	})
	mux := http.NewServeMux()
	// Commit a row.
	mux.HandleFunc("POST /rows/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := insertRow(r.Context(), n.DB(), r.PathValue("name")); err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	// Write a row in a transaction left open until the node's end.
	mux.HandleFunc("POST /hold/{name}", func(w http.ResponseWriter, r *http.Request) {
		tx, err := n.DB().BeginTx(r.Context(), nil)
		if err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
			return
		}
		if _, err := tx.ExecContext(r.Context(), `INSERT INTO rows(name) VALUES (?)`, r.PathValue("name")); err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
			return
		}
		s.held <- struct{}{}
		<-r.Context().Done() // neither commit nor rollback: a crash ends it
	})
	// Commit a row, then answer once the test frees it.
	mux.HandleFunc("POST /wait/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := insertRow(r.Context(), n.DB(), r.PathValue("name")); err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
			return
		}
		s.held <- struct{}{}
		select {
		case <-s.free:
			w.WriteHeader(http.StatusCreated)
		case <-r.Context().Done():
		}
	})
	// Commit a row, then reach a crash point.
	mux.HandleFunc("POST /point/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := insertRow(r.Context(), n.DB(), r.PathValue("name")); err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
			return
		}
		n.CrashPoint("after-commit")
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /rows/{name}", func(w http.ResponseWriter, r *http.Request) {
		var name string
		err := n.DB().QueryRowContext(r.Context(), `SELECT name FROM rows WHERE name = ?`, r.PathValue("name")).Scan(&name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			w.WriteHeader(http.StatusNotFound)
		case err != nil:
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
		}
	})
	return mux, nil
}

// call sends method path from node from to service and returns the status.
// It waits callTimeout on the runtime's clock.
func call(ctx context.Context, from *sim.Node, service, method, path string) (int, error) {
	return callWithin(ctx, from, service, method, path, callTimeout)
}

// callWithin is call waiting d on the runtime's clock.
func callWithin(ctx context.Context, from *sim.Node, service, method, path string, d time.Duration) (int, error) {
	ctx, cancel := from.WithTimeout(ctx, d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, from.URL(service)+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := from.HTTP(service).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
