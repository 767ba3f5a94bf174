package faults

import "github.com/txchaos/txchaos/sim"

// Effect is what a set of active faults does to the world: the faults of
// each link and each node.
type Effect struct {
	Links map[sim.Link]sim.LinkFaults
	Nodes map[string]sim.NodeFaults
	all   []sim.Link
}

func newEffect(links []sim.Link) *Effect {
	return &Effect{Links: map[sim.Link]sim.LinkFaults{}, Nodes: map[string]sim.NodeFaults{}, all: links}
}

// Link changes the faults of f's link, or of every link when f names none.
func (e *Effect) Link(f Fault, change func(*sim.LinkFaults)) {
	targets := e.all
	if f.Link != nil {
		targets = []sim.Link{*f.Link}
	}
	for _, l := range targets {
		lf := e.Links[l]
		change(&lf)
		e.Links[l] = lf
	}
}

// Node changes the faults of a node.
func (e *Effect) Node(node string, change func(*sim.NodeFaults)) {
	nf := e.Nodes[node]
	change(&nf)
	e.Nodes[node] = nf
}
