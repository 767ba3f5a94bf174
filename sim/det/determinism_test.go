package det_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/patterns/naive"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// checkoutRun runs the naive dual write on the checkout world with seed:
// eight clients place 40 orders under lost responses, drops, latency,
// request crashes and crash points, then the world heals. It returns
// everything a run leaves: what the clients saw, the faults applied, the
// scheduler's steps and every table of every database.
func checkoutRun(t *testing.T, seed int64) string {
	t.Helper()
	spec, err := patterns.Lookup(naive.Name)
	require.NoError(t, err)
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	cfg.CallTimeout = 100 * time.Millisecond
	w := spec.World(cfg)
	r, err := det.Start(context.Background(), w, det.Options{Dir: t.TempDir(), Seed: seed})
	require.NoError(t, err)
	defer r.Stop()
	for _, l := range w.Links {
		require.NoError(t, r.SetLinkFaults(l, sim.LinkFaults{LostResponse: 0.1, DropRequest: 0.05, Latency: 5 * time.Millisecond, Jitter: 5 * time.Millisecond}))
	}
	require.NoError(t, r.SetNodeFaults(sim.Payments, sim.NodeFaults{CrashRate: 0.1, Downtime: 30 * time.Millisecond}))
	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{CrashPoints: map[string]float64{"after-local-commit": 0.2}, Downtime: 20 * time.Millisecond}))

	var seen []string
	client := r.Node(sim.Client)
	err = r.Main(context.Background(), func(ctx context.Context) error {
		done := 0
		for c := range 8 {
			r.Go(sim.Client, fmt.Sprint("client ", c), func(ctx context.Context) {
				defer func() { done++ }()
				for i := range 5 {
					key := fmt.Sprintf("o%d-%d", c, i)
					tctx, cancel := client.WithTimeout(ctx, 300*time.Millisecond)
					o, err := client.Orders().Checkout(tctx, key, sim.Checkout{Customer: fmt.Sprint("c", c%3), SKU: sim.SKUs[i], Qty: 1, Amount: 10})
					cancel()
					seen = append(seen, fmt.Sprintf("%s %s %s %v", r.Now().Sub(det.Epoch), key, o.State, err))
				}
			})
		}
		for done < 8 {
			r.Sleep(ctx, time.Millisecond)
		}
		if err := r.Heal(ctx); err != nil {
			return err
		}
		return r.Sleep(ctx, time.Second)
	})
	require.NoError(t, err)
	var b strings.Builder
	fmt.Fprintf(&b, "steps %d\n%s\n", r.Steps(), strings.Join(seen, "\n"))
	for _, a := range r.Applied() {
		fmt.Fprintf(&b, "%v\n", a)
	}
	_, err = r.Sync()
	require.NoError(t, err)
	for _, node := range w.Nodes() {
		dumpDB(t, &b, r.DBPath(node))
	}
	return b.String()
}

// dumpDB writes every row of every table of the database at path.
func dumpDB(t *testing.T, b *strings.Builder, path string) {
	t.Helper()
	db, err := sim.OpenReadOnly(path)
	require.NoError(t, err)
	defer db.Close()
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	require.NoError(t, err)
	var names []string
	for tables.Next() {
		var n string
		require.NoError(t, tables.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, tables.Close())
	for _, n := range names {
		rows, err := db.Query(`SELECT * FROM "` + n + `" ORDER BY rowid`)
		require.NoError(t, err)
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			require.NoError(t, rows.Scan(ptrs...))
			fmt.Fprintf(b, "%s %s:", path[strings.LastIndex(path, "/")+1:], n)
			for _, v := range vals {
				fmt.Fprintf(b, " %s", v)
			}
			b.WriteByte('\n')
		}
		require.NoError(t, rows.Close())
	}
}

// TestSameSeedSameRun: two runs with the same seed are the same run, to the
// last row and the last fault; another seed is another run.
func TestSameSeedSameRun(t *testing.T) {
	a, b := checkoutRun(t, 7), checkoutRun(t, 7)
	require.Equal(t, a, b)
	for _, fault := range []string{"lost-response", "drop-request", "crash-point orders", "crash payments", "restart payments"} {
		require.True(t, strings.Contains(a, fault), "the run has no %s: the test tests less than it says", fault)
	}
	require.NotEqual(t, a, checkoutRun(t, 8))
}
