package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Clock is the runtime's clock, which the nemesis keeps its schedule on.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Step is one change the nemesis made to the world.
type Step struct {
	// At is the time since the nemesis started.
	At time.Duration `json:"at"`
	// Action is "start", "stop", "heal" or "crash" (a timed crash).
	Action string `json:"action"`
	// Fault is the profile entry started or stopped ("" for heal).
	Fault string `json:"fault,omitempty"`
	// Link is the link a windowed fault picked, if it picked one.
	Link string `json:"link,omitempty"`
	// Node is the node a timed fault crashed (Action "crash").
	Node string `json:"node,omitempty"`
}

// Nemesis applies a profile to a world over a run: steady faults from the
// start until Heal, windowed ones (partitions) in windows placed by the
// seed, timed ones (kills) at moments drawn by the seed; and a schedule's
// moments at their times. It records every step it takes, and every
// window and kill as a Moment, so that a schedule can order them again.
type Nemesis struct {
	profile Profile
	moments []Moment
	links   []sim.Link
	nodes   []string
	ctl     sim.Controller
	clock   Clock
	rng     *rand.Rand
	seed    int64

	mu      sync.Mutex
	started bool
	start   time.Time
	active  map[int]*sim.Link // windowed faults currently on, by profile index (moments after the profile)
	steps   []Step
	acted   []Moment
}

// NewNemesis prepares p and moments (a schedule's, see Schedule.Moments)
// for a world with the given links and nodes.
func NewNemesis(p Profile, moments []Moment, links []sim.Link, nodes []string, ctl sim.Controller, clock Clock, seed int64) *Nemesis {
	return &Nemesis{
		profile: p, moments: moments, links: links, nodes: nodes, ctl: ctl, clock: clock,
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x6e656d65736973)),
		seed:   seed,
		active: map[int]*sim.Link{},
	}
}

// Start applies the steady faults now, so that they are on before the
// first request. Run calls it if it has not been called.
func (n *Nemesis) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.startLocked()
}

func (n *Nemesis) startLocked() error {
	if n.started {
		return nil
	}
	n.started = true
	n.start = n.clock.Now()
	for _, f := range n.profile {
		if k := kinds[f.Kind]; !k.Windowed && !k.Timed {
			n.steps = append(n.steps, Step{At: 0, Action: "start", Fault: f.String()})
		}
	}
	return n.applyLocked()
}

// Run applies the steady faults (see Start), then opens and closes
// windowed faults until ctx is done. It returns when ctx is done; call Heal
// after it. Run is one sequential loop on the clock (no goroutines of its
// own), so that a deterministic runtime can run it as one of its processes.
func (n *Nemesis) Run(ctx context.Context) error {
	n.mu.Lock()
	err := n.startLocked()
	// Each windowed fault alternates calm and faulty windows of f.Duration.
	// The first window opens after a calm of up to half a window, placed by
	// the seed, so that short runs meet it too.
	// Each timed fault acts at moments drawn per (seed, fault, k) alone.
	// A moment of the schedule acts once, at its time: a partition opens
	// a window of its own length, a kill crashes its node.
	var ws []*window
	for i, f := range n.profile {
		switch k := kinds[f.Kind]; {
		case k.Windowed:
			ws = append(ws, &window{i: i, f: f, next: time.Duration(n.rng.Float64() * float64(f.Duration) / 2)})
		case k.Timed:
			ws = append(ws, &window{i: i, f: f, timed: true, next: killGap(n.seed, f, 1)})
		}
	}
	for j, m := range n.moments {
		w := &window{i: len(n.profile) + j, next: m.At, once: true, f: Fault{Kind: m.Fault, Duration: m.For}, line: m.String()}
		if m.Fault == MomentKill {
			w.timed, w.f.Node = true, m.Node
		} else {
			l := m.Link
			w.f.Link = &l
		}
		ws = append(ws, w)
	}
	n.mu.Unlock()
	if err != nil {
		return err
	}
	for {
		var w *window // the next to open or close; the first listed on a tie
		for _, x := range ws {
			if !x.done && (w == nil || x.next < w.next) {
				w = x
			}
		}
		wait := time.Hour
		if w != nil {
			wait = w.next - n.since()
		}
		if n.clock.Sleep(ctx, wait) != nil {
			return n.closeAll(ws)
		}
		if w == nil {
			continue
		}
		if w.timed {
			w.count++
			node := w.f.Node
			if !w.once {
				node = killTarget(n.seed, w.f, w.count, n.nodes)
			}
			n.mu.Lock()
			n.steps = append(n.steps, Step{At: n.since(), Action: "crash", Fault: w.name(), Node: node})
			n.acted = append(n.acted, Moment{At: w.next, Fault: MomentKill, Node: node})
			n.mu.Unlock()
			if w.once {
				w.done = true
			} else {
				w.next += killGap(n.seed, w.f, w.count+1)
			}
			if err := n.ctl.Crash(node, CrashDowntime); err != nil {
				return fmt.Errorf("nemesis: %s: crash %s: %w", w.name(), node, err)
			}
			continue
		}
		n.mu.Lock()
		if !w.open {
			l := w.f.Link
			if l == nil {
				l = &n.links[n.rng.IntN(len(n.links))]
			}
			n.active[w.i] = l
			n.steps = append(n.steps, Step{At: n.since(), Action: "start", Fault: w.name(), Link: l.String()})
			n.acted = append(n.acted, Moment{At: w.next, Fault: MomentPartition, Link: *l, For: w.f.Duration})
		} else {
			l := n.active[w.i]
			delete(n.active, w.i)
			n.steps = append(n.steps, Step{At: n.since(), Action: "stop", Fault: w.name(), Link: l.String()})
			w.done = w.once
		}
		w.open = !w.open
		w.next += w.f.Duration
		err := n.applyLocked()
		n.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// window is the schedule of one windowed or timed fault of the profile,
// or of one moment of a schedule.
type window struct {
	i     int   // index in the profile; a moment's is after it
	f     Fault // the fault
	next  time.Duration
	open  bool
	timed bool   // a timed fault: it acts at next, then draws its next moment
	count int    // moments a timed fault has acted at so far
	once  bool   // a moment of a schedule: it acts once
	done  bool   // a moment that has acted
	line  string // a moment's schedule line
}

// name is what the nemesis's steps call w's fault.
func (w *window) name() string {
	if w.once {
		return w.line
	}
	return w.f.String()
}

// closeAll closes the windows open when the run ends.
func (n *Nemesis) closeAll(ws []*window) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	closed := false
	for _, w := range ws {
		if w.open {
			l := n.active[w.i]
			delete(n.active, w.i)
			n.steps = append(n.steps, Step{At: n.since(), Action: "stop", Fault: w.name(), Link: l.String()})
			closed = true
		}
	}
	if !closed {
		return nil
	}
	return n.applyLocked()
}

func (n *Nemesis) since() time.Duration { return n.clock.Now().Sub(n.start) }

// applyLocked sets every link's and node's faults to what the steady
// faults and the open windows add up to.
func (n *Nemesis) applyLocked() error {
	e := newEffect(n.links)
	for i, f := range n.profile {
		k := kinds[f.Kind]
		if k.Effect == nil {
			continue
		}
		if k.Windowed {
			l, on := n.active[i]
			if !on {
				continue
			}
			f.Link = l
		}
		k.Effect(f, e)
	}
	for j, m := range n.moments { // a schedule's partitions
		if l, on := n.active[len(n.profile)+j]; on && m.Fault == MomentPartition {
			kinds[MomentPartition].Effect(Fault{Kind: MomentPartition, Link: l}, e)
		}
	}
	for _, l := range n.links {
		if err := n.ctl.SetLinkFaults(l, e.Links[l]); err != nil {
			return fmt.Errorf("nemesis: link %s: %w", l, err)
		}
	}
	for _, node := range n.nodes {
		if err := n.ctl.SetNodeFaults(node, e.Nodes[node]); err != nil {
			return fmt.Errorf("nemesis: node %s: %w", node, err)
		}
	}
	return nil
}

// Heal removes every fault and restarts every crashed node.
func (n *Nemesis) Heal(ctx context.Context) error {
	n.mu.Lock()
	n.active = map[int]*sim.Link{}
	n.steps = append(n.steps, Step{At: n.since(), Action: "heal"})
	n.mu.Unlock()
	return n.ctl.Heal(ctx)
}

// Moments returns every window the nemesis opened and every node it
// killed, at the moments it planned them (since its start), in order: the
// timed part of the run's schedule.
func (n *Nemesis) Moments() []Moment {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Moment(nil), n.acted...)
}

// Steps returns what the nemesis did, in order.
func (n *Nemesis) Steps() []Step {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := append([]Step(nil), n.steps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}
