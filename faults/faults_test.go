package faults

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

func TestParse(t *testing.T) {
	ops := sim.Link{From: "orders", To: "payments"}
	tests := []struct {
		in   string
		want Profile
	}{
		{"", nil},
		{"none", nil},
		{"lost-response=0.1", Profile{{Kind: "lost-response", Rate: 0.1}}},
		{"drop-request=orders-payments:0.5", Profile{{Kind: "drop-request", Link: &ops, Rate: 0.5}}},
		{"drop-request=orders->payments:0.5", Profile{{Kind: "drop-request", Link: &ops, Rate: 0.5}}},
		{"latency=50ms", Profile{{Kind: "latency", Duration: 50 * time.Millisecond}}},
		{"partition=orders-payments:1s", Profile{{Kind: "partition", Link: &ops, Duration: time.Second}}},
		{"crash=orders:0.02, error=payments:0.1", Profile{{Kind: "crash", Node: "orders", Rate: 0.02}, {Kind: "error", Node: "payments", Rate: 0.1}}},
		{"crashpoint=after-local-commit:1", Profile{{Kind: "crashpoint", Point: "after-local-commit", Rate: 1}}},
		{"late=0.3", Profile{{Kind: "late", Rate: 0.3}}},
		{"late=0.3:1s", Profile{{Kind: "late", Rate: 0.3, Duration: time.Second}}},
		{"late=orders-payments:0.3", Profile{{Kind: "late", Link: &ops, Rate: 0.3}}},
		{"late=orders-payments:0.3:1500ms", Profile{{Kind: "late", Link: &ops, Rate: 0.3, Duration: 1500 * time.Millisecond}}},
		{"duplicate=orders-payments:1", Profile{{Kind: "duplicate", Link: &ops, Rate: 1}}},
		{"duplicate=0.1:200ms", Profile{{Kind: "duplicate", Rate: 0.1, Duration: 200 * time.Millisecond}}},
		{"reorder=orders-payments:0.2:50ms", Profile{{Kind: "reorder", Link: &ops, Rate: 0.2, Duration: 50 * time.Millisecond}}},
		{"crash-commit=rewards:0.1", Profile{{Kind: "crash-commit", Node: "rewards", Rate: 0.1}}},
		{"kill=broker:2s", Profile{{Kind: "kill", Node: "broker", Duration: 2 * time.Second}}},
		{"kill=*:500ms", Profile{{Kind: "kill", Node: "*", Duration: 500 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			again, err := Parse(got.String())
			require.NoError(t, err, "String() must parse back")
			require.Equal(t, got, again)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"lost-response", `fault "lost-response": want NAME=ARG`},
		{"lost-respons=0.1", `unknown fault "lost-respons" (faults: crash, crash-commit, crashpoint, drop-request, duplicate, error, kill, late, latency, lost-response, partition, reorder)`},
		{"lost-response=1.5", `rate "1.5" is not a number between 0 and 1 (syntax: lost-response=[LINK:]RATE)`},
		{"lost-response=abc", `rate "abc" is not a number between 0 and 1`},
		{"latency=fast", `duration "fast" is not a positive duration`},
		{"latency=-5ms", `duration "-5ms" is not a positive duration`},
		{"crash=0.1", `names no node: want NODE:RATE`},
		{"drop-request=orders:0.1", `link "orders" is not FROM-TO`},
		{"crashpoint=0.5", `names no crash point`},
		// Not a number and the infinities are not rates (ParseFloat reads them).
		{"lost-response=NaN", `rate "NaN" is not a number between 0 and 1 (syntax: lost-response=[LINK:]RATE)`},
		{"lost-response=nan", `rate "nan" is not a number between 0 and 1`},
		{"drop-request=orders-payments:NaN", `rate "NaN" is not a number between 0 and 1`},
		{"lost-response=Inf", `rate "Inf" is not a number between 0 and 1`},
		{"lost-response=-Inf", `rate "-Inf" is not a number between 0 and 1`},
		{"crash=orders:+Inf", `rate "+Inf" is not a number between 0 and 1`},
		{"error=payments:nan", `rate "nan" is not a number between 0 and 1`},
		{"crashpoint=after-local-commit:NaN", `rate "NaN" is not a number between 0 and 1`},
		{"lost-response=1e400", `rate "1e400" is not a number between 0 and 1`},
		{"late=orders-payments:0.3:fast", `duration "fast" is not a positive duration such as 50ms or 2s (syntax: late=[LINK:]RATE[:DELAY])`},
		{"late=0.3:fast", `link "0.3" is not FROM-TO`},
		{"late=orders-payments:0.3:-1s", `duration "-1s" is not a positive duration`},
		{"late=a-b:c-d:0.1:1s", `is not [LINK:]RATE[:DURATION]`},
		{"late=NaN", `rate "NaN" is not a number between 0 and 1`},
		{"duplicate=payments:0.1", `link "payments" is not FROM-TO`},
		{"crash-commit=0.1", `names no node: want NODE:RATE`},
		{"kill=rewards", `names no node: want NODE:INTERVAL`},
		{"kill=rewards:0.5", `duration "0.5" is not a positive duration`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestValidate(t *testing.T) {
	links := sim.StandardLinks
	nodes := []string{"orders", "payments"}
	points := []string{"after-local-commit"}
	for _, tt := range []struct{ in, wantErr string }{
		{"lost-response=orders-payments:0.1,crash=payments:0.1,crashpoint=after-local-commit:0.5", ""},
		{"lost-response=payments-orders:0.1", "link payments->orders is not in this world (links: client-orders, orders-payments"},
		{"crash=bank:0.1", `node "bank" is not in this world (nodes: orders, payments)`},
		{"crashpoint=before-lunch:0.1", `crash point "before-lunch" is not one of this pattern's: after-local-commit`},
		{"kill=*:1s,crash-commit=payments:0.1,late=orders-payments:0.5", ""},
		{"kill=bank:1s", `node "bank" is not in this world`},
	} {
		p, err := Parse(tt.in)
		require.NoError(t, err)
		err = p.Validate(links, nodes, points)
		if tt.wantErr == "" {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, tt.wantErr)
		}
	}
}

// recorder is a sim.Controller that remembers the last faults set.
type recorder struct {
	mu      sync.Mutex
	links   map[sim.Link]sim.LinkFaults
	nodes   map[string]sim.NodeFaults
	heals   int
	downs   int // how many times some link was set down
	crashed []string
}

func (r *recorder) SetLinkFaults(l sim.Link, f sim.LinkFaults) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.links[l] = f
	if f.Down {
		r.downs++
	}
	return nil
}
func (r *recorder) SetNodeFaults(n string, f sim.NodeFaults) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes[n] = f
	return nil
}
func (r *recorder) Crash(node string, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.crashed = append(r.crashed, node)
	return nil
}
func (r *recorder) Restart(context.Context, string) error { return nil }
func (r *recorder) Heal(context.Context) error            { r.heals++; return nil }
func (r *recorder) Applied() []sim.Applied                { return nil }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// virtualClock is a clock whose sleeps take no time: Sleep moves it on
// by d, until it would pass end, where the run is over (Sleep fails).
// Nemesis.Run is one sequential loop, so that it needs no lock.
type virtualClock struct{ now, end time.Time }

func (c *virtualClock) Now() time.Time { return c.now }
func (c *virtualClock) Sleep(_ context.Context, d time.Duration) error {
	if c.now.Add(d).After(c.end) {
		c.now = c.end
		return context.Canceled
	}
	c.now = c.now.Add(max(d, 0))
	return nil
}

func TestNemesis(t *testing.T) {
	p, err := Parse("lost-response=orders-payments:0.2,partition=10ms,crash=payments:0.05,crashpoint=after-local-commit:1")
	require.NoError(t, err)
	rec := &recorder{links: map[sim.Link]sim.LinkFaults{}, nodes: map[string]sim.NodeFaults{}}
	nodes := []string{"orders", "payments"}
	nem := NewNemesis(p, nil, sim.StandardLinks, nodes, rec, realClock{}, 7)
	// The run lasts until two partition windows have opened, however slow
	// the machine (a minute guards against a hang).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- nem.Run(ctx) }()
	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.downs >= 2
	}, time.Minute, time.Millisecond, "partition windows open")
	cancel()
	require.NoError(t, <-ran)

	ops := sim.Link{From: "orders", To: "payments"}
	require.Equal(t, 0.2, rec.links[ops].LostResponse)
	require.Zero(t, rec.links[sim.Link{From: "orders", To: "broker"}].LostResponse, "a targeted fault stays on its link")
	require.Equal(t, 0.05, rec.nodes["payments"].CrashRate)
	require.Equal(t, 1.0, rec.nodes["orders"].CrashPoints["after-local-commit"])
	require.Positive(t, rec.downs, "partition windows opened")
	for l, f := range rec.links {
		require.False(t, f.Down, "window on %s closed when the run ended", l)
	}

	require.NoError(t, nem.Heal(context.Background()))
	require.Equal(t, 1, rec.heals)
	steps := nem.Steps()
	require.Equal(t, "heal", steps[len(steps)-1].Action)
	var starts, stops int
	for _, s := range steps {
		if s.Fault == "partition=10ms" {
			if s.Action == "start" {
				starts++
				require.NotEmpty(t, s.Link, "a window records the link it picked")
			} else {
				stops++
			}
		}
	}
	require.Positive(t, starts)
	require.Equal(t, starts, stops)
}

// FuzzParse: no profile makes Parse panic; what it accepts has rates
// between 0 and 1 (never NaN or an infinity) and positive durations, and
// its String parses back to the same profile.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"lost-response=0.1", "drop-request=orders-payments:0.5", "latency=50ms", "partition=orders-payments:1s",
		"crash=orders:0.02,error=payments:0.1", "crashpoint=after-local-commit:1", "none", "",
		"lost-response=NaN", "crash=orders:Inf", "error=payments:-Inf", "crashpoint=x:nan", "lost-response=1e400",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		for _, ff := range p {
			if !(ff.Rate >= 0 && ff.Rate <= 1) {
				t.Fatalf("%q: accepted rate %v", s, ff.Rate)
			}
			if ff.Duration < 0 {
				t.Fatalf("%q: accepted duration %v", s, ff.Duration)
			}
		}
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("%q: String() %q does not parse back: %v", s, p.String(), err)
		}
		if len(again) != len(p) {
			t.Fatalf("%q: String() %q parses back to %d faults, not %d", s, p.String(), len(again), len(p))
		}
	})
}

// TestNemesisKills checks timed crashes: moments from the seed alone, each
// crash recorded as a step naming its node, every node reached by *.
func TestNemesisKills(t *testing.T) {
	p, err := Parse("kill=payments:5ms,kill=*:5ms,late=orders-payments:0.5")
	require.NoError(t, err)
	nodes := []string{"broker", "orders", "payments", "rewards"}
	run := func(seed int64) []Step {
		rec := &recorder{links: map[sim.Link]sim.LinkFaults{}, nodes: map[string]sim.NodeFaults{}}
		// 300ms on a clock of its own: the moments, not the machine's
		// speed, decide how many kills there are.
		start := time.Unix(0, 0)
		nem := NewNemesis(p, nil, sim.StandardLinks, nodes, rec, &virtualClock{now: start, end: start.Add(300 * time.Millisecond)}, seed)
		require.NoError(t, nem.Run(context.Background()))
		require.Equal(t, 0.5, rec.links[sim.Link{From: "orders", To: "payments"}].Late)
		var crashes []Step
		for _, s := range nem.Steps() {
			if s.Action == "crash" {
				crashes = append(crashes, s)
			}
		}
		require.Len(t, rec.crashed, len(crashes), "every crash is a step")
		return crashes
	}
	steps := run(3)
	require.Greater(t, len(steps), 20, "about one kill every 5ms for each fault over 300ms")
	hit := map[string]bool{}
	for _, s := range steps {
		hit[s.Node] = true
		if s.Fault == "kill=payments:5ms" {
			require.Equal(t, "payments", s.Node)
		}
	}
	require.Len(t, hit, len(nodes), "kill=* reaches every node")
	for k := 1; k < 50; k++ {
		f := p[0]
		g := killGap(3, f, k)
		require.True(t, g >= 2500*time.Microsecond && g < 7500*time.Microsecond, "gap %v of kill %d within [INTERVAL/2, 3·INTERVAL/2)", g, k)
		require.Equal(t, g, killGap(3, f, k), "decided by (seed, fault, k) alone")
	}
	require.NotEqual(t, killTarget(3, p[1], 1, nodes)+killTarget(3, p[1], 2, nodes)+killTarget(3, p[1], 3, nodes),
		killTarget(4, p[1], 1, nodes)+killTarget(4, p[1], 2, nodes)+killTarget(4, p[1], 3, nodes), "another seed, other targets")
}

// TestSwarm checks swarm profiles: a seed's profile is the same every
// time, parses back, fits its world, and seeds between them draw every
// registered kind and leave some out.
func TestSwarm(t *testing.T) {
	w := Space{Links: sim.StandardLinks, Nodes: []string{"broker", "inventory", "orders", "payments", "rewards", "shipping"},
		CrashPoints: []string{"after-local-commit"}, CallTimeout: 300 * time.Millisecond}
	drawn := map[string]int{}
	for seed := int64(1); seed <= 200; seed++ {
		p := Swarm(seed, w)
		require.NotEmpty(t, p)
		require.Equal(t, p, Swarm(seed, w), "seed %d: same seed, same profile", seed)
		again, err := Parse(p.String())
		require.NoError(t, err, "seed %d: %s", seed, p)
		require.Equal(t, p, again, "seed %d: the profile reads back", seed)
		require.NoError(t, p.Validate(w.Links, w.Nodes, w.CrashPoints), "seed %d: %s", seed, p)
		require.Less(t, len(p), len(Kinds()), "seed %d: a swarm profile leaves kinds out", seed)
		for _, f := range p {
			drawn[f.Kind]++
		}
	}
	for _, k := range Kinds() {
		require.Positive(t, drawn[k.Name], "kind %s is never drawn", k.Name)
		require.InDelta(t, 100, drawn[k.Name], 40, "kind %s is in about half the profiles", k.Name)
	}
	require.Len(t, Swarm(1, Space{Links: w.Links, Nodes: w.Nodes}), len(Swarm(1, Space{Links: w.Links, Nodes: w.Nodes})))
}
