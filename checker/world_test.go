package checker_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// testWorld is a world's databases, written by hand with the sim schemas,
// as the services would have left them.
type testWorld struct {
	t     *testing.T
	dbs   map[string]*sql.DB
	paths map[string]string
	clock int64
}

// outboxPending is a pattern's Pending query over the test outbox table.
var outboxPending = checker.Pending{Name: "outbox", SQL: `SELECT key FROM outbox WHERE sent = 0`}

func newTestWorld(t *testing.T) *testWorld {
	t.Helper()
	dir := t.TempDir()
	w := &testWorld{t: t, dbs: map[string]*sql.DB{}, paths: map[string]string{}}
	schemas := map[string][]string{
		sim.Orders:    {sim.OrdersSchema, sim.OrdersIndex, `CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, sent INTEGER NOT NULL)`},
		sim.Payments:  sim.ResourceSchema,
		sim.Inventory: sim.ResourceSchema,
		sim.Shipping:  sim.ResourceSchema,
		sim.Broker:    sim.BrokerSchema,
		sim.Rewards:   sim.RewardsSchema,
	}
	for node, schema := range schemas {
		path := filepath.Join(dir, node+".db")
		db, err := sim.OpenDB(path)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, sim.Migrate(context.Background(), db, schema...))
		w.dbs[node], w.paths[node] = db, path
	}
	return w
}

func (w *testWorld) exec(node, query string, args ...any) sql.Result {
	w.t.Helper()
	res, err := w.dbs[node].Exec(query, args...)
	require.NoError(w.t, err, query)
	return res
}

func (w *testWorld) now() int64 { w.clock++; return w.clock }

func (w *testWorld) order(key, customer, sku string, qty, amount int64, state string) {
	w.exec(sim.Orders, `INSERT INTO orders(key, customer, sku, qty, amount, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		key, customer, sku, qty, amount, state, w.now())
}

// resource creates a resource at svc as the service would (with its log
// line) and, if state is not active, cancels it cancels times. At
// inventory it takes its quantity from the stock while held.
func (w *testWorld) resource(svc, order, customer, sku string, qty, amount int64, state string, cancels int64) int64 {
	w.t.Helper()
	key := svc + ":" + order + ":" + state
	if state == sim.ResourceTombstone {
		res := w.exec(svc, `INSERT INTO resources(key, order_ref, customer, state, created_at, cancelled_at) VALUES (?, ?, '', ?, ?, ?)`,
			key, order, state, w.now(), w.now())
		id, _ := res.LastInsertId()
		w.exec(svc, `INSERT INTO log(op, key, resource_id, order_ref, outcome, at) VALUES ('cancel', ?, ?, ?, 'tombstone', ?)`, key, id, order, w.now())
		return id
	}
	res := w.exec(svc, `INSERT INTO resources(order_ref, customer, sku, qty, amount, state, cancels, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		order, customer, sku, qty, amount, state, cancels, w.now())
	id, _ := res.LastInsertId()
	w.exec(svc, `INSERT INTO log(op, resource_id, order_ref, outcome, at) VALUES ('create', ?, ?, 'created', ?)`, id, order, w.now())
	if state != sim.ResourceActive {
		w.exec(svc, `INSERT INTO log(op, resource_id, order_ref, outcome, at) VALUES ('cancel', ?, ?, 'cancelled', ?)`, id, order, w.now())
	} else if svc == sim.Inventory {
		w.exec(svc, `UPDATE stock SET available = available - ? WHERE sku = ?`, qty, sku)
	}
	return id
}

func (w *testWorld) stock(sku string, initial int64) {
	w.exec(sim.Inventory, `INSERT INTO stock(sku, initial, available) VALUES (?, ?, ?)`, sku, initial, initial)
}

// event publishes an order.confirmed event for order and returns its offset.
func (w *testWorld) event(order, customer string, amount int64) int64 {
	res := w.exec(sim.Broker, `INSERT INTO events(topic, event_id, type, order_ref, customer, amount, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sim.OrdersTopic, "e-"+order, sim.OrderConfirmedEvent, order, customer, amount, w.now())
	off, _ := res.LastInsertId()
	return off
}

// ack commits the rewards group's offset.
func (w *testWorld) ack(offset int64) {
	w.exec(sim.Broker, `INSERT INTO offsets(topic, grp, offset) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET offset = excluded.offset`,
		sim.OrdersTopic, sim.RewardsGroup, offset)
}

func (w *testWorld) credit(order, customer string, points, offset int64) {
	w.exec(sim.Rewards, `INSERT INTO credits(event_id, offset, order_ref, customer, points, at) VALUES (?, ?, ?, ?, ?, ?)`,
		"e-"+order, offset, order, customer, points, w.now())
}

// watch asks a new Watch what is unfinished in the world's databases,
// open as the services left them.
func (w *testWorld) watch(pending ...checker.Pending) string {
	w.t.Helper()
	if pending == nil {
		pending = []checker.Pending{outboxPending}
	}
	watch, err := checker.NewWatch(pending)
	require.NoError(w.t, err)
	found, err := watch.Unfinished(context.Background(), w.dbs)
	require.NoError(w.t, err)
	return found
}

// read closes the world's databases and reads them as the checker does.
func (w *testWorld) read(pending ...checker.Pending) *checker.State {
	w.t.Helper()
	for _, db := range w.dbs {
		require.NoError(w.t, db.Close())
	}
	if pending == nil {
		pending = []checker.Pending{outboxPending}
	}
	s, err := checker.ReadState(context.Background(), w.paths, pending)
	require.NoError(w.t, err)
	return s
}

// cleanWorld is a world where every promise held: two confirmed orders,
// each with one charge, one reservation and one shipment, one event and
// one credit; one failed order whose charge was refunded, reservation
// released and shipment cancelled before it was created; balanced stock;
// a drained outbox; a consumer that has caught up.
func cleanWorld(t *testing.T) *testWorld {
	w := newTestWorld(t)
	for _, sku := range []string{"sku-1", "sku-2", "sku-3"} {
		w.stock(sku, 10)
	}
	w.order("k1", "c1", "sku-1", 2, 100, sim.OrderConfirmed)
	w.order("k2", "c2", "sku-2", 1, 50, sim.OrderConfirmed)
	w.order("k3", "c1", "sku-1", 1, 30, sim.OrderFailed)
	w.resource(sim.Payments, "k1", "c1", "", 0, 100, sim.ResourceActive, 0)
	w.resource(sim.Payments, "k2", "c2", "", 0, 50, sim.ResourceActive, 0)
	w.resource(sim.Payments, "k3", "c1", "", 0, 30, sim.ResourceCancelled, 1)
	w.resource(sim.Inventory, "k1", "c1", "sku-1", 2, 0, sim.ResourceActive, 0)
	w.resource(sim.Inventory, "k2", "c2", "sku-2", 1, 0, sim.ResourceActive, 0)
	w.resource(sim.Inventory, "k3", "c1", "sku-1", 1, 0, sim.ResourceCancelled, 1)
	w.resource(sim.Shipping, "k1", "c1", "", 0, 0, sim.ResourceActive, 0)
	w.resource(sim.Shipping, "k2", "c2", "", 0, 0, sim.ResourceActive, 0)
	w.resource(sim.Shipping, "k3", "", "", 0, 0, sim.ResourceTombstone, 0)
	o1 := w.event("k1", "c1", 100)
	o2 := w.event("k2", "c2", 50)
	w.credit("k1", "c1", 100, o1)
	w.credit("k2", "c2", 50, o2)
	w.ack(o2)
	w.exec(sim.Orders, `INSERT INTO outbox(key, sent) VALUES ('k1', 1), ('k2', 1)`)
	return w
}
