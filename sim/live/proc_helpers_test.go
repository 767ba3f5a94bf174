package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// testWorlds are the worlds the tests start with IsolationProcess, by the
// name they pass as Options.World: the node processes build them from it.
var testWorlds = map[string]func() sim.World{
	"rows": func() sim.World {
		return sim.World{
			Config:   sim.Config{CallTimeout: 300 * time.Millisecond},
			Services: map[string]sim.Service{sim.Orders: sim.ServiceFunc(rowsService)},
			Links:    []sim.Link{{From: sim.Client, To: sim.Orders}},
		}
	},
	"charge": func() sim.World {
		return sim.World{
			Config: sim.Config{CallTimeout: 300 * time.Millisecond},
			Services: map[string]sim.Service{
				sim.Orders:   sim.ServiceFunc(rowsService),
				sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
			},
			Links: []sim.Link{{From: sim.Client, To: sim.Orders}, {From: sim.Orders, To: sim.Payments}},
		}
	},
}

func testWorld(b []byte) (sim.World, error) {
	w, ok := testWorlds[string(b)]
	if !ok {
		return sim.World{}, fmt.Errorf("no test world %q", b)
	}
	return w(), nil
}

// startProcs starts the test world named world with each service in a
// process of its own.
func startProcs(t *testing.T, world string) *Runtime {
	t.Helper()
	return startProcsWith(t, world, 7, 0)
}

// startProcsSeed is startProcs with the given seed.
func startProcsSeed(t *testing.T, world string, seed int64) *Runtime {
	t.Helper()
	return startProcsWith(t, world, seed, 0)
}

// startProcsSlowed is startProcs with Options.Slowness.
func startProcsSlowed(t *testing.T, world string, slowness float64) *Runtime {
	t.Helper()
	return startProcsWith(t, world, 7, slowness)
}

// startProcsWith is startProcs with the given seed and Options.Slowness.
func startProcsWith(t *testing.T, world string, seed int64, slowness float64) *Runtime {
	t.Helper()
	w, err := testWorld([]byte(world))
	require.NoError(t, err)
	r, err := Start(context.Background(), w, Options{Dir: t.TempDir(), Seed: seed, Isolation: IsolationProcess, World: []byte(world), Slowness: slowness})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Stop()) })
	return r
}

// rowsService is orders over a table of named rows, in its own process:
// it says its process id, commits rows, holds a transaction open, reaches
// a crash point after a commit and charges payments.
func rowsService(n *sim.Node) (http.Handler, error) {
	if err := sim.Migrate(n.Context(), n.DB(), `CREATE TABLE IF NOT EXISTS rows (name TEXT PRIMARY KEY)`); err != nil {
		return nil, err
	}
	insert := func(ctx context.Context, db interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}, name string) error {
		_, err := db.ExecContext(ctx, `INSERT INTO rows(name) VALUES (?)`, name)
		return err
	}
	fail := func(w http.ResponseWriter, err error) {
		sim.WriteError(w, http.StatusServiceUnavailable, "failed", err.Error())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pid", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getpid()) })
	// The node's clock, and a sleep on it.
	mux.HandleFunc("GET /now", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, n.Now().UnixNano()) })
	mux.HandleFunc("POST /sleep/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.PathValue("ms"))
		n.Sleep(r.Context(), time.Duration(ms)*time.Millisecond)
	})
	mux.HandleFunc("POST /rows/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := insert(r.Context(), n.DB(), r.PathValue("name")); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /rows/{name}", func(w http.ResponseWriter, r *http.Request) {
		var name string
		err := n.DB().QueryRowContext(r.Context(), `SELECT name FROM rows WHERE name = ?`, r.PathValue("name")).Scan(&name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			w.WriteHeader(http.StatusNotFound)
		case err != nil:
			fail(w, err)
		}
	})
	// Write a row in a transaction, say so, and hold it open: neither
	// commit nor rollback.
	mux.HandleFunc("POST /hold/{name}", func(w http.ResponseWriter, r *http.Request) {
		tx, err := n.DB().BeginTx(context.WithoutCancel(r.Context()), nil)
		if err != nil {
			fail(w, err)
			return
		}
		if err := insert(r.Context(), tx, r.PathValue("name")); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, "held")
		w.(http.Flusher).Flush()
		select {} // until the process is killed
	})
	mux.HandleFunc("POST /point/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := insert(r.Context(), n.DB(), r.PathValue("name")); err != nil {
			fail(w, err)
			return
		}
		n.CrashPoint("after-commit")
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /charge/{key}", func(w http.ResponseWriter, r *http.Request) {
		_, err := n.Payments().Create(r.Context(), sim.ResourceRequest{Key: r.PathValue("key"), Order: "o1", Customer: "c1", Amount: 10})
		if err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /die", func(w http.ResponseWriter, r *http.Request) {
		n.Go("die", func(context.Context) { panic("the node's own bug") })
	})
	return mux, nil
}

// procGuard bounds the process tests' waits for something that must
// happen (a node process to serve, to exit): a guard against a hang on a
// busy machine, never a speed verdict.
const procGuard = time.Minute

// send sends method path from the client to orders, with a deadline of
// two seconds on the runtime's clock, and returns the status and body.
func send(r *Runtime, method, path string) (int, string, error) {
	c := r.Node(sim.Client)
	ctx, cancel := c.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.URL(sim.Orders)+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.HTTP(sim.Orders).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// pidOf is the process id the node serving orders gives.
func pidOf(t *testing.T, r *Runtime) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		code, body, err := send(r, http.MethodGet, "/pid")
		if err != nil || code != http.StatusOK {
			return false
		}
		pid, err = strconv.Atoi(body)
		return err == nil
	}, procGuard, 20*time.Millisecond, "orders serves")
	return pid
}

// gone reports whether no process has id pid any more.
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// RowsIn reads which of names the database file at path holds, as the
// checker does. Exported for the package's external tests too.
func RowsIn(t *testing.T, path string, names ...string) map[string]bool {
	t.Helper()
	db, err := sim.OpenReadOnly(path)
	require.NoError(t, err)
	defer db.Close()
	out := map[string]bool{}
	for _, name := range names {
		var k int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM rows WHERE name = ?`, name).Scan(&k))
		out[name] = k == 1
	}
	return out
}

// AppliedOf lists the faults of r matching fault, as "target detail".
// Exported for the package's external tests too.
func AppliedOf(r *Runtime, fault string) []string {
	var out []string
	for _, a := range r.Applied() {
		if a.Fault == fault {
			out = append(out, a.Target+" "+a.Detail)
		}
	}
	return out
}

// sitesOf lists the faults of r matching fault, as "target: detail @ site".
func sitesOf(r *Runtime, fault string) []string {
	var out []string
	for _, a := range r.Applied() {
		if a.Fault == fault {
			out = append(out, a.Target+": "+a.Detail+" @ "+a.Site)
		}
	}
	return out
}
