package sim

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"
)

// RewardsSchema is the rewards database: points credited per consumed
// order event, and the inbox of event IDs already applied (used when the
// consumer de-duplicates). The checker reads it directly.
var RewardsSchema = []string{
	`CREATE TABLE IF NOT EXISTS credits (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		event_id TEXT NOT NULL,
		offset INTEGER NOT NULL,
		order_ref TEXT NOT NULL,
		customer TEXT NOT NULL,
		points INTEGER NOT NULL,
		at INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS credits_customer ON credits(customer)`,
	`CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY)`,
}

// RewardsGroup is the rewards consumer's group at the broker.
const RewardsGroup = "rewards"

// ConsumerPoll is how often an idle consumer polls the broker.
const ConsumerPoll = 20 * time.Millisecond

// RewardsService consumes order events from the broker and credits each
// confirmed order's amount as points to its customer. It acknowledges an
// event only after its credit is committed, so a crash redelivers it. With
// Dedupe, an inbox of event IDs makes a redelivered event a no-op: the
// inbox row and the credit commit in one transaction. With SplitInbox too
// they commit in two, inbox first — a classic bug: a crash between the two
// commits leaves the event marked applied and never credited.
type RewardsService struct {
	Dedupe     bool
	SplitInbox bool
}

// Start implements Service.
func (s RewardsService) Start(n *Node) (http.Handler, error) {
	if err := Migrate(n.Context(), n.DB(), RewardsSchema...); err != nil {
		return nil, err
	}
	n.Go("consumer", func(ctx context.Context) {
		for ctx.Err() == nil {
			busy, _ := s.consume(ctx, n)
			if !busy && n.Sleep(ctx, ConsumerPoll) != nil {
				return
			}
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /balance/{customer}", func(w http.ResponseWriter, r *http.Request) {
		b := Balance{Customer: r.PathValue("customer")}
		err := n.DB().QueryRowContext(r.Context(), `SELECT COALESCE(SUM(points), 0) FROM credits WHERE customer = ?`, b.Customer).Scan(&b.Points)
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, b)
	})
	return mux, nil
}

// consume polls one batch, applies it and acknowledges it. It reports
// whether it found events.
func (s RewardsService) consume(ctx context.Context, n *Node) (bool, error) {
	events, err := n.Broker().Poll(ctx, OrdersTopic, RewardsGroup, 100)
	if err != nil || len(events) == 0 {
		return false, err
	}
	for _, e := range events {
		if e.Type != OrderConfirmedEvent {
			continue
		}
		if s.Dedupe && s.SplitInbox {
			if err := s.applySplit(ctx, n, e); err != nil {
				return true, err
			}
			continue
		}
		err := InTx(ctx, n.DB(), func(tx *sql.Tx) error {
			if s.Dedupe {
				res, err := tx.Exec(`INSERT OR IGNORE INTO inbox(event_id) VALUES (?)`, e.EventID)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k == 0 {
					return nil // applied before
				}
			}
			return credit(tx, n, e)
		})
		if err != nil {
			return true, err
		}
	}
	last := events[len(events)-1].Offset
	if err := n.Broker().Ack(ctx, Ack{Topic: OrdersTopic, Group: RewardsGroup, Offset: last}); err != nil && !errors.Is(err, context.Canceled) {
		return true, err
	}
	return true, nil
}

// credit writes e's credit.
func credit(tx *sql.Tx, n *Node, e Event) error {
	_, err := tx.Exec(`INSERT INTO credits(event_id, offset, order_ref, customer, points, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.EventID, e.Offset, e.Order, e.Customer, e.Amount, n.Now().UnixNano())
	return err
}

// applySplit applies e as the broken consumer does: the inbox row in one
// transaction, then the credit in another.
func (s RewardsService) applySplit(ctx context.Context, n *Node, e Event) error {
	fresh := false
	err := InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT OR IGNORE INTO inbox(event_id) VALUES (?)`, e.EventID)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		fresh = k > 0
		return nil
	})
	if err != nil || !fresh {
		return err // applied before, as far as the inbox knows
	}
	return InTx(ctx, n.DB(), func(tx *sql.Tx) error { return credit(tx, n, e) })
}
