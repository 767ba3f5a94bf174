package jetstream

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/txchaos/txchaos/sim"
)

// Stream is the stream that holds every topic.
const Stream = "events"

// subjectPrefix + topic is a topic's subject.
const subjectPrefix = "topics."

// AckWait is how long a consumer's delivered event waits for its
// acknowledgement before JetStream delivers it again. It is short, so that
// a run comes to rest within its quiet period, and long beside the rewards
// consumer's work on one batch (a few milliseconds), so that an event is
// not delivered again while it is being applied.
const AckWait = time.Second

// GreetingLines is how many lines a NATS server sends on a new connection
// before it answers the connection's first request: INFO on accepting it,
// then, to the client's CONNECT and first PING, PONG and a second INFO
// (the connection's account), both before anything else.
const GreetingLines = 3

// readyTimeout bounds a server's start.
const readyTimeout = 10 * time.Second

// Server is an embedded NATS server with JetStream, on its file store in
// a directory of its own. The live runtime starts it as the broker node,
// crashes it with Halt and starts it again on the same files. Its methods
// are safe for concurrent use.
type Server struct {
	dir    string
	window time.Duration

	mu     sync.Mutex
	ns     *server.Server // nil while down
	dumped uint64         // the last stream sequence Dump wrote
}

// NewServer is a server on the store directory dir (created if missing)
// whose stream has the duplicate window window; zero means JetStream's
// default window, which publishes without Nats-Msg-Id never use.
func NewServer(dir string, window time.Duration) *Server {
	return &Server{dir: dir, window: window}
}

// Start starts the server on its files, listening on a free port of
// 127.0.0.1, and returns its address. The stream is created on the first
// start and brought to the server's window on every start. Starting a
// server that is up returns its address.
func (s *Server) Start(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		ns, err := s.boot(true)
		if err != nil {
			return "", err
		}
		if err := s.ensureStream(ctx, ns); err != nil {
			halt(ns)
			return "", err
		}
		s.ns = ns
	}
	return s.ns.Addr().String(), nil
}

// Halt stops the server at once: its listener and every connection close,
// in-flight requests go unanswered. What it stored stays in its files.
// Halting a server that is down does nothing.
func (s *Server) Halt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns != nil {
		halt(s.ns)
		s.ns = nil
	}
}

// boot starts a nats-server with JetStream on s's store; without listen it
// takes in-process connections only.
func (s *Server) boot(listen bool) (*server.Server, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("jetstream: store directory: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "txchaos-broker",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		DontListen: !listen,
		JetStream:  true,
		StoreDir:   s.dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: configure the server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		halt(ns)
		return nil, fmt.Errorf("jetstream: the server on %s was not ready within %s", s.dir, readyTimeout)
	}
	return ns, nil
}

func halt(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

// connect is an in-process connection to ns: the runtime's own, never
// through the links or their faults.
func connect(ns *server.Server) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.NoReconnect())
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream: connect in process: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// ensureStream creates the stream, or updates its window.
func (s *Server) ensureStream(ctx context.Context, ns *server.Server) error {
	nc, js, err := connect(ns)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       Stream,
		Subjects:   []string{subjectPrefix + ">"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Duplicates: s.window,
	})
	if err != nil {
		return fmt.Errorf("jetstream: create the stream %s: %w", Stream, err)
	}
	return nil
}

// Dump writes what the stream holds and how far each consumer has
// acknowledged to the SQLite database at path (sim.BrokerSchema): the
// events not written by an earlier Dump, and every consumer's
// acknowledgement floor as its committed offset. A server that is down is
// read from its files by a server of Dump's own that takes no network
// connection.
func (s *Server) Dump(ctx context.Context, path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.ns
	if ns == nil {
		var err error
		if ns, err = s.boot(false); err != nil {
			return err
		}
		defer halt(ns)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		s.dumped = 0
	}
	nc, js, err := connect(ns)
	if err != nil {
		return err
	}
	defer nc.Close()
	st, err := js.Stream(ctx, Stream)
	if err != nil {
		return fmt.Errorf("jetstream: dump: read the stream: %w", err)
	}
	last := st.CachedInfo().State.LastSeq
	var events []sim.Event
	var at []int64
	for seq := s.dumped + 1; seq <= last; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("jetstream: dump: read message %d: %w", seq, err)
		}
		var e sim.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			return fmt.Errorf("jetstream: dump: message %d is not an event: %w", seq, err)
		}
		e.Offset = int64(m.Sequence)
		events = append(events, e)
		at = append(at, m.Time.UnixNano())
	}
	var offsets []sim.Ack
	list := st.ListConsumers(ctx)
	for ci := range list.Info() {
		md := ci.Config.Metadata
		offsets = append(offsets, sim.Ack{Topic: md[metaTopic], Group: md[metaGroup], Offset: int64(ci.AckFloor.Stream)})
	}
	if err := list.Err(); err != nil {
		return fmt.Errorf("jetstream: dump: list the consumers: %w", err)
	}
	if err := write(ctx, path, events, at, offsets); err != nil {
		return fmt.Errorf("jetstream: dump to %s: %w", path, err)
	}
	s.dumped = last
	return nil
}

// write adds events (published at at) to the database at path and
// replaces its offsets.
func write(ctx context.Context, path string, events []sim.Event, at []int64, offsets []sim.Ack) error {
	db, err := sim.OpenDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := sim.Migrate(ctx, db, sim.BrokerSchema...); err != nil {
		return err
	}
	return sim.InTx(ctx, db, func(tx *sql.Tx) error {
		for i, e := range events {
			_, err := tx.Exec(`INSERT OR IGNORE INTO events(offset, topic, event_id, type, order_ref, customer, amount, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				e.Offset, e.Topic, e.EventID, e.Type, e.Order, e.Customer, e.Amount, at[i])
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`DELETE FROM offsets`); err != nil {
			return err
		}
		for _, o := range offsets {
			if _, err := tx.Exec(`INSERT INTO offsets(topic, grp, offset) VALUES (?, ?, ?)`, o.Topic, o.Group, o.Offset); err != nil {
				return err
			}
		}
		return nil
	})
}
