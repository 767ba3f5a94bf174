package checker_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

// readClasses are the classes of the read models, strongest model first.
var readClasses = []checker.Class{checker.StaleRead, checker.SessionStaleRead, checker.UnconvergedRead}

// TestReadPromises judges one history of a lagging read model under each
// promise: the reads weaker than the promise are anomalies, under the
// weakest model each broke; the others are information. The figures and
// the models held do not depend on the promise.
func TestReadPromises(t *testing.T) {
	h := []checker.Op{
		checkout(0, "k1", 1, 0, 10, ok, conf),
		get(0, "k1", 11, 12, ok, absent), // its own answer missed: session
		get(1, "k1", 15, 16, ok, absent), // another client's answer missed: linearizable
		checkout(2, "k2", 1, 0, 10, ok, conf),
		get(2, "k2", 12, 13, ok, conf),
		atRest(get(9, "k1", 500, 501, ok, conf)), atRest(get(9, "k2", 502, 503, ok, conf)),
		balance(9, "alice", 600, 601, 20),
	}
	for _, tt := range []struct {
		promise   checker.ReadModel
		anomalies []checker.Class
	}{
		{checker.Linearizable, []checker.Class{checker.StaleRead, checker.SessionStaleRead}},
		{"", []checker.Class{checker.StaleRead, checker.SessionStaleRead}},       // the zero ReadModel is Linearizable
		{"strong", []checker.Class{checker.StaleRead, checker.SessionStaleRead}}, // and so is one it does not know
		{checker.Session, []checker.Class{checker.SessionStaleRead}},
		{checker.Eventual, nil},
	} {
		t.Run(fmt.Sprintf("promise %q", tt.promise), func(t *testing.T) {
			r := checker.Check(h, nil, tt.promise)
			want := tt.promise
			if !slices.Contains(checker.ReadModels, want) {
				want = checker.Linearizable
			}
			require.Equal(t, want, r.Reads.Promise)
			require.Equal(t, []checker.ReadModel{checker.Eventual}, r.Reads.Held, "the reads converged, and no more")
			require.Equal(t, 2, r.Reads.Stale)
			require.Equal(t, 5*ms, r.Reads.MaxStaleness, "client 1 read k1 5ms after client 0 was told it was confirmed")
			for _, c := range readClasses {
				info, isInfo := r.Reads.Unpromised[c]
				switch {
				case slices.Contains(tt.anomalies, c):
					require.Equal(t, 1, r.Anomalies[c].Count, "%s: %s", c, r)
					require.False(t, isInfo)
				case c == checker.UnconvergedRead:
					require.Zero(t, r.Anomalies[c].Count)
					require.False(t, isInfo)
				default:
					require.Zero(t, r.Anomalies[c].Count, "%s is beyond the promise: information, not an anomaly", c)
					require.Equal(t, 1, info.Count, "%s: %v", c, r.Reads.Unpromised)
					require.NotNil(t, info.Witness, "information tells its story too")
				}
			}
			if len(tt.anomalies) == 0 {
				require.Equal(t, checker.VerdictUnknown, r.Verdict, "no state: unknown, and no read anomaly: %s", r)
				require.Empty(t, r.Linearizability, "information is not drawn")
			} else {
				require.Equal(t, checker.VerdictAnomalies, r.Verdict)
				require.Len(t, r.Linearizability, 1)
				p := r.Linearizability[0]
				require.Equal(t, checker.Partition{Key: "k1", Verdict: checker.VerdictAnomalies, File: "history-k1.html"}, checker.Partition{Key: p.Key, Verdict: p.Verdict, File: p.File})
				require.Len(t, p.Shows, len(tt.anomalies), "the partition says what it shows, for its page: %q", p.Shows)
				for _, c := range tt.anomalies {
					require.True(t, slices.ContainsFunc(p.Shows, func(s string) bool { return strings.HasPrefix(s, string(c)+": client ") }), "%s in %q", c, p.Shows)
				}
			}
		})
	}
}

// TestReadsJSON: what the reads showed survives a record, with the
// staleness also in milliseconds for people.
func TestReadsJSON(t *testing.T) {
	r := checker.Check([]checker.Op{checkout(0, "k1", 1, 0, 10, ok, conf), get(1, "k1", 13, 14, ok, pending)}, nil, checker.Eventual)
	b, err := json.Marshal(r.Reads)
	require.NoError(t, err)
	require.Contains(t, string(b), `"promise":"eventual","held":["session","eventual"]`)
	require.Contains(t, string(b), `"stale":1,"max_staleness":3000000,"max_staleness_ms":3`)
	var back checker.Reads
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, r.Reads, back)
}

// TestSettledDecision: an order that settles on another decision than
// its checkout answered is the checkouts' anomaly; a read that saw the
// decision it settled on is not blamed for it.
func TestSettledDecision(t *testing.T) {
	h := []checker.Op{
		checkout(0, "k1", 1, 0, 10, ok, conf),
		get(1, "k1", 20, 21, ok, failed),
		atRest(get(9, "k1", 500, 501, ok, failed)),
	}
	r := checker.Check(h, nil, checker.Linearizable)
	require.Equal(t, 1, r.Anomalies[checker.NonLinearizable].Count, r.String())
	require.Contains(t, r.Anomalies[checker.NonLinearizable].Examples[0], "order k1: read at rest saw failed at 501ms, but checkout#1 answered confirmed at 10ms")
	for _, c := range readClasses {
		require.Zero(t, r.Anomalies[c].Count, "%s: %s", c, r)
	}
}

// TestReadRulesAgreeWithPorcupine checks the per-read rules against
// porcupine on random histories of one order key: porcupine finds a
// linearization of all the operations exactly when the checkouts with the
// settled decision linearize and no read breaks a model. (The first
// checkout is called first: the rules, unlike the model, also refuse a
// decision read before any checkout was sent.)
func TestReadRulesAgreeWithPorcupine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	span := func(from int) (int, int) {
		call := from + rng.IntN(12)
		return call, call + rng.IntN(8)
	}
	agree, illegal := 0, 0
	for n := 0; n < 20000; n++ {
		var h []checker.Op
		for a := 1; a <= 1+rng.IntN(3); a++ {
			call, ret := span(1)
			if a == 1 {
				call = 0
			}
			switch pick("ok", "ok", "rejected", "unknown") {
			case "ok":
				h = append(h, checkout(rng.IntN(3), "k", a, call, ret, ok, pick(conf, conf, failed, pending)))
			case "rejected":
				h = append(h, checkout(rng.IntN(3), "k", a, call, ret, rejected, failed))
			default:
				h = append(h, checkout(rng.IntN(3), "k", a, call, ret, unknown, ""))
			}
		}
		for range rng.IntN(5) {
			call, ret := span(1)
			if rng.IntN(6) == 0 {
				h = append(h, get(rng.IntN(3), "k", call, ret, unknown, ""))
				continue
			}
			h = append(h, get(rng.IntN(3), "k", call, ret, ok, pick(absent, pending, conf, conf, failed)))
		}
		if rng.IntN(2) == 0 {
			h = append(h, atRest(get(9, "k", 100, 101, ok, pick(absent, pending, conf, conf, failed))))
		}
		r := checker.Check(h, nil, checker.Linearizable)
		clean := r.Anomalies[checker.NonLinearizable].Count == 0
		for _, c := range readClasses {
			clean = clean && r.Anomalies[c].Count == 0
		}
		if lin := checker.Linearizes(h); lin != clean {
			t.Fatalf("porcupine says linearizable=%t, the checker %s, on\n%s", lin, r, historyString(h))
		}
		agree++
		if !clean {
			illegal++
		}
	}
	t.Logf("%d random histories agree with porcupine, %d of them not linearizable", agree, illegal)
	require.Greater(t, illegal, agree/10, "the histories try both sides")
}

func historyString(h []checker.Op) string {
	var s string
	for _, op := range h {
		s += fmt.Sprintf("  client %d %s#%d %v→%v %s %s rest=%t\n", op.Client, op.Kind, op.Attempt, op.Call/ms, op.Return/ms, op.Outcome, op.State, op.AtRest)
	}
	return s
}
