package live

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/txchaos/txchaos/sim"
)

// Commit crashes of a node process. The process opens its database
// through a sim.Gate (childGate) as the runtime's own nodes do, and while
// its faults give its commits a chance (sim.NodeFaults.CommitCrash) it
// asks the runtime at each commit, over the control channel, before the
// commit takes effect. The runtime counts the node's commits (the site,
// "commit N of NODE") and decides with the same sim.NodeFaults.CommitFault
// as for a node in its own process: to crash before the commit, it kills
// the process while the question waits (inside SQLite's commit hook: the
// transaction never commits); to crash after it, it answers with the site,
// the process commits and asks again, and the runtime kills it then,
// before the code that committed goes on. Commits made while the faults
// give them no chance are not asked about: the process counts them and
// tells the runtime with its next question, so that the sites are numbered
// as in the runtime's process.

// childGate is a node process's sim.Gate, one per database connection.
type childGate struct {
	c     *child
	after string // the site of a commit after which to ask again, or ""
}

// BeforeCommit implements sim.Gate. A commit the runtime crashes the node
// before never returns from here: the process is killed first.
func (g *childGate) BeforeCommit() bool {
	c := g.c
	if !c.serving.Load() {
		return false // Start's commits (its migrations) are no sites
	}
	c.mu.Lock()
	p := c.faults.CommitCrash
	c.mu.Unlock()
	if p <= 0 {
		c.unasked.Add(1)
		return false
	}
	site, ok := c.ask("/commit", url.Values{"unasked": {strconv.FormatUint(c.unasked.Swap(0), 10)}})
	if !ok {
		os.Exit(exitCrashed) // killed here, or a runtime it cannot hear: it must not commit
	}
	g.after = site
	return false
}

// AfterStatement implements sim.Gate: after a commit the runtime decided
// to crash the node after, it asks again and is killed there.
func (g *childGate) AfterStatement() {
	if g.after == "" {
		return
	}
	g.c.ask("/commit", url.Values{"after": {g.after}})
	os.Exit(exitCrashed) // it must not go on past the commit
}

// Refuses implements sim.Gate: a node process that crashes is gone.
func (g *childGate) Refuses() bool { return false }

// ask asks the runtime's control channel question path about this
// incarnation, with vals: ok is false unless the runtime answered and let
// the process go on; answer is what it said (a site after which to crash,
// for a commit).
func (c *child) ask(path string, vals url.Values) (answer string, ok bool) {
	vals.Set("node", c.spec.Node)
	vals.Set("incarnation", strconv.Itoa(c.spec.Incarnation))
	resp, err := c.ctl.Post(c.spec.Control+path+"?"+vals.Encode(), "", nil)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", false
	}
	switch resp.StatusCode {
	case http.StatusNoContent:
		return "", true
	case http.StatusOK:
		return string(b), true
	}
	return "", false
}

// serveCommit answers a node process's question at a commit (see above):
// 204 to commit, 200 and the site to commit and ask again, or no answer:
// the runtime has killed the process.
func (n *node) serveCommit(w http.ResponseWriter, inc *incarnation, q url.Values) {
	if site := q.Get("after"); site != "" {
		n.mu.Lock()
		heals, want := inc.after[site]
		delete(inc.after, site)
		downtime := n.downtimeLocked()
		n.mu.Unlock()
		if want {
			n.decided(inc, heals, "crash-commit", "after the commit", "", site, downtime)
		}
		panic(http.ErrAbortHandler) // no answer: the process stops here
	}
	unasked, err := strconv.ParseUint(q.Get("unasked"), 10, 64)
	if err != nil {
		http.Error(w, "unasked: "+err.Error(), http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	n.commits += unasked + 1
	k, f, downtime, heals := n.commits, n.faults, n.downtimeLocked(), n.heals
	n.mu.Unlock()
	site := sim.CommitSite(n.name, "", k) // which request a commit serves is not known here: numbered per node
	crash, before := f.CommitFault(n.rt.opt.Seed, site)
	switch {
	case !crash:
		w.WriteHeader(http.StatusNoContent)
	case before:
		if !n.decided(inc, heals, "crash-commit", "before the commit", "", site, downtime) {
			w.WriteHeader(http.StatusNoContent) // healed meanwhile: commit
			return
		}
		panic(http.ErrAbortHandler) // killed while it waits: it never commits
	default:
		n.mu.Lock()
		if inc.after == nil {
			inc.after = map[string]uint64{}
		}
		inc.after[site] = heals // another connection may commit before this one asks again
		n.mu.Unlock()
		io.WriteString(w, site)
	}
}
