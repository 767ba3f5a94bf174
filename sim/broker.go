package sim

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"
)

// BrokerClient is the event broker as node code sees it (Node.Broker). Delivery
// is at least once: an event stays deliverable to a group until the group
// acknowledges it.
//
// Two brokers implement it, chosen by Config.Broker: the log
// (BrokerService, a durable log over SQLite behind an HTTP API: the
// default) and NATS JetStream (sim/jetstream, live runtime only). Their
// answers to faults differ where the real systems differ: the log delivers
// an unacknowledged event again on the next poll, JetStream once its
// acknowledgement wait has passed; the log keeps every publish, JetStream
// drops a publish whose event id it has seen within its duplicate window.
type BrokerClient interface {
	// Publish appends e to its topic and returns its offset. A publish
	// whose answer is lost may have been appended: retrying can duplicate
	// it (unless the broker de-duplicates by event id; then the offset is
	// the first copy's).
	Publish(ctx context.Context, e Event) (int64, error)
	// Poll returns up to max (1..1000) events of topic that are due to
	// group: not yet acknowledged, in offset order.
	Poll(ctx context.Context, topic, group string, max int) ([]Event, error)
	// Ack acknowledges, for a.Group in a.Topic, the events up to a.Offset:
	// they are consumed. The log commits the offset (every event up to
	// it); JetStream acknowledges, one by one, those the group's last poll
	// through this client delivered, and refuses (409) when there are
	// none.
	Ack(ctx context.Context, a Ack) error
}

// The brokers Config.Broker names.
const (
	// BrokerLog is the log: BrokerService on the broker node (the default).
	BrokerLog = "log"
	// BrokerJetStream is NATS JetStream, embedded (sim/jetstream); only
	// the live runtime runs it.
	BrokerJetStream = "jetstream"
)

// Brokers lists the brokers, for help texts and validation.
var Brokers = []string{BrokerLog, BrokerJetStream}

// DefaultDedupeWindow is JetStream's default duplicate window.
const DefaultDedupeWindow = 2 * time.Minute

// MinDedupeWindow is the shortest duplicate window JetStream accepts.
const MinDedupeWindow = 100 * time.Millisecond

// BrokerSchema is the broker's database: an append-only log of events and
// the committed offset of each consumer group. The checker reads it directly.
var BrokerSchema = []string{
	`CREATE TABLE IF NOT EXISTS events (
		offset INTEGER PRIMARY KEY AUTOINCREMENT,
		topic TEXT NOT NULL,
		event_id TEXT NOT NULL,
		type TEXT NOT NULL,
		order_ref TEXT NOT NULL,
		customer TEXT NOT NULL,
		amount INTEGER NOT NULL,
		published_at INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS events_topic ON events(topic, offset)`,
	`CREATE TABLE IF NOT EXISTS offsets (
		topic TEXT NOT NULL,
		grp TEXT NOT NULL,
		offset INTEGER NOT NULL,
		PRIMARY KEY (topic, grp)
	)`,
	`CREATE TABLE IF NOT EXISTS deliveries (
		topic TEXT NOT NULL,
		grp TEXT NOT NULL,
		offset INTEGER NOT NULL,
		count INTEGER NOT NULL,
		PRIMARY KEY (topic, grp, offset)
	)`,
}

// BrokerService is the log broker: a durable log with consumer offsets,
// over the node's SQLite database. Delivery is at-least-once: a polled
// event is delivered again, on every poll, until its group acknowledges an
// offset at or past it.
type BrokerService struct{}

// Start implements Service.
func (BrokerService) Start(n *Node) (http.Handler, error) {
	if err := Migrate(n.Context(), n.DB(), BrokerSchema...); err != nil {
		return nil, err
	}
	b := broker{n}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /publish", b.publish)
	mux.HandleFunc("GET /poll", b.poll)
	mux.HandleFunc("POST /ack", b.ack)
	return mux, nil
}

type broker struct{ n *Node }

func (b broker) publish(w http.ResponseWriter, r *http.Request) {
	var e Event
	if !ReadJSON(w, r, &e) {
		return
	}
	if e.Topic == "" || e.EventID == "" || e.Type == "" {
		WriteError(w, http.StatusBadRequest, "bad_request", "topic, event_id and type are required")
		return
	}
	res, err := b.n.DB().ExecContext(r.Context(), `INSERT INTO events(topic, event_id, type, order_ref, customer, amount, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Topic, e.EventID, e.Type, e.Order, e.Customer, e.Amount, b.n.Now().UnixNano())
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	e.Offset, _ = res.LastInsertId()
	WriteJSON(w, http.StatusCreated, e)
}

func (b broker) poll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topic, group := q.Get("topic"), q.Get("group")
	max, err := strconv.Atoi(q.Get("max"))
	if topic == "" || group == "" || err != nil || max < 1 || max > 1000 {
		WriteError(w, http.StatusBadRequest, "bad_request", "topic, group and max (1..1000) are required")
		return
	}
	out := []Event{}
	err = InTx(r.Context(), b.n.DB(), func(tx *sql.Tx) error {
		var from int64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(offset), 0) FROM offsets WHERE topic = ? AND grp = ?`, topic, group).Scan(&from); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT offset, topic, event_id, type, order_ref, customer, amount FROM events WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?`, topic, from, max)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Event
			if err := rows.Scan(&e.Offset, &e.Topic, &e.EventID, &e.Type, &e.Order, &e.Customer, &e.Amount); err != nil {
				return err
			}
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range out {
			if _, err := tx.Exec(`INSERT INTO deliveries(topic, grp, offset, count) VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1`, topic, group, e.Offset); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

func (b broker) ack(w http.ResponseWriter, r *http.Request) {
	var a Ack
	if !ReadJSON(w, r, &a) {
		return
	}
	if a.Topic == "" || a.Group == "" || a.Offset < 1 {
		WriteError(w, http.StatusBadRequest, "bad_request", "topic, group and a positive offset are required")
		return
	}
	_, err := b.n.DB().ExecContext(r.Context(), `INSERT INTO offsets(topic, grp, offset) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET offset = MAX(offset, excluded.offset)`,
		a.Topic, a.Group, a.Offset)
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, a)
}
