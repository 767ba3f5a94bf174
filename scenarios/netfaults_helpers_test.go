package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// The worlds and helpers of netfaults_test.go.

// faultCallTimeout is how long the tests' nodes wait for one answer.
const faultCallTimeout = 300 * time.Millisecond

// faultRuntime is a runtime the tests run on: live and det, and live with
// every service an OS process, whose requests travel the runner's links.
type faultRuntime struct{ name, runtime, isolation string }

var faultRuntimes = []faultRuntime{
	{"live", "live", live.IsolationNone},
	{"det", "det", ""},
	{"live-process", "live", live.IsolationProcess},
}

// faultWorldPrefix starts the description of a world of faultWorlds that
// a run with isolation process gives its node processes; TestMain builds
// the world from it.
const faultWorldPrefix = "netfaults:"

// faultWorlds are the tests' worlds, by name. In each, orders is the
// caller: it makes the calls the tests ask of it (callerService), from
// its own node — its own process under isolation process.
var faultWorlds = map[string]func() sim.World{
	"late": func() sim.World { return paymentsWorld(faultCallTimeout) },
	"duplicate": func() sim.World {
		return sim.World{
			Services: map[string]sim.Service{
				sim.Orders:   sim.ServiceFunc(callerService),
				sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Readable}, 1, 0),
				sim.Shipping: sim.NewResourceService(sim.Shipping, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
			},
			Links:  []sim.Link{{From: sim.Client, To: sim.Orders}, {From: sim.Orders, To: sim.Payments}, {From: sim.Orders, To: sim.Shipping}},
			Config: sim.Config{CallTimeout: faultCallTimeout},
		}
	},
	"reorder":                   func() sim.World { return paymentsWorld(time.Minute) }, // the held request's caller waits for it
	"consumer-one-transaction":  func() sim.World { return consumerWorld(false) },
	"consumer-two-transactions": func() sim.World { return consumerWorld(true) },
}

// paymentsWorld is orders calling an idempotent payments, each node
// waiting callTimeout for an answer.
func paymentsWorld(callTimeout time.Duration) sim.World {
	return sim.World{
		Services: map[string]sim.Service{
			sim.Orders:   sim.ServiceFunc(callerService),
			sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
		},
		Links:  []sim.Link{{From: sim.Client, To: sim.Orders}, {From: sim.Orders, To: sim.Payments}},
		Config: sim.Config{CallTimeout: callTimeout},
	}
}

// consumerWorld is orders publishing to the broker and rewards consuming,
// with its inbox row and credit committed together or (split) apart.
func consumerWorld(split bool) sim.World {
	return sim.World{
		Services: map[string]sim.Service{
			sim.Orders:  sim.ServiceFunc(callerService),
			sim.Broker:  sim.BrokerService{},
			sim.Rewards: sim.RewardsService{Dedupe: true, SplitInbox: split},
		},
		Links: []sim.Link{
			{From: sim.Client, To: sim.Orders}, {From: sim.Orders, To: sim.Broker}, {From: sim.Rewards, To: sim.Broker},
		},
		Config: sim.Config{CallTimeout: faultCallTimeout},
	}
}

// faultWorld is the world of faultWorlds named name.
func faultWorld(name string) (sim.World, error) {
	w, ok := faultWorlds[name]
	if !ok {
		return sim.World{}, fmt.Errorf("no test world %q", name)
	}
	return w(), nil
}

// callOutcome is what orders got from the call a test asked of it.
type callOutcome struct {
	Err       string `json:"err,omitempty"`
	Transient bool   `json:"transient"` // sim.IsTransient: an unknown outcome
	TimedOut  bool   `json:"timed_out"` // it gave up at its deadline
	Deadline  int64  `json:"deadline"`  // its deadline, Unix nanoseconds
}

// callerService is orders in the tests' worlds: POST /create/SERVICE with
// a sim.ResourceRequest creates it at payments or shipping, POST
// /publish/ID publishes an order-confirmed event, and each answers what
// the call got (callOutcome).
func callerService(n *sim.Node) (http.Handler, error) {
	answer := func(w http.ResponseWriter, deadline time.Time, err error) {
		o := callOutcome{Deadline: deadline.UnixNano(), Transient: sim.IsTransient(err), TimedOut: errors.Is(err, context.DeadlineExceeded)}
		if err != nil {
			o.Err = err.Error()
		}
		json.NewEncoder(w).Encode(o)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /create/{service}", func(w http.ResponseWriter, r *http.Request) {
		var req sim.ResourceRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := map[string]sim.ResourceClient{sim.Payments: n.Payments(), sim.Shipping: n.Shipping()}[r.PathValue("service")]
		deadline := n.Now().Add(n.CallTimeout())
		_, err := c.Create(r.Context(), req)
		answer(w, deadline, err)
	})
	mux.HandleFunc("POST /publish/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		deadline := n.Now().Add(n.CallTimeout())
		_, err := n.Broker().Publish(r.Context(), sim.Event{Topic: sim.OrdersTopic, EventID: id,
			Type: sim.OrderConfirmedEvent, Order: "o-" + id, Customer: "c-1", Amount: 10})
		answer(w, deadline, err)
	})
	return mux, nil
}

// call asks orders, from the client, to make a call (callerService), and
// returns what orders got; the client waits up to a minute.
func call(ctx context.Context, rt Runtime, path string, body any) (callOutcome, error) {
	ctx, cancel := rt.WithTimeout(ctx, time.Minute)
	defer cancel()
	b, err := json.Marshal(body)
	if err != nil {
		return callOutcome{}, err
	}
	c := rt.Node(sim.Client)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL(sim.Orders)+path, bytes.NewReader(b))
	if err != nil {
		return callOutcome{}, err
	}
	resp, err := c.HTTP(sim.Orders).Do(req)
	if err != nil {
		return callOutcome{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return callOutcome{}, fmt.Errorf("orders answered %s: %s (%v)", resp.Status, data, err)
	}
	var o callOutcome
	return o, json.Unmarshal(data, &o)
}

// mustCall is call, failing the test on an error.
func mustCall(t *testing.T, ctx context.Context, rt Runtime, path string, body any) callOutcome {
	t.Helper()
	o, err := call(ctx, rt, path, body)
	require.NoError(t, err)
	return o
}

// startRuntime starts the world of faultWorlds named world on r until
// the test ends.
func startRuntime(t *testing.T, r faultRuntime, world string, seed int64) Runtime {
	t.Helper()
	w, err := faultWorld(world)
	require.NoError(t, err)
	rt, err := runtimes[r.runtime](context.Background(), w, t.TempDir(), false, Config{Seed: seed, Isolation: r.isolation}, []byte(faultWorldPrefix+world))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	return rt
}

// count runs a COUNT(*) query on node's database as the runtime has it
// committed now, as the checker reads it.
func count(t *testing.T, rt Runtime, node, query string, args ...any) int {
	t.Helper()
	return int(scalar(t, rt, node, query, args...))
}

// scalar runs a query of one integer on node's database as committed now.
func scalar(t *testing.T, rt Runtime, node, query string, args ...any) int64 {
	t.Helper()
	_, err := rt.Sync()
	require.NoError(t, err)
	db, err := sim.OpenReadOnly(rt.DBPath(node))
	require.NoError(t, err)
	defer db.Close()
	var n int64
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

// eventually sleeps on the runtime's clock until cond holds, for at most
// 10 s of it.
func eventually(t *testing.T, ctx context.Context, rt Runtime, what string, cond func() bool) {
	t.Helper()
	for deadline := rt.Now().Add(10 * time.Second); !cond(); {
		require.True(t, rt.Now().Before(deadline), "waited 10s for %s", what)
		require.NoError(t, rt.Sleep(ctx, 10*time.Millisecond))
	}
}

// sites lists the applied faults named fault, as "detail @ site".
func sites(rt Runtime, fault string) []string {
	var out []string
	for _, a := range rt.Applied() {
		if a.Fault == fault {
			out = append(out, a.Target+": "+a.Detail+" @ "+a.Site)
		}
	}
	return out
}
