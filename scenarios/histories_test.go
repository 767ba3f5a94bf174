package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// staleRead is a history in which a read after a confirmed answer finds no
// order (read-your-writes broken), and a customer's balance at rest misses
// that order (it never converged).
func staleRead() []checker.Op {
	ms := time.Millisecond
	co := sim.Checkout{Customer: "c001", SKU: sim.SKUs[0], Qty: 1, Amount: 15}
	return []checker.Op{
		{Client: 0, Kind: checker.KindCheckout, Key: "o000001", Attempt: 1, Input: co, Call: 10 * ms, Return: 20 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		{Client: 0, Kind: checker.KindGet, Key: "o000001", Call: 21 * ms, Return: 22 * ms, Outcome: checker.OutcomeOK, State: checker.StateAbsent},
		{Client: 0, Kind: checker.KindCheckout, Key: "o000002", Attempt: 1, Input: co, Call: 30 * ms, Return: 40 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		{Client: 1, Kind: checker.KindBalance, Key: "c001", Call: 90 * ms, Return: 91 * ms, Outcome: checker.OutcomeOK, Points: 15, AtRest: true},
	}
}

func TestWriteHistories(t *testing.T) {
	h := staleRead()
	res := &Result{History: h, Report: checker.Check(h, nil, checker.Linearizable), Applied: []sim.Applied{{At: 15 * time.Millisecond, Fault: "latency", Target: "client->orders"}}}
	require.Equal(t, 1, res.Report.Anomalies[checker.SessionStaleRead].Count, res.Report.String())
	require.Equal(t, 1, res.Report.Anomalies[checker.UnconvergedRead].Count, res.Report.String())
	dir := t.TempDir()
	paths, err := res.WriteHistories(dir)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "history-o000001.html"), filepath.Join(dir, "history-customer-c001.html")}, paths)
	for i, key := range []string{"o000001", "c001"} {
		b, err := os.ReadFile(paths[i])
		require.NoError(t, err)
		require.True(t, strings.Contains(string(b), key), "%s names %s", paths[i], key)
		st, err := os.Stat(paths[i])
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "%s is readable by all, as record.json is", paths[i])
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no stray temporary files")

	clean := &Result{History: h[2:3], Report: checker.Check(h[2:3], nil, checker.Linearizable)}
	paths, err = clean.WriteHistories(t.TempDir())
	require.NoError(t, err)
	require.Empty(t, paths, "nothing to draw when the history linearizes")

	_, err = res.WriteHistories(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "history of o000001")
}
