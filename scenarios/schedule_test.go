package scenarios

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// TestScheduleIsTheRun: the schedule a det run under a fault profile
// records, run as Config.Schedule with no profile, is the same run: the
// same history, the same faults applied at the same sites and moments.
func TestScheduleIsTheRun(t *testing.T) {
	for _, f := range []string{
		"lost-response=0.1,drop-request=0.05,latency=5ms,crash=payments:0.05,error=payments:0.1,crashpoint=after-local-commit:0.1",
		"late=0.1,duplicate=0.1,reorder=0.1,crash-commit=rewards:0.1,crash-commit=orders:0.05",
		"partition=200ms,kill=*:500ms,lost-response=0.05",
	} {
		t.Run(f, func(t *testing.T) {
			cfg := Default()
			cfg.Pattern, cfg.Runtime = "outbox", "det"
			cfg.Workload.Txns = 30
			if raceDetector {
				cfg.Workload.Txns = 10
			}
			cfg.Quiet = 2 * time.Second
			cfg.Faults = f
			a, err := Execute(context.Background(), cfg, "")
			require.NoError(t, err)
			require.NotEmpty(t, a.Schedule, "the profile drew faults")
			again := cfg
			again.Faults, again.Schedule = "", a.Schedule.String()
			b, err := Execute(context.Background(), again, "")
			require.NoError(t, err)
			t.Logf("%d faults in the schedule, %d sites passed, %d applied", len(a.Schedule), a.Passes.Len(), len(a.Applied))
			require.Equal(t, jsonOf(t, a.History), jsonOf(t, b.History), "the same history")
			require.Equal(t, jsonOf(t, a.Applied), jsonOf(t, b.Applied), "the same faults applied")
			require.Equal(t, a.Schedule.Lines(true), b.Schedule.Lines(true), "the same schedule recorded")
		})
	}
}

// TestScheduleSitesStable: removing one fault from a schedule leaves the
// others on the requests they named. A lost response to o000001's first
// charge makes the orders service retry it, so orders->payments carries
// more requests before o000003's charge; its site, numbered per order,
// still names o000003's first charge, and o000003 passes the same sites
// with or without the other fault. Numbered per link, as a random stream
// would hit them, o000003's charge would have moved.
func TestScheduleSitesStable(t *testing.T) {
	cfg := Default()
	cfg.Pattern, cfg.Runtime, cfg.Seed = "outbox", "det", 3
	cfg.Workload = Workload{Txns: 4, Concurrency: 1, Attempts: 2, Customers: 4}
	cfg.Quiet = 2 * time.Second
	unrelated := "request 1 of o000001 on orders->payments: lost-response"
	kept := "request 1 of o000003 on orders->payments: drop-request"

	both := cfg
	both.Schedule = unrelated + "\n" + kept + "\n"
	one := cfg
	one.Schedule = kept + "\n"
	a, err := Execute(context.Background(), both, "")
	require.NoError(t, err)
	b, err := Execute(context.Background(), one, "")
	require.NoError(t, err)

	// The unrelated fault did change the link: more requests on it before
	// o000003's first.
	before := func(r *Result) int {
		n := 0
		for p := range r.Passes.All() {
			if p.Slot != sim.SlotNet || !strings.HasSuffix(p.Site, "on orders->payments") {
				continue
			}
			if p.Site == "request 1 of o000003 on orders->payments" {
				return n
			}
			n++
		}
		t.Fatalf("the run never sent o000003's first charge: %v", slices.Collect(r.Passes.All()))
		return 0
	}
	require.Greater(t, before(a), before(b), "the lost response to o000001 made orders retry its charge")

	// The kept fault hit the same request in both runs: o000003's first
	// charge, and o000003 passed the same sites.
	hit := func(r *Result) sim.Applied {
		for _, x := range r.Applied {
			if x.Fault == "drop-request" {
				return x
			}
		}
		t.Fatalf("no drop-request applied: %v", r.Applied)
		return sim.Applied{}
	}
	ha, hb := hit(a), hit(b)
	require.Equal(t, "o000003", ha.Order)
	require.Equal(t, []string{ha.Site, ha.Target, ha.Detail, ha.Order}, []string{hb.Site, hb.Target, hb.Detail, hb.Order})
	require.Equal(t, sitesOf(a, "o000003"), sitesOf(b, "o000003"), "o000003's sites, with and without the other fault")
	require.Equal(t, []string{kept}, b.Schedule.Lines(false))
}

// sitesOf lists the sites about order that r passed, in order.
func sitesOf(r *Result, order string) []string {
	var out []string
	for p := range r.Passes.All() {
		if strings.Contains(p.Site, " "+order+" ") || strings.HasSuffix(p.Site, " "+order) {
			out = append(out, string(p.Slot)+" "+p.Site)
		}
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestScheduleRecord: a det run's record holds the schedule it got (in a
// file beside it), with
// when and on what each fault landed, and counts the sites it passed by
// family: requests per link, visits per crash point and node, commits per
// node, whether the site is about an order or not.
func TestScheduleRecord(t *testing.T) {
	cfg := detTiny("outbox", "")
	cfg.Schedule = "request 1 of o000002 on orders->payments: lost-response\n" +
		"visit 1 of after-local-commit at orders for o000003: crashpoint\n"
	res, err := Execute(context.Background(), cfg, t.TempDir())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "record.json")
	rec, err := res.WriteRecord(context.Background(), path)
	require.NoError(t, err)
	require.NotNil(t, rec.Schedule)
	require.Empty(t, rec.Schedule.Faults, "the schedule is beside the record")
	stored, err := ReadRun(context.Background(), path)
	require.NoError(t, err)
	faults := stored.Schedule
	require.Equal(t, res.Schedule.Lines(true), faults)
	require.Len(t, faults, 2, "both faults were reached: %v", faults)
	require.Regexp(t, `^request 1 of o000002 on orders->payments: lost-response  # at \S+: POST /resources$`, faults[0])
	require.Regexp(t, `^visit 1 of after-local-commit at orders for o000003: crashpoint  # at \S+`, faults[1])
	visits, commits := 0, 0
	i := 0
	for p := range res.Passes.All() { // the record counts the sites passed until healing
		if i++; i > res.healedAt {
			break
		}
		switch p.Slot {
		case sim.SlotVisit:
			if strings.HasPrefix(p.Site, "visit ") && strings.Contains(p.Site, " of after-local-commit at orders") {
				visits++
			}
		case sim.SlotCommit:
			if strings.HasPrefix(p.Site, "commit ") && strings.Contains(p.Site, " of orders") {
				commits++
			}
		}
	}
	require.Positive(t, visits)
	require.Positive(t, commits)
	require.Equal(t, visits, rec.Schedule.Sites["visits of after-local-commit at orders"], "sites: %v", rec.Schedule.Sites)
	require.Equal(t, commits, rec.Schedule.Sites["commits of orders"], "sites: %v", rec.Schedule.Sites)
	require.Positive(t, rec.Schedule.Sites["requests on orders->payments"])
}
