package scenarios

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// TestProcessRecord: a run with isolation process says so in its record,
// and its nodes ran in processes of their own: the coordinator's crashes
// at its crash point were decided by the runtime and each was followed by
// a restart.
func TestProcessRecord(t *testing.T) {
	cfg := quickLive("outbox", "crashpoint=after-local-commit:0.3")
	cfg.Workload.Txns = 20
	cfg.Isolation = live.IsolationProcess
	res := execute(t, cfg)
	require.Positive(t, res.Faults().Counts["crash-point orders"], "the coordinator crashed")
	require.Equal(t, res.Faults().Counts["crash-point orders"], res.Faults().Counts["restart orders"], "each crash was followed by a restart")
	rec, err := res.Record()
	require.NoError(t, err)
	var got struct {
		Isolation string `json:"isolation"`
	}
	require.NoError(t, json.Unmarshal(rec.Config, &got))
	require.Equal(t, "process", got.Isolation)
	require.Equal(t, "clean", rec.Verdict, FormatReport(res))
}

// TestIsolationRefused: process isolation runs on the live runtime only,
// without JetStream; an unknown isolation is named.
func TestIsolationRefused(t *testing.T) {
	cfg := quick("outbox", "")
	cfg.Isolation = "process"
	require.ErrorContains(t, cfg.Validate(), "isolation: process runs on the live runtime only (runtime is det)")
	cfg = quickLive("outbox", "")
	cfg.Isolation = "vm"
	require.ErrorContains(t, cfg.Validate(), `isolation: "vm" is not one of [none process]`)
	cfg = quickJetStream("outbox", "")
	cfg.Isolation = "process"
	err := cfg.Validate()
	require.ErrorContains(t, err, "isolation: process cannot run broker jetstream")
	require.True(t, strings.Contains(err.Error(), "use isolation none"), err)
}

// TestProcessUnknownPattern: a pattern the node processes cannot find —
// neither registered nor given to NodeMain — stops the run with an error
// that says so and what to do.
func TestProcessUnknownPattern(t *testing.T) {
	spec, err := patterns.Lookup("outbox")
	require.NoError(t, err)
	spec.Name = "my-outbox" // the caller's own, unregistered
	cfg := quickLive("", "")
	cfg.Isolation = live.IsolationProcess
	_, err = ExecuteSpec(t.Context(), spec, cfg, t.TempDir())
	require.ErrorContains(t, err, "the node process exited before serving (exit status 1); it said:")
	require.ErrorContains(t, err, `pattern "my-outbox" is not registered`)
	require.ErrorContains(t, err, "nor given to scenarios.NodeMain")
}

// buggySpec is the outbox with a bug that panics in a process of orders
// once it has run a moment.
func buggySpec() patterns.Spec {
	spec, err := patterns.Lookup("outbox")
	if err != nil {
		panic(err)
	}
	spec.Name = "buggy-outbox"
	orders := spec.New
	spec.New = func() sim.Service {
		svc := orders()
		return sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) {
			n.Go("bug", func(ctx context.Context) {
				if n.Sleep(ctx, 100*time.Millisecond) == nil {
					panic("a bug in the pattern")
				}
			})
			return svc.Start(n)
		})
	}
	return spec
}

// TestProcessBug: a node process that dies of its own bug — no fault
// did it — fails the run with what it said, as a panic in the runner's
// process would.
func TestProcessBug(t *testing.T) {
	cfg := quickLive("", "")
	cfg.Workload.Txns = 10
	cfg.Isolation = live.IsolationProcess
	_, err := ExecuteSpec(t.Context(), buggySpec(), cfg, t.TempDir())
	require.ErrorContains(t, err, "node orders: its process exited by itself, which no fault does")
	require.ErrorContains(t, err, "panic: a bug in the pattern")
}
