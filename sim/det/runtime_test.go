package det_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// TestLinkFaults sends a charge from orders to payments under each link
// fault and checks what the caller saw, when on the virtual clock, and
// what the payments database holds; then heals the link.
func TestLinkFaults(t *testing.T) {
	link := sim.Link{From: sim.Orders, To: sim.Payments}
	tests := []struct {
		name       string
		faults     sim.LinkFaults
		wantErr    bool
		wantCharge bool // the payments database holds the charge
		minElapsed time.Duration
		maxElapsed time.Duration
		fault      string // the Applied record
	}{
		{"lost response: charged, caller times out", sim.LinkFaults{LostResponse: 1}, true, true, callTimeout, callTimeout, "lost-response"},
		{"dropped request: not charged, caller times out", sim.LinkFaults{DropRequest: 1}, true, false, callTimeout, callTimeout, "drop-request"},
		{"partition: not charged, caller times out", sim.LinkFaults{Down: true}, true, false, callTimeout, callTimeout, "partition"},
		{"latency: charged, late", sim.LinkFaults{Latency: 80 * time.Millisecond, Jitter: 10 * time.Millisecond}, false, true,
			70 * time.Millisecond, 90*time.Millisecond + 2*det.DefaultNetDelay, "latency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, paymentsWorld(), 42)
			orders := r.Node(sim.Orders)
			require.NoError(t, r.SetLinkFaults(link, tc.faults))

			// No deadline here: the world's CallTimeout bounds the call.
			req := sim.ResourceRequest{Key: "charge-1", Order: "o1", Customer: "c1", Amount: 100}
			// That nobody waits for the deadline on the wall clock is
			// TestVirtualClock's to show, by a margin no machine can eat.
			began := r.Now()
			_, err := orders.Payments().Create(context.Background(), req)
			elapsed := r.Now().Sub(began)
			if tc.wantErr {
				require.Error(t, err)
				require.True(t, sim.IsTransient(err), "want *sim.Unavailable, got %T: %v", err, err)
				require.ErrorIs(t, err, context.DeadlineExceeded)
			} else {
				require.NoError(t, err)
			}
			require.GreaterOrEqual(t, elapsed, tc.minElapsed)
			require.LessOrEqual(t, elapsed, tc.maxElapsed+readings)
			require.Equal(t, []string{"orders->payments POST /resources"}, applied(r, tc.fault))

			// The god's-eye view: the payments database itself.
			_, err = r.Sync()
			require.NoError(t, err)
			db, err := sim.OpenReadOnly(r.DBPath(sim.Payments))
			require.NoError(t, err)
			defer db.Close()
			var charges, arrived int
			require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM resources WHERE key = ?`, req.Key).Scan(&charges))
			require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM log WHERE key = ?`, req.Key).Scan(&arrived))
			if tc.wantCharge {
				require.Equal(t, 1, charges, "the service must have handled the request")
				require.Equal(t, 1, arrived, "the request reached the service once")
			} else {
				require.Zero(t, charges, "the request must never have reached the service")
				require.Zero(t, arrived, "the request must never have reached the service")
			}

			require.NoError(t, r.Heal(context.Background()))
			require.NoError(t, r.Heal(context.Background()), "Heal is idempotent")
			res, err := orders.Payments().Create(context.Background(), req)
			require.NoError(t, err, "after Heal the link works")
			require.Equal(t, sim.ResourceActive, res.State)
		})
	}
}

// TestCrash crashes a node while a request is in flight: the caller hears
// at once, the node's process stops, the node refuses requests while down,
// and after the restart its committed rows are there and its process runs
// again.
func TestCrash(t *testing.T) {
	s := &store{}
	r := start(t, s.world(), 1)
	client := r.Node(sim.Client)
	ctx := context.Background()

	status, err := call(ctx, client, sim.Orders, http.MethodPost, "/rows/A")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status)

	var slowErr error
	var slowAt, crashAt time.Time
	var ticks, refusedTicks int
	var refused error
	err = r.Main(ctx, func(ctx context.Context) error {
		done := false
		r.Go(sim.Client, "slow", func(ctx context.Context) {
			_, slowErr = call(ctx, client, sim.Orders, http.MethodPost, "/slow/B") // commits B, then answers a second later
			slowAt, done = r.Now(), true
		})
		if err := r.Sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
		crashAt = r.Now()
		if err := r.Crash(sim.Orders, 0); err != nil {
			return err
		}
		for !done {
			r.Sleep(ctx, time.Millisecond)
		}
		ticks = s.ticks
		_, refused = call(ctx, client, sim.Orders, http.MethodGet, "/rows/A")
		r.Sleep(ctx, 100*time.Millisecond)
		refusedTicks = s.ticks
		return nil
	})
	require.NoError(t, err)
	require.Error(t, slowErr, "the crash cuts the request in flight")
	require.True(t, slowAt.After(crashAt), "the caller hears of the crash after it")
	require.Less(t, slowAt.Sub(crashAt), readings, "the caller hears of the crash at once, not at its deadline")
	require.ErrorContains(t, refused, "connection refused", "a crashed node answers nothing")
	require.Positive(t, ticks, "the node's process ran before the crash")
	require.Equal(t, ticks, refusedTicks, "a crashed node's process does not run")
	require.Equal(t, map[string]bool{"A": true, "B": true}, rowsIn(t, r, sim.Orders, "A", "B"), "committed rows survive the crash")

	require.NoError(t, r.Restart(ctx, sim.Orders))
	require.Equal(t, 2, s.starts, "Restart runs the service's Start again")
	status, err = call(ctx, client, sim.Orders, http.MethodGet, "/rows/B")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, r.Sleep(ctx, 10*time.Millisecond))
	require.Greater(t, s.ticks, refusedTicks, "the restarted node's process runs")
	require.Equal(t, []string{"orders "}, applied(r, "crash"))
	require.Equal(t, []string{"orders "}, applied(r, "restart"))
}

// TestCrashPoint crashes the node at a crash point after a commit: the
// caller's connection is cut, the commit stays, and the node comes back
// after its downtime on the virtual clock.
func TestCrashPoint(t *testing.T) {
	s := &store{}
	r := start(t, s.world(), 1)
	client := r.Node(sim.Client)
	ctx := context.Background()
	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{CrashPoints: map[string]float64{"after-commit": 1}, Downtime: 50 * time.Millisecond}))

	began := r.Now()
	_, err := call(ctx, client, sim.Orders, http.MethodPost, "/point/C")
	require.ErrorContains(t, err, "connection reset")
	require.Less(t, r.Now().Sub(began), callTimeout, "the cut is heard at once")
	require.Equal(t, []string{"orders after-commit"}, applied(r, "crash-point"))
	require.Equal(t, map[string]bool{"C": true}, rowsIn(t, r, sim.Orders, "C"))

	_, err = call(ctx, client, sim.Orders, http.MethodGet, "/rows/C")
	require.ErrorContains(t, err, "connection refused", "down for its downtime")
	require.NoError(t, r.Sleep(ctx, 50*time.Millisecond))
	status, err := call(ctx, client, sim.Orders, http.MethodGet, "/rows/C")
	require.NoError(t, err, "restarted after its downtime")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 2, s.starts)
	require.Len(t, applied(r, "restart"), 1)
}

// TestNodeFaults applies a node's error and crash rates per request, as
// the live runtime does: an injected error answers 503 before acting; a
// crash before acting leaves nothing, a crash after acting leaves the row;
// either way the caller hears a cut connection.
func TestNodeFaults(t *testing.T) {
	s := &store{}
	r := start(t, s.world(), 3)
	client := r.Node(sim.Client)
	ctx := context.Background()

	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{ErrorRate: 1}))
	status, err := call(ctx, client, sim.Orders, http.MethodPost, "/rows/E")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, []string{"orders POST /rows/E"}, applied(r, "error"))
	require.Equal(t, map[string]bool{"E": false}, rowsIn(t, r, sim.Orders, "E"), "an injected error comes before the service acts")

	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{CrashRate: 1, Downtime: 10 * time.Millisecond}))
	// Before or after is a fair coin from the seeded source: with 24
	// crashes, all on one side (failing the last checks below although the
	// runtime is right) has probability 2 × 2⁻²⁴ ≈ 1.2e-7 for any seed; the
	// seed is fixed, so every run draws the same.
	var names []string
	for i := range 24 {
		names = append(names, fmt.Sprintf("k%d", i+1))
	}
	for _, name := range names {
		_, err := call(ctx, client, sim.Orders, http.MethodPost, "/rows/"+name)
		require.ErrorContains(t, err, "connection reset")
		require.NoError(t, r.Sleep(ctx, 11*time.Millisecond)) // past the downtime
	}
	crashes := applied(r, "crash")
	require.Len(t, crashes, len(names))
	have := rowsIn(t, r, sim.Orders, names...)
	var before, after int
	for i, name := range names {
		switch crashes[i] {
		case "orders before POST /rows/" + name:
			before++
			require.False(t, have[name], "a crash before acting leaves no row %s", name)
		case "orders after POST /rows/" + name:
			after++
			require.True(t, have[name], "a crash after acting leaves row %s", name)
		default:
			t.Fatalf("crash record %q", crashes[i])
		}
	}
	require.Positive(t, before)
	require.Positive(t, after)
	require.Len(t, applied(r, "restart"), len(names))
}

// readings bounds the virtual time a test's clock readings add: each
// takes a nanosecond, and a test makes far fewer than a thousand.
const readings = time.Microsecond

// TestReadingsAreOrdered: every reading of the clock is strictly later than
// the one before, whichever process makes it, so a call made after an
// answer is after it on the clock; a sleep still lasts what it says.
func TestReadingsAreOrdered(t *testing.T) {
	r := start(t, paymentsWorld(), 1)
	var got []time.Time
	err := r.Main(context.Background(), func(ctx context.Context) error {
		done := 0
		for i := range 4 {
			r.Go(sim.Client, fmt.Sprint("reader ", i), func(ctx context.Context) {
				for range 5 {
					got = append(got, r.Now(), r.Now())
					r.Sleep(ctx, 0) // another process may run: the clock does not move for it
				}
				done++
			})
		}
		for done < 4 {
			r.Sleep(ctx, time.Millisecond)
		}
		before := r.Now()
		if err := r.Sleep(ctx, time.Second); err != nil {
			return err
		}
		if slept := r.Now().Sub(before); slept < time.Second || slept >= time.Second+readings {
			return fmt.Errorf("a sleep of 1s took %s of virtual time", slept)
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 40)
	for i := 1; i < len(got); i++ {
		require.True(t, got[i].After(got[i-1]), "reading %d (%s) is not after reading %d (%s)", i, got[i], i-1, got[i-1])
	}
	require.Less(t, got[len(got)-1].Sub(got[0]), readings, "sleeps of zero do not advance the clock; readings advance it a nanosecond each")
}

// TestVirtualClock: sleeps and deadlines advance the clock, never the wall.
func TestVirtualClock(t *testing.T) {
	r := start(t, paymentsWorld(), 1)
	began, wall := r.Now(), time.Now()
	require.WithinRange(t, began, det.Epoch, det.Epoch.Add(readings))
	err := r.Main(context.Background(), func(ctx context.Context) error {
		if err := r.Sleep(ctx, time.Hour); err != nil {
			return err
		}
		tctx, cancel := r.WithTimeout(ctx, time.Minute)
		defer cancel()
		child, cancelChild := context.WithCancel(tctx)
		defer cancelChild()
		deadline, ok := tctx.Deadline()
		if want := began.Add(time.Hour + time.Minute); !ok || deadline.Before(want) || !deadline.Before(want.Add(readings)) {
			return errors.New("the deadline is not virtual")
		}
		if err := r.Sleep(tctx, 2*time.Minute); !errors.Is(err, context.DeadlineExceeded) {
			return errors.New("a sleep past the deadline does not end at it")
		}
		if !errors.Is(child.Err(), context.Canceled) || !errors.Is(context.Cause(child), context.DeadlineExceeded) {
			return errors.New("the deadline does not reach the derived context")
		}
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, r.Now().Sub(began), time.Hour+time.Minute)
	require.Less(t, r.Now().Sub(began), time.Hour+time.Minute+readings, "an hour and a minute, and the nanoseconds of the readings")
	// An hour and a minute passed on the clock: a minute of wall time,
	// however busy the machine, shows nobody waited for them.
	require.Less(t, time.Since(wall), time.Minute)
}

// TestDeadlock: a request with no deadline into a partition waits forever,
// and with nothing else to run the runtime says so instead of hanging.
func TestDeadlock(t *testing.T) {
	r := start(t, paymentsWorld(), 1)
	require.NoError(t, r.SetLinkFaults(sim.Link{From: sim.Orders, To: sim.Payments}, sim.LinkFaults{Down: true}))
	orders := r.Node(sim.Orders)
	err := r.Main(context.Background(), func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, orders.URL(sim.Payments)+"/resources/x", nil)
		_, err := orders.HTTP(sim.Payments).Do(req)
		return err
	})
	require.ErrorContains(t, err, "deadlock")
	require.ErrorContains(t, err, "orders->payments")
}

// TestDiscipline: a handler that holds a transaction across a runtime call
// or panics fails the run loudly.
func TestDiscipline(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/hold/H", "with a database transaction open"},
		{"/panic", "a bug in the service"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := start(t, (&store{}).world(), 1)
			_, err := call(context.Background(), r.Node(sim.Client), sim.Orders, http.MethodPost, tc.path)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestInterrupted: a Main whose processes ignore its context still ends
// when the context does.
func TestInterrupted(t *testing.T) {
	r := start(t, paymentsWorld(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	err := r.Main(ctx, func(context.Context) error {
		for i := 0; ; i++ {
			if i == 100 {
				cancel()
			}
			r.Sleep(context.Background(), time.Millisecond) // deaf to ctx
		}
	})
	require.ErrorContains(t, err, "interrupted")
	require.ErrorIs(t, err, context.Canceled)
}

// TestDatabaseFiles: the databases live in memory while the world runs;
// Sync writes those that changed to their files, Stop writes them all, and
// a runtime started over the files carries on from them.
func TestDatabaseFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := &store{}
	r, err := det.Start(ctx, s.world(), det.Options{Dir: dir, Seed: 1})
	require.NoError(t, err)
	_, err = r.Sync() // the schema
	require.NoError(t, err)
	changed, err := r.Sync()
	require.NoError(t, err)
	require.False(t, changed, "nothing committed since the last Sync")

	client := r.Node(sim.Client)
	status, err := call(ctx, client, sim.Orders, http.MethodPost, "/rows/A")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, map[string]bool{"A": false}, fileRows(t, r.DBPath(sim.Orders), "A"), "not written before Sync")
	changed, err = r.Sync()
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, map[string]bool{"A": true}, fileRows(t, r.DBPath(sim.Orders), "A"))

	_, err = call(ctx, client, sim.Orders, http.MethodPost, "/rows/B")
	require.NoError(t, err)
	require.NoError(t, r.Stop())
	require.Equal(t, map[string]bool{"A": true, "B": true}, fileRows(t, r.DBPath(sim.Orders), "A", "B"), "Stop writes the files")

	again := startOver(t, dir, s)
	status, err = call(ctx, again.Node(sim.Client), sim.Orders, http.MethodGet, "/rows/B")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "a runtime started over the files has their rows")
}

// TestScratch: a scratch runtime keeps its databases in memory only: its
// directory is never made, no file is written, and its readers see what
// was committed.
func TestScratch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scratch")
	ctx := context.Background()
	s := &store{}
	r, err := det.Start(ctx, s.world(), det.Options{Dir: dir, Seed: 1, Scratch: true})
	require.NoError(t, err)
	status, err := call(ctx, r.Node(sim.Client), sim.Orders, http.MethodPost, "/rows/A")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status)
	db, err := r.Reader(sim.Orders)
	require.NoError(t, err)
	var k int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM rows WHERE name = 'A'`).Scan(&k))
	require.Equal(t, 1, k, "the reader sees the commit")
	changed, err := r.Sync()
	require.NoError(t, err)
	require.False(t, changed, "Sync writes nothing")
	require.NoError(t, r.Stop())
	_, err = os.Stat(dir)
	require.ErrorIs(t, err, fs.ErrNotExist, "neither Start, Sync nor Stop makes the directory")
}

// startOver starts s's world over the databases in dir until the test ends.
func startOver(t *testing.T, dir string, s *store) *det.Runtime {
	t.Helper()
	r, err := det.Start(context.Background(), s.world(), det.Options{Dir: dir, Seed: 2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Stop()) })
	return r
}

// TestRefusesJetStream: the det runtime runs the log broker only, and says
// so by name.
func TestRefusesJetStream(t *testing.T) {
	w := sim.NewWorld(sim.Config{Broker: sim.BrokerJetStream}, sim.ServiceFunc(func(*sim.Node) (http.Handler, error) { return http.NewServeMux(), nil }))
	_, err := det.Start(context.Background(), w, det.Options{Dir: t.TempDir(), Seed: 1})
	require.ErrorContains(t, err, "det: the world's broker is jetstream, which runs on the live runtime only")
}
