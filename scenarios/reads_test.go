package scenarios

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// replicaEvery is how often laggingReplica copies its orders to the
// replica its reads are served from.
const replicaEvery = 40 * time.Millisecond

// laggingReplica is the outbox pattern with its reads served from a
// replica of the orders table that a process refreshes every
// replicaEvery: a read model updated asynchronously, the way a read
// replica or a cache is. It claims reads, which it does not keep: a
// client's read right after its checkout's answer finds the replica behind.
func laggingReplica(t *testing.T, claims checker.ReadModel) patterns.Spec {
	outbox, err := patterns.Lookup("outbox")
	require.NoError(t, err)
	spec := outbox
	spec.Name = "outbox-with-lagging-replica"
	spec.Reads = claims
	spec.New = func() sim.Service {
		inner := outbox.New()
		return sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) {
			h, err := inner.Start(n)
			if err != nil {
				return nil, err
			}
			if _, err := n.DB().Exec(`CREATE TABLE IF NOT EXISTS orders_replica AS SELECT * FROM orders WHERE 0`); err != nil {
				return nil, err
			}
			n.Go("replicate", func(ctx context.Context) {
				for n.Sleep(ctx, replicaEvery) == nil {
					if err := replicate(ctx, n.DB()); err != nil && ctx.Err() == nil {
						t.Errorf("replicate: %v", err)
					}
				}
			})
			mux := http.NewServeMux()
			mux.Handle("/", h)
			mux.HandleFunc("GET /orders/{key}", func(w http.ResponseWriter, r *http.Request) {
				var o sim.Order
				err := n.DB().QueryRowContext(r.Context(), `SELECT key, customer, sku, qty, amount, state, reason FROM orders_replica WHERE key = ?`,
					r.PathValue("key")).Scan(&o.Key, &o.Customer, &o.SKU, &o.Qty, &o.Amount, &o.State, &o.Reason)
				switch {
				case errors.Is(err, sql.ErrNoRows):
					sim.WriteError(w, http.StatusNotFound, "not_found", "no order "+r.PathValue("key"))
				case err != nil:
					sim.WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
				default:
					sim.WriteJSON(w, http.StatusOK, o)
				}
			})
			return mux, nil
		})
	}
	return spec
}

// replicate copies the orders table to the replica, in one transaction.
func replicate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM orders_replica`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders_replica SELECT * FROM orders`); err != nil {
		return err
	}
	return tx.Commit()
}

// TestReadPromiseBroken: a pattern that promises read-your-writes but
// serves its reads from a lagging copy is caught — session-stale-read is
// an anomaly, and Run fails the test — while the same pattern promising
// only eventual reads is clean, its stale reads information; the outbox it
// wraps, which reads the table its checkout writes, holds every model.
func TestReadPromiseBroken(t *testing.T) {
	sc, err := Builtin("business-rejections") // no faults: the lag alone
	require.NoError(t, err)
	sc.Config.Runtime = "det"
	sc.Config.Workload.Txns = 40

	t.Run("it claims read-your-writes: caught", func(t *testing.T) {
		rec := &failures{TB: t}
		res := Run(rec, laggingReplica(t, checker.Session), sc)
		r := res.Report
		require.Equal(t, checker.VerdictAnomalies, r.Verdict)
		f := r.Anomalies[checker.SessionStaleRead]
		require.Positive(t, f.Count, r.String())
		require.Contains(t, f.Examples[0], "after its own checkout#1 answered confirmed")
		require.NotContains(t, r.Reads.Held, checker.Session)
		require.Contains(t, r.Reads.Unpromised, checker.StaleRead, "beyond the promise: the reads of the neighbour's orders lag too")
		require.Len(t, rec.errors, 1, "Run failed the test")
		require.Contains(t, rec.errors[0], "session-stale-read: want zero, found")
		for _, c := range checker.Classes {
			if c != checker.SessionStaleRead {
				require.Zero(t, r.Anomalies[c].Count, "only the broken promise: %s", r.String())
			}
		}
	})
	t.Run("it claims eventual reads: clean, its stale reads reported", func(t *testing.T) {
		res := Run(t, laggingReplica(t, checker.Eventual), sc)
		r := res.Report
		require.Equal(t, checker.VerdictClean, r.Verdict, r.String())
		require.Equal(t, []checker.ReadModel{checker.Eventual}, r.Reads.Held)
		require.Positive(t, r.Reads.Stale)
		require.Positive(t, r.Reads.Unpromised[checker.SessionStaleRead].Count)
		require.LessOrEqual(t, r.Reads.MaxStaleness, 2*replicaEvery, "no read is staler than the replica's period allows: %s", r.Reads)
	})
	t.Run("the outbox it wraps reads what it wrote", func(t *testing.T) {
		outbox, err := patterns.Lookup("outbox")
		require.NoError(t, err)
		res := Run(t, outbox, sc)
		require.Equal(t, checker.ReadModels, res.Report.Reads.Held)
		require.Zero(t, res.Report.Reads.Stale)
	})
}

// TestReadPromiseMustBeAModel: a spec whose read promise is no model is
// refused, naming the field and the models.
func TestReadPromiseMustBeAModel(t *testing.T) {
	spec, err := patterns.Lookup("outbox")
	require.NoError(t, err)
	spec.Reads = "strong"
	_, err = ExecuteSpec(context.Background(), spec, quick("outbox", ""), t.TempDir())
	require.ErrorContains(t, err, `pattern outbox: Reads: "strong" is not a read model ([linearizable session eventual])`)
}

// failures is a testing.TB that records Run's failures instead of failing
// the test, so that a test can check what Run reports.
type failures struct {
	testing.TB
	errors []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// FailNow is an unexpected stop (a run that did not complete): fail the
// real test with what was recorded.
func (f *failures) FailNow() {
	f.TB.Fatalf("stopped: %s", strings.Join(f.errors, "\n"))
}
