package faults

import "github.com/txchaos/txchaos/sim"

func init() {
	Register(Kind{
		Name: "crash-commit",
		Summary: "the node crashes just before (rolled back) or just after one of its commits, each commit with " +
			"probability RATE, and restarts on its own files",
		Syntax: "NODE:RATE",
		Parse:  nodeRate,
		Effect: func(f Fault, e *Effect) {
			e.Node(f.Node, func(n *sim.NodeFaults) { n.CommitCrash, n.Downtime = f.Rate, CrashDowntime })
		},
		Draw: nodeRateDraw(0.01, 0.1),
		Doc: "The node dies at one of its own transaction boundaries: just before a commit (the transaction is " +
			"rolled back) or just after it (the work is kept, and the code that committed never goes on: no " +
			"answer leaves, no next transaction starts). Every node can: a service between its commit and its " +
			"answer, the consumer between two transactions of one event, the coordinator between two steps. " +
			"The node restarts 200ms later; its background processes die and start again with it. The service " +
			"code is not changed: the runtime hooks every commit of the node's database (with --isolation process, " +
			"the node's process asks the runner at each commit and is killed by SIGKILL before or after it). " +
			"A consumer that commits " +
			"its inbox row and its credit in two transactions loses the event (lost-event).",
	})
}
