package patterns

import (
	"context"

	"github.com/txchaos/txchaos/sim"
)

// OutboxSchema is the transactional outbox that Relay publishes: one row
// per order.confirmed event, inserted in the same local transaction that
// confirms the order
//
//	INSERT INTO outbox(event_id, order_ref, customer, amount) VALUES (?, ?, ?, ?)
//
// with sent_at 0 until the relay has published it. A pattern may keep a
// table of its own instead, as long as it is named outbox, has these
// columns and is an ordinary rowid table.
//
// Create OutboxIndex with it: without it every pass of the relay scans
// every row ever sent to find the few unsent ones.
const OutboxSchema = `CREATE TABLE IF NOT EXISTS outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id TEXT NOT NULL UNIQUE,
	order_ref TEXT NOT NULL,
	customer TEXT NOT NULL,
	amount INTEGER NOT NULL,
	sent_at INTEGER NOT NULL DEFAULT 0
)`

// OutboxIndex holds the unsent rows of the outbox (OutboxSchema) alone, in
// the order they were written: Relay reads a pass from it, and a pending
// query (SELECT event_id FROM outbox WHERE sent_at = 0) counts them, in
// time proportional to the rows still unsent. Migrate it after the table:
//
//	patterns.Migrate(n, patterns.OutboxSchema, patterns.OutboxIndex)
const OutboxIndex = `CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(sent_at) WHERE sent_at = 0`

// Relay is one pass of the transactional outbox's relay (seed
// 003_11c6468ac7a3d68e.txt, option 3): it reads the node's unsent outbox
// rows (OutboxSchema; up to 100 a pass), publishes each to the broker as
// the order.confirmed event it records, under its event_id, and marks it
// sent. Run it in a process of the node's own, every few milliseconds:
//
//	n.Go("relay", func(ctx context.Context) { n.Every(ctx, relayEvery, func(ctx context.Context) { patterns.Relay(ctx, n) }) })
//
// It promises:
//
//   - At least once. A row is marked sent only after the broker accepted
//     its publish; until then every pass publishes it again. A publish
//     whose answer was lost, a failed mark or a crash before the mark
//     publishes the event again, under the same event id: a consumer
//     that de-duplicates by event id applies it once.
//   - In order. Rows go out in the order they were written (rowid order);
//     a pass stops at the first publish or mark that fails and the next
//     pass starts again from that row, so no event is published before
//     every earlier one was accepted by the broker.
//
// Crash points: before-mark-sent, between the broker's acceptance and the
// mark. A crash there leaves the row unsent, and the restarted node's
// relay publishes the event again (a duplicate, never a loss); a pattern
// that calls Relay lists before-mark-sent in its Spec.CrashPoints. A crash
// anywhere else in a pass loses nothing either: before a publish the row
// is still unsent, after a mark it is done.
//
// It takes the database, the broker and the clock from n, and the pass
// ends when ctx does.
func Relay(ctx context.Context, n *sim.Node) {
	rows, err := n.DB().QueryContext(ctx, `SELECT rowid, event_id, order_ref, customer, amount FROM outbox WHERE sent_at = 0 ORDER BY rowid LIMIT 100`)
	if err != nil {
		return
	}
	type row struct {
		id int64
		e  sim.Event
	}
	var batch []row
	for rows.Next() {
		r := row{e: sim.Event{Topic: sim.OrdersTopic, Type: sim.OrderConfirmedEvent}}
		if rows.Scan(&r.id, &r.e.EventID, &r.e.Order, &r.e.Customer, &r.e.Amount) != nil {
			break // never a later row before this one
		}
		batch = append(batch, r)
	}
	rows.Close()
	for _, r := range batch {
		if _, err := n.Broker().Publish(ctx, r.e); err != nil {
			return // again on the next pass, in order
		}
		n.CrashPoint("before-mark-sent")
		if _, err := n.DB().ExecContext(ctx, `UPDATE outbox SET sent_at = ? WHERE rowid = ?`, n.Now().UnixNano(), r.id); err != nil {
			return
		}
	}
}
