package det_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// TestMain checks that a stopped runtime leaves no goroutine behind: no
// process, no worker, no database.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// callTimeout bounds the tests' calls.
const callTimeout = 300 * time.Millisecond

// start runs w until the test ends.
func start(t *testing.T, w sim.World, seed int64) *det.Runtime {
	t.Helper()
	r, err := det.Start(context.Background(), w, det.Options{Dir: t.TempDir(), Seed: seed})
	require.NoError(t, err)
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

// store is a test service on the orders node over a table of named rows,
// with a ticking process.
type store struct {
	starts int
	ticks  int
}

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
	s.starts++
	if err := sim.Migrate(n.Context(), n.DB(), `CREATE TABLE IF NOT EXISTS rows (name TEXT PRIMARY KEY)`); err != nil {
		return nil, err
	}
	n.Go("ticker", func(ctx context.Context) {
		for n.Sleep(ctx, 2*time.Millisecond) == nil {
			s.ticks++
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
	// Commit a row, then take a while to answer.
	mux.HandleFunc("POST /slow/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := insertRow(r.Context(), n.DB(), r.PathValue("name")); err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "db", err.Error())
			return
		}
		if n.Sleep(r.Context(), time.Second) != nil {
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	// Write a row in a transaction and wait before committing: against
	// the runtime's discipline.
	mux.HandleFunc("POST /hold/{name}", func(w http.ResponseWriter, r *http.Request) {
		sim.InTx(r.Context(), n.DB(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO rows(name) VALUES (?)`, r.PathValue("name")); err != nil {
				return err
			}
			return n.Sleep(r.Context(), time.Millisecond)
		})
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
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) { panic("a bug in the service") })
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

// call sends method path from node from to service with a callTimeout
// deadline on the runtime's clock and returns the status.
func call(ctx context.Context, from *sim.Node, service, method, path string) (int, error) {
	ctx, cancel := from.WithTimeout(ctx, callTimeout)
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

// rowsIn reads which of names node's database file holds, as the checker
// would, once r has written it (Sync).
func rowsIn(t *testing.T, r *det.Runtime, node string, names ...string) map[string]bool {
	t.Helper()
	_, err := r.Sync()
	require.NoError(t, err)
	return fileRows(t, r.DBPath(node), names...)
}

// fileRows reads which of names the database file at path holds (none
// when there is no file yet).
func fileRows(t *testing.T, path string, names ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		for _, name := range names {
			out[name] = false
		}
		return out
	}
	db, err := sim.OpenReadOnly(path)
	require.NoError(t, err)
	defer db.Close()
	for _, name := range names {
		var k int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM rows WHERE name = ?`, name).Scan(&k))
		out[name] = k == 1
	}
	return out
}

// applied lists the faults of r matching fault, as "target detail".
func applied(r *det.Runtime, fault string) []string {
	var out []string
	for _, a := range r.Applied() {
		if a.Fault == fault {
			out = append(out, a.Target+" "+a.Detail)
		}
	}
	return out
}
