package live

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/jetstream"
)

// A server node is a node that speaks its own protocol over TCP rather
// than HTTP: the broker node when the world's broker is JetStream
// (sim.BrokerJetStream), an embedded NATS server on its store directory
// Dir/broker.jetstream. It has no database of its own and runs no node
// code; DBPath(sim.Broker) is where Sync and Stop dump the stream for the
// checker (jetstream.Server.Dump).
//
// Its links carry one connection per call (the jetstream client's
// Dialer), and each call's fate is rolled when it dials, from the link's
// faults and then the node's: a dropped call goes to the drop lane and
// never reaches the node; otherwise an injected error fails the call
// before it leaves, a crash before acting crashes the node and fails the
// call as a refused connection would, and a crash after acting goes to
// the lost-crash lane, whose toxic crashes the node as soon as its answer
// arrives and drops the answer. A NATS server speaks first, so the lanes
// that lose answers let the connection's greeting through
// (jetstream.GreetingLines): without it no request would ever be sent.

// serverToxics are the lanes' toxics on a link to a server node.
var serverToxics = [numLanes]string{
	drop:      laneToxics[drop],
	lost:      answerLossToxic,
	lostCrash: answerLossToxic,
}

var answerLossToxic = fmt.Sprintf(`{"name":"lost","type":%q,"stream":"downstream","toxicity":1,"attributes":{"greeting":%d}}`,
	answerLossType, jetstream.GreetingLines)

// jetStreamDir is the JetStream broker's store directory in dir.
func jetStreamDir(dir string) string { return filepath.Join(dir, sim.Broker+".jetstream") }

// srvName names what a server node runs, for errors.
func (n *node) srvName() string { return "the " + sim.BrokerJetStream + " broker" }

// startServer starts a new incarnation of a server node; n.startMu is
// held and the last incarnation has wound down.
func (n *node) startServer(ctx context.Context, prev *incarnation) error {
	inc := &incarnation{done: make(chan struct{}), halt: n.js.Halt}
	inc.ctx, inc.cancel = context.WithCancel(n.rt.root)
	inc.node = n.simNode(nil, inc.ctx, func(service string) string { return n.rt.url(n.name, service) })
	if prev != nil {
		n.rt.log.add("restart", n.name, "", "")
	}
	addr, err := n.js.Start(ctx)
	if err != nil {
		inc.cancel()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	n.mu.Lock()
	moved := addr != n.addr
	n.addr, n.cur = addr, inc
	n.mu.Unlock()
	if moved { // a new port on every start
		for l, k := range n.rt.links {
			if l.To == n.name {
				if err := k.retarget(addr); err != nil {
					return fmt.Errorf("start %s: %w", n.name, err)
				}
			}
		}
	}
	return nil
}

// brokerClient is the JetStream client of node sn, over its link to the
// broker; nil when the world's broker is the log or sn has no such link.
func (r *Runtime) brokerClient(sn *sim.Node) sim.BrokerClient {
	k := r.links[sim.Link{From: sn.Name(), To: sim.Broker}]
	if k == nil || k.to == nil {
		return nil
	}
	return jetstream.NewClient(sn, k.dial, r.world.Config.Dedupe() > 0)
}

// dial opens the connection of one call (op) over the link to a server
// node, on the lane the call's fate picks.
func (k *link) dial(ctx context.Context, op string) (net.Conn, error) {
	ln, delay := k.decide(op, "") // a JetStream call names no order
	if delay > 0 {
		if err := k.clock.sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("link %s: waiting out the injected latency: %w", k.l, err)
		}
	}
	n := k.to
	if ln != drop { // a dropped call never reaches the node
		switch f, downtime, heals := n.roll(); f {
		case failFast:
			n.rt.log.add("error", n.name, op, "")
			return nil, fmt.Errorf("%s failed transiently before acting (injected fault)", n.name)
		case crashBefore: // the call never gets an answer, even from a node restarting meanwhile
			n.mu.Lock()
			inc := n.cur
			n.mu.Unlock()
			if inc == nil || n.decided(inc, heals, "crash", "before "+op, "", "", downtime) {
				return nil, fmt.Errorf("%s crashed before acting (injected fault)", n.name)
			}
		case crashAfter:
			ln = lostCrash
		}
	}
	d := net.Dialer{Timeout: k.clock.real(dialTimeout)}
	return d.DialContext(ctx, "tcp", k.addrs[ln])
}

// crashOnAnswer makes proxy p's answer-loss toxic crash n when it drops
// an answer.
func (n *node) crashOnAnswer(p *toxiproxy.Proxy) {
	p.Toxics.GetToxic("lost").Toxic.(*answerLoss).lost = func() {
		n.rt.spawn(func() {
			n.mu.Lock()
			inc, downtime := n.cur, n.downtimeLocked()
			n.mu.Unlock()
			if inc != nil {
				n.crash(inc, "crash", "after answering", "", downtime, true)
			}
		})
	}
}

// Sync writes the JetStream broker's stream to DBPath(sim.Broker) for the
// checker (see jetstream.Server.Dump) and reports a change: the live
// runtime cannot tell whether its files changed. With the log broker it
// does nothing else.
func (r *Runtime) Sync() (bool, error) {
	if r.js == nil {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return true, r.js.Dump(ctx, r.DBPath(sim.Broker))
}

// answerLossType is the type name of answerLoss in Toxiproxy's registry.
const answerLossType = "txchaos_answer_loss"

func init() { toxics.Register(answerLossType, new(answerLoss)) }

// answerLoss is a Toxiproxy toxic for the downstream of a server that
// speaks first: on each connection it lets the first Greeting lines
// through (the server's side of the handshake) and drops every byte after
// them: the answers. If lost is set, it is called on a connection's first
// dropped bytes.
type answerLoss struct {
	Greeting int `json:"greeting"`
	lost     func()
}

// lossState is a connection's progress through the greeting.
type lossState struct {
	lines   int
	dropped bool
}

// NewState implements toxics.StatefulToxic.
func (t *answerLoss) NewState() any { return new(lossState) }

// Pipe implements toxics.Toxic.
func (t *answerLoss) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*lossState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			n := 0
			for st.lines < t.Greeting && n < len(c.Data) {
				i := bytes.IndexByte(c.Data[n:], '\n')
				if i < 0 {
					n = len(c.Data)
					break
				}
				n += i + 1
				st.lines++
			}
			if n > 0 {
				stub.Output <- &stream.StreamChunk{Data: c.Data[:n], Timestamp: c.Timestamp}
			}
			if n < len(c.Data) && !st.dropped {
				st.dropped = true
				if t.lost != nil {
					t.lost()
				}
			}
		}
	}
}
