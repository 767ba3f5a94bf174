package checker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/txchaos/txchaos/sim"
)

// Watch asks a world's databases whether any work is unfinished — what
// the stuck check counts — cheaply enough to be asked every few
// milliseconds while a runner waits for the world to come to rest. Each
// question is served by an index or a cursor, so that asking costs what
// is unfinished or new, not the whole state:
//
//   - an order not terminal: the orders by state (sim.OrdersIndex), one
//     lookup per distinct state;
//   - an event of the orders topic past the rewards group's committed
//     offset: the events by topic and offset;
//   - a request a service refused more than MaxRejections times: a cursor
//     over each service's log, which reads each row once;
//   - a key a Pending query returns: the pattern's own query, asked for one
//     row (a pattern serves its pending queries by an index too, as the
//     registered ones do).
//
// The state read and the checks run once, at rest: a runner reads the
// state then (ReadState, ReadStateFrom) and confirms with CheckStuck. A
// Watch reads no history and keeps, besides its cursors, only the
// refusals it has seen. It is not safe for concurrent use.
type Watch struct {
	pending []Pending
	logs    map[string]*logCursor // by service
}

// logCursor is how far a Watch has read a service's log, and the
// refusals it read.
type logCursor struct {
	seq     int64
	refused refusals
}

// NewWatch returns a Watch for a world whose pattern has the pending
// queries pending; it refuses a caller's mistake in them as ReadState
// does.
func NewWatch(pending []Pending) (*Watch, error) {
	if err := checkPending(pending, func(string) bool { return true }); err != nil {
		return nil, err
	}
	return &Watch{pending: pending, logs: map[string]*logCursor{}}, nil
}

// Unfinished returns the first unfinished work it finds in dbs, the
// databases by node as ReadStateFrom takes them, said as the stuck check
// would say it; "" when it finds none. A database it cannot read, or a
// query that fails, is unfinished too: the stuck check could not be
// judged on it. It returns an error only when ctx is done.
func (w *Watch) Unfinished(ctx context.Context, dbs map[string]*sql.DB) (string, error) {
	for _, q := range []func(context.Context, map[string]*sql.DB) (string, error){w.orders, w.events, w.refusals, w.pendings} {
		found, err := q(ctx, dbs)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err != nil {
			return err.Error(), nil
		}
		if found != "" {
			return found, nil
		}
	}
	return "", nil
}

// The Watch's questions, by node: each is served by an index or reads a
// range of rowids (TestWatchPlans).
var (
	// orders: the first state after a state, and an order in a state.
	nextStateQuery    = `SELECT state FROM orders WHERE state > ? ORDER BY state LIMIT 1`
	orderInStateQuery = `SELECT key FROM orders WHERE state = ? LIMIT 1`
	// broker: the first event of a topic past a group's committed offset.
	unconsumedQuery = `SELECT e.offset, e.type, e.order_ref, c.offset FROM
		(SELECT COALESCE(MAX(offset), 0) AS offset FROM offsets WHERE topic = ? AND grp = ?) AS c
		JOIN events AS e ON e.topic = ? AND e.offset > c.offset ORDER BY e.offset LIMIT 1`
	// payments, inventory, shipping: the log's last row, the rows in a
	// range whose outcome may be a refusal (refusal decides), the order
	// of a resource by key.
	lastSeqQuery  = `SELECT COALESCE(MAX(seq), 0) FROM log`
	refusalQuery  = `SELECT seq, op, key, resource_id, order_ref, outcome FROM log WHERE seq > ? AND seq <= ? AND outcome IN ('` + strings.Join(refusalOutcomes, "', '") + `') ORDER BY seq`
	keyOrderQuery = `SELECT order_ref FROM resources WHERE key = ?`
)

// watchQueries are the Watch's questions by node, for TestWatchPlans.
func watchQueries() map[string][]string {
	return map[string][]string{
		sim.Orders:   {nextStateQuery, orderInStateQuery},
		sim.Broker:   {unconsumedQuery},
		sim.Payments: {lastSeqQuery, refusalQuery, keyOrderQuery},
	}
}

// db is node's database in dbs.
func db(dbs map[string]*sql.DB, node string) (*sql.DB, error) {
	if d := dbs[node]; d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("%s: no database given", node)
}

// orders finds an order not terminal: it walks the distinct states of the
// orders table, each found by the index on state.
func (w *Watch) orders(ctx context.Context, dbs map[string]*sql.DB) (string, error) {
	d, err := db(dbs, sim.Orders)
	if err != nil {
		return "", err
	}
	for state := ""; ; {
		err := d.QueryRowContext(ctx, nextStateQuery, state).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return "", nil
		case err != nil:
			return "", fmt.Errorf("%s: %w", sim.Orders, err)
		case isTerminal(state):
			continue
		}
		var key string
		if err := d.QueryRowContext(ctx, orderInStateQuery, state).Scan(&key); err != nil {
			return "", fmt.Errorf("%s: %w", sim.Orders, err)
		}
		return fmt.Sprintf("order %s: %s after healing", key, state), nil
	}
}

// events finds an event of the orders topic the rewards group has not
// consumed.
func (w *Watch) events(ctx context.Context, dbs map[string]*sql.DB) (string, error) {
	d, err := db(dbs, sim.Broker)
	if err != nil {
		return "", err
	}
	var offset, committed int64
	var kind, order string
	err = d.QueryRowContext(ctx, unconsumedQuery, sim.OrdersTopic, sim.RewardsGroup, sim.OrdersTopic).Scan(&offset, &kind, &order, &committed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("%s: %w", sim.Broker, err)
	}
	return fmt.Sprintf("event at offset %d (%s for order %s): not consumed by %s (committed offset %d)",
		offset, kind, order, sim.RewardsGroup, committed), nil
}

// refusals reads each service's log past its cursor and finds a request
// refused more than MaxRejections times. A row's step is its order, or the
// order of the resource with its key as it stands when the row is read
// (the stuck check takes it at rest: a resource created later puts the
// row in its order's count there).
func (w *Watch) refusals(ctx context.Context, dbs map[string]*sql.DB) (string, error) {
	for _, svc := range downstream {
		d, err := db(dbs, svc)
		if err != nil {
			return "", err
		}
		c := w.logs[svc]
		if c == nil {
			c = &logCursor{}
			w.logs[svc] = c
		}
		if err := c.advance(ctx, d); err != nil {
			return "", fmt.Errorf("%s: %w", svc, err)
		}
		if c.refused.retried() {
			var f Finding
			c.refused.report(svc, &f)
			return f.Examples[0], nil
		}
	}
	return "", nil
}

// advance reads the log rows written since the cursor last read it.
func (c *logCursor) advance(ctx context.Context, d *sql.DB) error {
	var last int64
	if err := d.QueryRowContext(ctx, lastSeqQuery).Scan(&last); err != nil {
		return err
	}
	if last <= c.seq {
		return nil
	}
	rows, err := d.QueryContext(ctx, refusalQuery, c.seq, last)
	if err != nil {
		return err
	}
	var read []LogRow
	for rows.Next() {
		var l LogRow
		if err := rows.Scan(&l.Seq, &l.Op, &l.Key, &l.ResourceID, &l.Order, &l.Outcome); err != nil {
			rows.Close()
			return err
		}
		read = append(read, l)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, l := range read {
		if !refusal(l) {
			continue
		}
		step := l.Order
		if step == "" {
			err := d.QueryRowContext(ctx, keyOrderQuery, l.Key).Scan(&step)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if step == "" {
				step = "key " + l.Key
			}
		}
		c.refused.add(l, step)
	}
	c.seq = last
	return nil
}

// pendings runs each pending query for one row.
func (w *Watch) pendings(ctx context.Context, dbs map[string]*sql.DB) (string, error) {
	for _, p := range w.pending {
		d, err := db(dbs, p.node())
		if err != nil {
			return "", err
		}
		var key sql.NullString
		err = d.QueryRowContext(ctx, `SELECT * FROM (`+p.SQL+`) LIMIT 1`).Scan(&key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return "", fmt.Errorf("pending %s: %w", p.Name, err)
		}
		if !key.Valid {
			key.String = "<null>"
		}
		return fmt.Sprintf("%s: %s unfinished after healing", p.Name, key.String), nil
	}
	return "", nil
}
