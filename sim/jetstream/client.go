package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/txchaos/txchaos/sim"
)

// Dialer opens the connection of one call to the broker. op names the
// call for the runtime's record of faults: "PUB orders", "FETCH
// orders/rewards", "ACK orders/rewards".
type Dialer func(ctx context.Context, op string) (net.Conn, error)

// Client is a node's client for the JetStream broker: a sim.BrokerClient
// over NATS. Every call opens its own connection with the dialer and
// closes it; a call waits at most the node's call timeout. Failures are
// *sim.Unavailable, bad arguments *sim.Rejected, as with the log's client.
type Client struct {
	n     *sim.Node
	dial  Dialer
	msgID bool

	mu        sync.Mutex
	delivered map[string]map[int64]string // by consumer: the last poll's deliveries not yet acknowledged, offset → ack subject
}

var _ sim.BrokerClient = (*Client)(nil)

// NewClient is node n's client, calling through dial. With msgID, each
// publish carries its event id as Nats-Msg-Id, which the stream's
// duplicate window de-duplicates.
func NewClient(n *sim.Node, dial Dialer, msgID bool) *Client {
	return &Client{n: n, dial: dial, msgID: msgID, delivered: map[string]map[int64]string{}}
}

// Consumer metadata: the topic and group a durable consumer serves.
const (
	metaTopic = "txchaos.topic"
	metaGroup = "txchaos.group"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,100}$`)

// consumerName is the durable consumer of group in topic.
func consumerName(topic, group string) string { return topic + "_" + group }

func rejected(format string, args ...any) error {
	return &sim.Rejected{Service: sim.Broker, Status: http.StatusBadRequest, Reason: fmt.Sprintf(format, args...)}
}

// checkNames rejects a topic or group NATS cannot name a subject or
// consumer after.
func checkNames(topic, group string) error {
	if err := checkName("topic", topic); err != nil {
		return err
	}
	return checkName("group", group)
}

func checkName(what, v string) error {
	if !nameRE.MatchString(v) {
		return rejected("%s %q is not 1 to 100 letters, digits and dashes", what, v)
	}
	return nil
}

// Publish implements sim.BrokerClient: a JetStream publish that waits for
// the stream's PubAck and returns the event's stream sequence (the first
// copy's, when the stream drops the publish as a duplicate).
func (c *Client) Publish(ctx context.Context, e sim.Event) (int64, error) {
	if e.Topic == "" || e.EventID == "" || e.Type == "" {
		return 0, rejected("topic, event_id and type are required")
	}
	if err := checkName("topic", e.Topic); err != nil {
		return 0, err
	}
	e.Offset = 0
	data, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("encode event %s: %w", e.EventID, err)
	}
	var seq uint64
	err = c.call(ctx, "PUB "+e.Topic, func(ctx context.Context, nc *nats.Conn) error {
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		// No retry of its own on "no responders": every retry is the
		// caller's.
		opts := []jetstream.PublishOpt{jetstream.WithRetryAttempts(0), jetstream.WithExpectStream(Stream)}
		if c.msgID {
			opts = append(opts, jetstream.WithMsgID(e.EventID))
		}
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subjectPrefix + e.Topic, Data: data}, opts...)
		if err != nil {
			return err
		}
		seq = ack.Sequence
		return nil
	})
	return int64(seq), err
}

// Poll implements sim.BrokerClient: one pull request to the group's
// durable consumer (created if missing) for the events available now.
func (c *Client) Poll(ctx context.Context, topic, group string, max int) ([]sim.Event, error) {
	if topic == "" || group == "" || max < 1 || max > 1000 {
		return nil, rejected("topic, group and max (1..1000) are required")
	}
	if err := checkNames(topic, group); err != nil {
		return nil, err
	}
	name := consumerName(topic, group)
	var out []sim.Event
	acks := map[int64]string{}
	err := c.call(ctx, "FETCH "+topic+"/"+group, func(ctx context.Context, nc *nats.Conn) error {
		msgs, err := pull(ctx, nc, name, max)
		if errors.Is(err, errNoConsumer) {
			if err := createConsumer(ctx, nc, topic, group); err != nil {
				return err
			}
			msgs, err = pull(ctx, nc, name, max)
		}
		if err != nil {
			return err
		}
		for _, m := range msgs {
			meta, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("delivery on %s: %w", m.Subject, err)
			}
			var e sim.Event
			if err := json.Unmarshal(m.Data, &e); err != nil {
				return fmt.Errorf("message %d is not an event: %w", meta.Sequence.Stream, err)
			}
			e.Offset = int64(meta.Sequence.Stream)
			out = append(out, e)
			acks[e.Offset] = m.Reply
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Only a poll whose answer arrived whole is the consumer's to
	// acknowledge; the events of a failed one come again after AckWait.
	c.mu.Lock()
	c.delivered[name] = acks
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out, nil
}

// Ack implements sim.BrokerClient: it acknowledges each event at or before
// a.Offset that the group's last poll delivered, and waits for the
// server's confirmation of each. An acknowledgement that fails leaves its
// event to be delivered again after AckWait.
func (c *Client) Ack(ctx context.Context, a sim.Ack) error {
	if a.Topic == "" || a.Group == "" || a.Offset < 1 {
		return rejected("topic, group and a positive offset are required")
	}
	if err := checkNames(a.Topic, a.Group); err != nil {
		return err
	}
	name := consumerName(a.Topic, a.Group)
	var subjects []string
	c.mu.Lock()
	for off, subj := range c.delivered[name] {
		if off <= a.Offset {
			subjects = append(subjects, subj)
			delete(c.delivered[name], off)
		}
	}
	c.mu.Unlock()
	if len(subjects) == 0 {
		return &sim.Rejected{Service: sim.Broker, Status: http.StatusConflict, Reason: fmt.Sprintf(
			"no event at or before offset %d of the last poll of %s by %s to acknowledge: JetStream acknowledges deliveries, not offsets", a.Offset, name, c.n.Name())}
	}
	return c.call(ctx, "ACK "+a.Topic+"/"+a.Group, func(ctx context.Context, nc *nats.Conn) error {
		inbox := nc.NewInbox()
		sub, err := nc.SubscribeSync(inbox)
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
		for _, subj := range subjects {
			// JetStream's acknowledgement: "+ACK" to the delivery's reply
			// subject; with a reply subject of its own, the server
			// confirms once it has recorded it.
			if err := nc.PublishRequest(subj, inbox, []byte("+ACK")); err != nil {
				return err
			}
		}
		for range subjects {
			if _, err := sub.NextMsgWithContext(ctx); err != nil {
				return fmt.Errorf("waiting for the server to confirm an acknowledgement: %w", err)
			}
		}
		return nil
	})
}

// errNoConsumer reports a pull request nobody answered: the consumer does
// not exist (yet).
var errNoConsumer = errors.New("no such consumer")

// pull sends one no-wait pull request for up to max messages to consumer
// name and collects the answer: the messages, ended by a status when there
// are fewer than max.
func pull(ctx context.Context, nc *nats.Conn, name string, max int) ([]*nats.Msg, error) {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	req := fmt.Sprintf(`{"batch":%d,"no_wait":true}`, max)
	if err := nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT."+Stream+"."+name, inbox, []byte(req)); err != nil {
		return nil, err
	}
	var msgs []*nats.Msg
	for len(msgs) < max {
		m, err := sub.NextMsgWithContext(ctx)
		if errors.Is(err, nats.ErrNoResponders) && len(msgs) == 0 {
			return nil, errNoConsumer
		}
		if err != nil {
			return nil, err
		}
		if status := m.Header.Get("Status"); status != "" && len(m.Data) == 0 {
			if status == "404" || status == "408" { // no more messages now
				return msgs, nil
			}
			return nil, fmt.Errorf("pull from consumer %s: status %s %s", name, status, m.Header.Get("Description"))
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// createConsumer creates the durable consumer of group in topic; creating
// one that exists with the same configuration does nothing.
func createConsumer(ctx context.Context, nc *nats.Conn, topic, group string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	_, err = js.CreateOrUpdateConsumer(ctx, Stream, jetstream.ConsumerConfig{
		Durable:       consumerName(topic, group),
		FilterSubject: subjectPrefix + topic,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       AckWait,
		MaxDeliver:    -1,
		Metadata:      map[string]string{metaTopic: topic, metaGroup: group},
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", consumerName(topic, group), err)
	}
	return nil
}

// call runs fn on a connection of its own, opened with the dialer, within
// the node's call timeout. A failure is *sim.Unavailable.
func (c *Client) call(ctx context.Context, op string, fn func(ctx context.Context, nc *nats.Conn) error) error {
	ctx, cancel := c.n.WithTimeout(ctx, c.n.CallTimeout())
	defer cancel()
	timeout := c.n.CallTimeout()
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	nc, err := nats.Connect("nats://"+sim.Broker+":4222",
		nats.SetCustomDialer(dialer{ctx: ctx, op: op, dial: c.dial}),
		nats.SkipHostLookup(),
		nats.Timeout(timeout), // the handshake's deadline
		nats.NoReconnect(),    // never a reconnect that replays buffered requests
		nats.Name(c.n.Name()),
		nats.NoCallbacksAfterClientClose(),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	)
	if err == nil {
		defer nc.Close()
		err = fn(ctx, nc)
	}
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%v)", cerr, err)
	}
	return &sim.Unavailable{Service: sim.Broker, Err: fmt.Errorf("%s: %w", op, err)}
}

// dialer is the nats.CustomDialer of one call: it ignores the URL and
// dials through the runtime, and closes the connection when the call's
// context ends, so that a call never outlives its deadline or its node.
type dialer struct {
	ctx  context.Context
	op   string
	dial Dialer
}

func (d dialer) Dial(_, _ string) (net.Conn, error) {
	conn, err := d.dial(d.ctx, d.op)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(d.ctx, func() { conn.Close() })
	return &boundConn{Conn: conn, stop: stop}, nil
}

// boundConn is a connection closed when its call's context ends.
type boundConn struct {
	net.Conn
	stop func() bool
}

func (c *boundConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
