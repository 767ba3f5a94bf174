package det

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// SetLinkFaults implements sim.Controller: it replaces the faults of link
// l. They apply to requests sent from now on.
func (r *Runtime) SetLinkFaults(l sim.Link, f sim.LinkFaults) error {
	k := r.links[l]
	if k == nil {
		return fmt.Errorf("set faults on link %s: the world has no such link", l)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("set faults on link %s: %w", l, err)
	}
	k.faults = f
	return nil
}

// SetNodeFaults implements sim.Controller: it replaces the faults of node.
// They apply to requests and crash points reached from now on; a pending
// restart keeps its time.
func (r *Runtime) SetNodeFaults(node string, f sim.NodeFaults) error {
	n, err := r.serviceNode(node)
	if err != nil {
		return fmt.Errorf("set faults: %w", err)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("set faults on node %s: %w", node, err)
	}
	f = f.Clone()
	n.faults = f
	return nil
}

// serviceNode is the node named name, which must run a service.
func (r *Runtime) serviceNode(name string) (*node, error) {
	n := r.nodes[name]
	switch {
	case n == nil:
		return nil, fmt.Errorf("no node %q in the world", name)
	case n.svc == nil:
		return nil, fmt.Errorf("node %q runs no service: it has nothing to crash or fault", name)
	}
	return n, nil
}

// Crash implements sim.Controller: it stops node hard now (recorded as
// crash) and returns once the node's handlers and processes have ended and
// its database is closed (at once when a process of the node itself calls
// it). The node restarts after downtime, or never if downtime is zero,
// until Restart or Heal. Crashing a node that is down does nothing.
func (r *Runtime) Crash(node string, downtime time.Duration) error {
	n, err := r.serviceNode(node)
	if err != nil {
		return err
	}
	if r.stopped {
		return errStopped
	}
	return r.do(context.Background(), func(p *proc) error {
		inc := n.cur
		if inc == nil {
			return nil
		}
		r.crash(inc, "crash", "", "", downtime)
		if p.inc != inc {
			r.s.await(p, node+" to wind down", func() bool { return inc.torn })
		}
		return nil
	})
}

// Restart implements sim.Controller: it starts a crashed node again on its
// own files now, cancelling its pending delayed restart. Restarting a node
// that is up does nothing.
func (r *Runtime) Restart(ctx context.Context, node string) error {
	n, err := r.serviceNode(node)
	if err != nil {
		return err
	}
	return r.do(ctx, func(*proc) error {
		n.cancelRestart()
		return r.start(n)
	})
}

// Heal implements sim.Controller: it removes every link and node fault,
// cancels pending delayed restarts and restarts every node that is down,
// now. The schedule's decisions not yet taken stay: a schedule is finite,
// and its faults land where the run reaches their sites, during recovery
// too. Healing a healed world does nothing.
func (r *Runtime) Heal(ctx context.Context) error {
	if r.stopped {
		return errStopped
	}
	for _, l := range r.world.Links {
		r.links[l].faults = sim.LinkFaults{}
	}
	return r.do(ctx, func(*proc) error {
		var errs []error
		for _, name := range r.nodeNames() {
			n := r.nodes[name]
			if n.svc == nil {
				continue
			}
			n.faults = sim.NodeFaults{}
			n.cancelRestart()
			if err := r.start(n); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("heal: %w", err)
		}
		return nil
	})
}

// Applied implements sim.Controller: a copy of every fault applied so far,
// in order.
func (r *Runtime) Applied() []sim.Applied { return append([]sim.Applied(nil), r.log...) }
