package det_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
	_ "github.com/txchaos/txchaos/patterns/all"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// bounded are the tables a scan may read whole: their rows do not pile up
// with the orders (a fixed set, or rows deleted once handled).
var bounded = map[string]string{
	"positions":     "two rows, one per reader of the event store",
	"stock":         "one row per SKU",
	"offsets":       "one row per consumer group and topic",
	"staged_events": "a row leaves once its event is published",
	"unpublished":   "a row leaves once its event is handed off",
}

// planLine is one line of EXPLAIN QUERY PLAN that reads a table.
var planLine = regexp.MustCompile(`^(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?INDEX (\w+))?`)

// TestNoScanPerTick runs every registered pattern on the det runtime
// (checkouts under lost answers, so that retries and recovery run, then a
// while at rest, so that every background process ticks), collects every
// statement the services ran, and asks SQLite how it runs each: none may
// read a table that grows with the orders whole — a SCAN of the table, or
// of a full index of it — but through an index that holds only the rows
// it wants (a partial index). A recovery loop, relay or consumer that
// scans every order on every tick makes a run quadratic in its orders.
func TestNoScanPerTick(t *testing.T) {
	for _, name := range patterns.Names() {
		t.Run(name, func(t *testing.T) {
			spec, err := patterns.Lookup(name)
			require.NoError(t, err)
			cfg := sim.DefaultConfig()
			cfg.CallTimeout = 200 * time.Millisecond
			w := spec.World(cfg)
			ran := map[[2]string]bool{}
			det.TraceStatements(t, func(node, query string) { ran[[2]string{node, query}] = true })
			r := start(t, w, 3)
			for _, l := range w.Links {
				require.NoError(t, r.SetLinkFaults(l, sim.LinkFaults{LostResponse: 0.2}))
			}
			client := r.Node(sim.Client)
			var next, done atomic.Int64
			require.NoError(t, r.Main(context.Background(), func(ctx context.Context) error {
				for c := 0; c < 4; c++ {
					r.Go(sim.Client, fmt.Sprint("client ", c), func(ctx context.Context) {
						defer done.Add(1)
						for i := next.Add(1); i <= 40; i = next.Add(1) {
							co := sim.Checkout{Customer: "c1", SKU: sim.SKUs[int(i)%len(sim.SKUs)], Qty: 1, Amount: 10}
							client.Orders().Checkout(ctx, fmt.Sprint("o", i), co)
						}
					})
				}
				for done.Load() < 4 {
					r.Sleep(ctx, 10*time.Millisecond)
				}
				return nil
			}))
			require.NoError(t, r.Heal(context.Background()))
			require.NoError(t, r.Main(context.Background(), func(ctx context.Context) error { return r.Sleep(ctx, 3*time.Second) }))

			var stmts [][2]string
			for s := range ran {
				stmts = append(stmts, s)
			}
			sort.Slice(stmts, func(i, j int) bool { return stmts[i][0]+stmts[i][1] < stmts[j][0]+stmts[j][1] })
			checked := 0
			for _, s := range stmts {
				node, query := s[0], s[1]
				if !reads(query) {
					continue
				}
				checked++
				db, err := r.Reader(node)
				require.NoError(t, err)
				partial := partialIndexes(t, r, node)
				args := make([]any, strings.Count(query, "?"))
				rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
				require.NoError(t, err, "%s: %s", node, query)
				var plan []string
				for rows.Next() {
					var id, parent, notused int
					var detail string
					require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
					plan = append(plan, detail)
				}
				require.NoError(t, rows.Close())
				for _, line := range plan {
					m := planLine.FindStringSubmatch(line)
					if m == nil || m[1] == "SEARCH" || bounded[m[2]] != "" || (m[3] != "" && partial[m[3]]) {
						continue
					}
					t.Errorf("%s: %s\nreads %s whole: %s", node, oneLine(query), m[2], strings.Join(plan, "; "))
				}
			}
			require.NotZero(t, checked, "no statement that reads a table was seen")
		})
	}
}

// reads reports whether a statement reads a table: a query, an update, a
// delete, or an insert from a select.
func reads(query string) bool {
	q := strings.ToUpper(strings.TrimSpace(query))
	for _, p := range []string{"SELECT", "WITH", "UPDATE", "DELETE"} {
		if strings.HasPrefix(q, p) {
			return true
		}
	}
	return strings.HasPrefix(q, "INSERT") && strings.Contains(q, "SELECT")
}

// partialIndexes are the partial indexes of node's database, by name.
func partialIndexes(t *testing.T, r *det.Runtime, node string) map[string]bool {
	db, err := r.Reader(node)
	require.NoError(t, err)
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND sql LIKE '% WHERE %'`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out[name] = true
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
