package checker_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// TestStoredStateRoundTrip: a state stored with WriteState loads back as
// it was, with what could not be read and the pending keys, and is
// judged the same.
func TestStoredStateRoundTrip(t *testing.T) {
	w := cleanWorld(t)
	w.order("k5", "c3", "sku-3", 1, 10, sim.OrderPending)
	w.exec(sim.Orders, `INSERT INTO outbox(key, sent) VALUES ('k5', 0)`)
	w.resource(sim.Payments, "k5", "c3", "", 0, 10, sim.ResourceActive, 0) // no key: NULL
	whole := w.read()
	lacking := *whole
	lacking.Events, lacking.Offsets = []checker.EventRow{}, []checker.OffsetRow{}
	lacking.Missing = map[string]string{sim.Broker: "database broker.db does not exist", "pending other": "no such table: other"}
	for name, s := range map[string]*checker.State{"whole": whole, "broker missing": &lacking} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			require.NoError(t, checker.WriteState(context.Background(), dir, s))
			got, err := checker.LoadState(context.Background(), dir)
			require.NoError(t, err)
			require.Equal(t, s, got)
			require.Equal(t, checker.Check(nil, s, checker.Linearizable), checker.Check(nil, got, checker.Linearizable))
			if s.Missing == nil {
				require.NoFileExists(t, filepath.Join(dir, "missing.db"))
			} else {
				require.NoFileExists(t, filepath.Join(dir, sim.Broker+".db"), "a node not read gets no file")
			}
		})
	}
}

func TestStoredStateErrors(t *testing.T) {
	s := cleanWorld(t).read()
	dir := t.TempDir()
	require.ErrorContains(t, checker.WriteState(context.Background(), dir, s), "exists")
	_, err := checker.LoadState(context.Background(), dir)
	require.ErrorContains(t, err, "state.json")
}
