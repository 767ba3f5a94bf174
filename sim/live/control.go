package live

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
	k.set(f)
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
	if n.proc {
		if err := processFaults(f); err != nil {
			return fmt.Errorf("set faults on node %s: %w", node, err)
		}
	}
	f = f.Clone()
	n.mu.Lock()
	n.faults = f
	applied := n.pushLocked()
	n.mu.Unlock()
	applied()
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

// Heal implements sim.Controller: it removes every link and node fault,
// cancels pending delayed restarts and restarts every node that is down,
// now. A crash the old faults decided that has not landed yet (a request's
// crash after its service acted, a commit's crash after the statement)
// does not land. Healing a healed world does nothing.
func (r *Runtime) Heal(ctx context.Context) error {
	if r.isStopped() {
		return errStopped
	}
	for _, k := range r.links {
		k.set(sim.LinkFaults{})
	}
	var errs []error
	for _, name := range r.nodeNames() {
		n := r.nodes[name]
		if n.svc == nil {
			continue
		}
		n.mu.Lock()
		n.faults = sim.NodeFaults{}
		n.heals++ // crashes decided under the old faults, still on their way, do not land
		applied := n.pushLocked()
		n.cancelRestartLocked()
		n.mu.Unlock()
		applied()
		if err := n.start(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("heal: %w", err)
	}
	return nil
}

// Applied implements sim.Controller: a copy of every fault applied so far,
// in order.
func (r *Runtime) Applied() []sim.Applied { return r.log.all() }

// faultLog records the faults as they happen, timed on the runtime's clock
// from its start.
type faultLog struct {
	clock clock
	mu    sync.Mutex
	list  []sim.Applied
}

func (l *faultLog) add(fault, target, detail, order string) {
	l.addAt(fault, target, detail, order, "")
}

// addAt records a fault decided at a named site.
func (l *faultLog) addAt(fault, target, detail, order, site string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, sim.Applied{At: l.clock.now().Sub(l.clock.start), Fault: fault, Target: target, Detail: detail, Order: order, Site: site})
}

func (l *faultLog) all() []sim.Applied {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sim.Applied(nil), l.list...)
}
