package live

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// TestProcessKillKeepsCommittedRows: orders runs in a process of its own;
// a row committed before the crash survives SIGKILL and a transaction
// open at the crash does not, read from the file; the process is gone,
// and the restart is a new process on the same file.
func TestProcessKillKeepsCommittedRows(t *testing.T) {
	r := startProcs(t, "rows")
	pid := pidOf(t, r)
	require.NotEqual(t, os.Getpid(), pid, "orders runs in a process of its own")

	code, _, err := send(r, http.MethodPost, "/rows/committed")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)

	held := make(chan error, 1)
	go func() {
		c := r.Node(sim.Client)
		req, _ := http.NewRequest(http.MethodPost, c.URL(sim.Orders)+"/hold/open", nil)
		resp, err := c.HTTP(sim.Orders).Do(req)
		if err != nil {
			held <- err
			return
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err == nil && line != "held\n" {
			err = fmt.Errorf("the hold answered %q", line)
		}
		held <- err
		io.Copy(io.Discard, resp.Body) // until the crash cuts the connection
	}()
	require.NoError(t, <-held, "the transaction is open")
	require.Equal(t, map[string]bool{"committed": true, "open": false}, RowsIn(t, r.DBPath(sim.Orders), "committed", "open"),
		"another process sees only what is committed")

	require.NoError(t, r.Crash(sim.Orders, 0))
	require.True(t, gone(pid), "Crash returns once the process is gone")
	p := r.nodes[sim.Orders].cur.proc
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v", p.cmd.ProcessState)
	require.Equal(t, map[string]bool{"committed": true, "open": false}, RowsIn(t, r.DBPath(sim.Orders), "committed", "open"),
		"the committed row survives SIGKILL, the open transaction does not")
	_, _, err = send(r, http.MethodGet, "/pid")
	require.Error(t, err, "a crashed node answers nothing")

	require.NoError(t, r.Restart(context.Background(), sim.Orders))
	again := pidOf(t, r)
	require.NotEqual(t, pid, again, "a restart is a new process")
	code, _, err = send(r, http.MethodGet, "/rows/committed")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "the new process reads the same file")
	code, _, err = send(r, http.MethodGet, "/rows/open")
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, []string{"orders "}, AppliedOf(r, "crash"))
	require.Equal(t, []string{"orders "}, AppliedOf(r, "restart"))
}

// TestProcessCrashPoint: a crash point in a node process is decided by the
// runtime, which kills the process there; the work committed before it is
// kept and the node restarts after the downtime. Faults set while the
// process runs reach it.
func TestProcessCrashPoint(t *testing.T) {
	r := startProcs(t, "rows")
	pid := pidOf(t, r)
	code, _, err := send(r, http.MethodPost, "/point/passes")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code, "no crash point faults: it passes")

	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{CrashPoints: map[string]float64{"after-commit": 1}, Downtime: 50 * time.Millisecond}))
	_, _, err = send(r, http.MethodPost, "/point/crashes")
	require.Error(t, err, "the caller's connection is cut")
	require.Equal(t, []string{"orders after-commit"}, AppliedOf(r, "crash-point"))
	require.Eventually(t, func() bool { return gone(pid) }, procGuard, 10*time.Millisecond)
	require.Equal(t, map[string]bool{"passes": true, "crashes": true}, RowsIn(t, r.DBPath(sim.Orders), "passes", "crashes"),
		"the row committed before the crash point is kept")
	require.NotEqual(t, pid, pidOf(t, r), "restarted after the downtime, in a new process")
	require.Equal(t, []string{"orders "}, AppliedOf(r, "restart"))

	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{}))
	code, _, err = send(r, http.MethodPost, "/point/healed")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code, "faults cleared while the process runs reach it")
}

// TestProcessCommitCrash: a node process crashes at its commits as the
// runtime decides, by the commit's site: killed (SIGKILL) while it asks
// before a commit, the transaction is lost; killed when it asks again
// after one, the row is kept — both read from the file. Commits made
// while the node's faults give them no chance are counted all the same:
// the sites are numbered as in the runtime's process.
func TestProcessCommitCrash(t *testing.T) {
	f := sim.NodeFaults{CommitCrash: 0.5, Downtime: time.Hour}
	seed := int64(1) // a seed whose commit 2 of orders crashes before it and commit 3 after it
	for ; ; seed++ {
		hit2, before2 := f.CommitFault(seed, sim.CommitSite(sim.Orders, "", 2))
		hit3, before3 := f.CommitFault(seed, sim.CommitSite(sim.Orders, "", 3))
		if hit2 && before2 && hit3 && !before3 {
			break
		}
	}
	r := startProcsSeed(t, "rows", seed)
	killed := func(pid int) {
		t.Helper()
		require.Eventually(t, func() bool { return gone(pid) }, procGuard, 10*time.Millisecond)
		p := r.nodes[sim.Orders].cur.proc
		<-p.exited
		ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v", p.cmd.ProcessState)
	}

	pid := pidOf(t, r)
	code, _, err := send(r, http.MethodPost, "/rows/one") // commit 1, with no chance: not asked about
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)

	require.NoError(t, r.SetNodeFaults(sim.Orders, f))
	_, _, err = send(r, http.MethodPost, "/rows/two")
	require.Error(t, err, "the caller's connection is cut: %v", r.Applied())
	killed(pid)
	require.Equal(t, []string{"orders: before the commit @ commit 2 of orders"}, sitesOf(r, "crash-commit"))
	require.Equal(t, map[string]bool{"one": true, "two": false}, RowsIn(t, r.DBPath(sim.Orders), "one", "two"),
		"the commit the process was killed before is lost")

	require.NoError(t, r.Restart(context.Background(), sim.Orders))
	pid = pidOf(t, r)
	_, _, err = send(r, http.MethodPost, "/rows/three")
	require.Error(t, err, "killed after the commit, before it answers")
	killed(pid)
	require.Equal(t, []string{"orders: before the commit @ commit 2 of orders", "orders: after the commit @ commit 3 of orders"},
		sitesOf(r, "crash-commit"))
	require.Equal(t, map[string]bool{"one": true, "two": false, "three": true}, RowsIn(t, r.DBPath(sim.Orders), "one", "two", "three"),
		"the commit the process was killed after is kept")
	require.Empty(t, AppliedOf(r, "exited"), "the process stopped where the runtime killed it")
}

// TestProcessFaults: the faults of a node process's own requests are
// decided by the runtime, on the link, as for any node; so are the faults
// of the requests it serves.
func TestProcessFaults(t *testing.T) {
	charges := func(r *Runtime, key string) int {
		db, err := sim.OpenReadOnly(r.DBPath(sim.Payments))
		require.NoError(t, err)
		defer db.Close()
		var k int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM resources WHERE key = ?`, key).Scan(&k))
		return k
	}
	link := sim.Link{From: sim.Orders, To: sim.Payments}
	t.Run("lost response from payments", func(t *testing.T) {
		r := startProcs(t, "charge")
		require.NoError(t, r.SetLinkFaults(link, sim.LinkFaults{LostResponse: 1}))
		code, body, err := send(r, http.MethodPost, "/charge/k1")
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, code, "orders heard nothing from payments: %s", body)
		require.Equal(t, []string{"orders->payments POST /resources"}, AppliedOf(r, "lost-response"))
		require.Equal(t, 1, charges(r, "k1"), "payments acted")
	})
	t.Run("dropped request to payments", func(t *testing.T) {
		r := startProcs(t, "charge")
		require.NoError(t, r.SetLinkFaults(link, sim.LinkFaults{DropRequest: 1}))
		code, _, err := send(r, http.MethodPost, "/charge/k1")
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, []string{"orders->payments POST /resources"}, AppliedOf(r, "drop-request"))
		require.Zero(t, charges(r, "k1"), "the request never reached payments")
		require.NoError(t, r.Heal(context.Background()))
		code, _, err = send(r, http.MethodPost, "/charge/k2")
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, code, "healed")
	})
	t.Run("payments crashes before or after acting", func(t *testing.T) {
		r := startProcs(t, "charge")
		require.NoError(t, r.SetNodeFaults(sim.Payments, sim.NodeFaults{CrashRate: 1, Downtime: time.Hour}))
		// Before or after acting is rolled half and half (by the seed);
		// 20 rolls all "before" has chance 1e-6.
		for i := 0; i < 20; i++ {
			key := "k" + strconv.Itoa(i)
			code, _, err := send(r, http.MethodPost, "/charge/"+key)
			require.NoError(t, err)
			require.Equal(t, http.StatusServiceUnavailable, code, "orders' call to payments was cut")
			crashes := AppliedOf(r, "crash")
			require.Len(t, crashes, i+1)
			if crashes[i] == "payments after POST /resources" {
				require.Equal(t, 1, charges(r, key), "payments acted, then was killed before answering")
				return
			}
			require.Equal(t, "payments before POST /resources", crashes[i])
			require.Zero(t, charges(r, key), "killed before acting")
			require.NoError(t, r.Restart(context.Background(), sim.Payments))
		}
		t.Fatal("20 crashes, none after acting")
	})
	t.Run("injected error", func(t *testing.T) {
		r := startProcs(t, "rows")
		require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{ErrorRate: 1}))
		code, _, err := send(r, http.MethodPost, "/rows/x")
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, []string{"orders POST /rows/x"}, AppliedOf(r, "error"))
		require.False(t, RowsIn(t, r.DBPath(sim.Orders), "x")["x"], "refused before acting")
	})
}

// TestProcessExits: a node process that dies of its own bug is recorded,
// with what it said, and stays down until Heal.
func TestProcessExits(t *testing.T) {
	r := startProcs(t, "rows")
	pid := pidOf(t, r)
	send(r, http.MethodPost, "/die")
	require.Eventually(t, func() bool { return len(AppliedOf(r, "exited")) > 0 }, procGuard, 10*time.Millisecond)
	require.Contains(t, AppliedOf(r, "exited")[0], "the node's own bug")
	require.True(t, gone(pid))
	require.NoError(t, r.Heal(context.Background()))
	require.NotEqual(t, pid, pidOf(t, r))
}

// TestProcessStartErrors: a world the node processes cannot build, and
// what process isolation refuses, are errors that say why.
func TestProcessStartErrors(t *testing.T) {
	w := testWorlds["rows"]()
	_, err := Start(context.Background(), w, Options{Dir: t.TempDir(), Isolation: IsolationProcess, World: []byte("nowhere")})
	require.ErrorContains(t, err, "start orders: the node process exited before serving (exit status 1); it said:\ntxchaos node orders: building the world: no test world \"nowhere\"")
	require.NotContains(t, err.Error(), "must serve them", "the binary serves nodes: no advice to")

	// A binary that does not serve nodes: told how to.
	exe := nodeExecutable
	defer func() { nodeExecutable = exe }()
	nodeExecutable = func() (string, error) { return exec.LookPath("true") }
	_, err = Start(context.Background(), w, Options{Dir: t.TempDir(), Isolation: IsolationProcess, World: []byte("rows")})
	require.ErrorContains(t, err, "start orders: the node process exited before serving (exit status 0); it said:\n(nothing)\n(a binary that starts worlds with isolation process must serve them: call scenarios.NodeMain, or live.ServeNode, first thing in its main, or in TestMain under go test)")
	nodeExecutable = exe

	_, err = Start(context.Background(), w, Options{Dir: t.TempDir(), Isolation: IsolationProcess})
	require.ErrorContains(t, err, "live: isolation process: Options.World is empty")
	_, err = Start(context.Background(), w, Options{Dir: t.TempDir(), Isolation: "container"})
	require.ErrorContains(t, err, `live: isolation "container" is not one of [none process]`)

	js := sim.NewWorld(sim.Config{Broker: sim.BrokerJetStream}, sim.ServiceFunc(rowsService))
	_, err = Start(context.Background(), js, Options{Dir: t.TempDir(), Isolation: IsolationProcess, World: []byte("rows")})
	require.ErrorContains(t, err, "live: isolation process: broker jetstream is not supported")
}

// TestProcessFaultsRefused: a node fault a node process cannot apply is
// refused by name. Every field of sim.NodeFaults is applied or refused:
// a new one is refused until it is made to work across the boundary.
func TestProcessFaultsRefused(t *testing.T) {
	require.NoError(t, processFaults(sim.NodeFaults{CrashRate: 0.1, ErrorRate: 0.1, Downtime: time.Second, CrashPoints: map[string]float64{"p": 1}, CommitCrash: 0.1}))
	var f sim.NodeFaults
	v := reflect.ValueOf(&f).Elem()
	handled := map[string]bool{"CrashRate": true, "ErrorRate": true, "Downtime": true, "CrashPoints": true, "CommitCrash": true}
	for i := range v.NumField() {
		field := v.Type().Field(i)
		if handled[field.Name] {
			continue
		}
		g := sim.NodeFaults{}
		fv := reflect.ValueOf(&g).Elem().Field(i)
		switch fv.Kind() {
		case reflect.Float64:
			fv.SetFloat(0.5)
		case reflect.Int64:
			fv.SetInt(1)
		case reflect.Bool:
			fv.SetBool(true)
		default:
			t.Fatalf("NodeFaults.%s: a %s; teach this test to set it", field.Name, fv.Kind())
		}
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		require.ErrorContains(t, processFaults(g), name+": not supported with isolation process", "NodeFaults.%s", field.Name)
	}
}

// TestProcessClock: a node process keeps the runtime's clock, slowed down
// as the runtime's is: its Now reads what the runtime's reads, and its
// sleeps last Slowness times longer on the wall clock.
func TestProcessClock(t *testing.T) {
	const slowness = 4
	r := startProcsSlowed(t, "rows", slowness)
	pidOf(t, r)                        // it serves
	time.Sleep(200 * time.Millisecond) // a wall clock would run 150 ms ahead of the runtime's by now
	before := r.Now()
	_, body, err := send(r, http.MethodGet, "/now")
	require.NoError(t, err)
	after := r.Now()
	ns, err := strconv.ParseInt(body, 10, 64)
	require.NoError(t, err)
	now := time.Unix(0, ns)
	// The node reads the wall clock, the runtime its monotonic one: a few
	// milliseconds apart at most.
	require.False(t, now.Before(before.Add(-10*time.Millisecond)) || now.After(after.Add(10*time.Millisecond)),
		"the node's clock reads %v, the runtime's %v to %v", now, before, after)

	wall := time.Now()
	code, _, err := send(r, http.MethodPost, "/sleep/50")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.GreaterOrEqual(t, time.Since(wall), slowness*50*time.Millisecond, "a node's sleep lasts Slowness times longer on the wall clock")
}

// TestProcessLateOnClock: a late request from a node process keeps to the
// runtime's clock, slowed down as it is. Without a delay it arrives
// LateMargin after its caller's deadline: the deadline crosses the process
// boundary on the wall clock and the runtime reads it on its own clock. A
// late delay is a duration of the runtime's clock. The service's commit
// time (created_at, its node's clock) says when the request arrived. Only
// lower bounds are checked: a busy machine makes things later, never
// earlier.
func TestProcessLateOnClock(t *testing.T) {
	const slowness = 4
	link := sim.Link{From: sim.Orders, To: sim.Payments}
	callTimeout := testWorlds["charge"]().Config.CallTimeout
	// created waits for the charge under key and says when it was made.
	created := func(t *testing.T, r *Runtime, key string) time.Time {
		var ns int64
		require.Eventually(t, func() bool {
			db, err := sim.OpenReadOnly(r.DBPath(sim.Payments))
			require.NoError(t, err)
			defer db.Close()
			err = db.QueryRow(`SELECT created_at FROM resources WHERE key = ?`, key).Scan(&ns)
			if !errors.Is(err, sql.ErrNoRows) {
				require.NoError(t, err)
			}
			return err == nil
		}, procGuard, 20*time.Millisecond, "the late request is applied")
		return time.Unix(0, ns)
	}
	t.Run("after the caller's deadline", func(t *testing.T) {
		r := startProcsSlowed(t, "charge", slowness)
		pidOf(t, r)
		require.NoError(t, r.SetLinkFaults(link, sim.LinkFaults{Late: 1}))
		sent := r.Now()
		code, _, err := send(r, http.MethodPost, "/charge/k1")
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, code, "orders gave up waiting for payments")
		at := created(t, r, "k1")
		require.False(t, at.Before(sent.Add(callTimeout+sim.LateMargin)),
			"applied %v after the call began, before its deadline (%v) and the margin (%v) on the runtime's clock", at.Sub(sent), callTimeout, sim.LateMargin)
	})
	t.Run("after its delay", func(t *testing.T) {
		const delay = 100 * time.Millisecond // within the call's timeout
		r := startProcsSlowed(t, "charge", slowness)
		pidOf(t, r)
		require.NoError(t, r.SetLinkFaults(link, sim.LinkFaults{Late: 1, LateDelay: delay}))
		sent := r.Now()
		code, _, err := send(r, http.MethodPost, "/charge/k1")
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, code, "orders waited for the late answer")
		at := created(t, r, "k1")
		require.False(t, at.Before(sent.Add(delay)), "applied %v after the call began, before its delay (%v) on the runtime's clock", at.Sub(sent), delay)
	})
}
