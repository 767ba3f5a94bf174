package checker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"unique"

	"github.com/txchaos/txchaos/sim"
)

// State is the final state of a world, read from every service's database
// after a run. It is plain data, JSON-tagged after the tables' columns, so
// that a run record can store it and Check can judge it again later.
type State struct {
	// Orders is the orders table of the orders database.
	Orders []OrderRow `json:"orders"`
	// Resources holds the resources table of payments, inventory and
	// shipping, by service name.
	Resources map[string][]ResourceRow `json:"resources"`
	// Log holds the log table of payments, inventory and shipping, by
	// service name, in arrival order.
	Log map[string][]LogRow `json:"log"`
	// Stock is inventory's stock table.
	Stock []StockRow `json:"stock"`
	// Events is the broker's log, every topic, in offset order.
	Events []EventRow `json:"events"`
	// Offsets are the consumer groups' committed offsets at the broker.
	Offsets []OffsetRow `json:"offsets"`
	// Credits is the rewards credits table.
	Credits []CreditRow `json:"credits"`
	// Pending maps each Pending query's name to the keys it returned.
	Pending map[string][]string `json:"pending"`
	// Missing says what could not be read and why: a node name, or
	// "pending <name>" for a Pending query that failed. Checks that need
	// a missing part are not judged.
	Missing map[string]string `json:"missing,omitempty"`
}

// OrderRow is a row of the orders table (sim.OrdersSchema).
type OrderRow struct {
	Key       string `json:"key"`
	Customer  string `json:"customer"`
	SKU       string `json:"sku"`
	Qty       int64  `json:"qty"`
	Amount    int64  `json:"amount"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	UpdatedAt int64  `json:"updated_at"`
}

// ResourceRow is a row of the resources table (sim.ResourceSchema): a
// charge, a reservation or a shipment. Key is empty when NULL.
type ResourceRow struct {
	ID          int64  `json:"id"`
	Key         string `json:"key,omitempty"`
	Order       string `json:"order_ref"`
	Customer    string `json:"customer"`
	SKU         string `json:"sku,omitempty"`
	Qty         int64  `json:"qty"`
	Amount      int64  `json:"amount"`
	State       string `json:"state"`
	Cancels     int64  `json:"cancels"`
	CreatedAt   int64  `json:"created_at"`
	CancelledAt int64  `json:"cancelled_at"`
}

// LogRow is a row of a resource service's log table (sim.ResourceSchema):
// a create or cancel that reached the service, and its outcome.
type LogRow struct {
	Seq        int64  `json:"seq"`
	Op         string `json:"op"`
	Key        string `json:"key,omitempty"`
	ResourceID int64  `json:"resource_id"`
	Order      string `json:"order_ref"`
	Outcome    string `json:"outcome"`
	At         int64  `json:"at"`
}

// StockRow is a row of inventory's stock table (sim.ResourceSchema).
type StockRow struct {
	SKU       string `json:"sku"`
	Initial   int64  `json:"initial"`
	Available int64  `json:"available"`
}

// EventRow is a row of the broker's events table (sim.BrokerSchema).
type EventRow struct {
	Offset      int64  `json:"offset"`
	Topic       string `json:"topic"`
	EventID     string `json:"event_id"`
	Type        string `json:"type"`
	Order       string `json:"order_ref"`
	Customer    string `json:"customer"`
	Amount      int64  `json:"amount"`
	PublishedAt int64  `json:"published_at"`
}

// OffsetRow is a consumer group's committed offset in a topic
// (sim.BrokerSchema's offsets table).
type OffsetRow struct {
	Topic  string `json:"topic"`
	Group  string `json:"group"`
	Offset int64  `json:"offset"`
}

// CreditRow is a row of the rewards credits table (sim.RewardsSchema).
type CreditRow struct {
	ID       int64  `json:"id"`
	EventID  string `json:"event_id"`
	Offset   int64  `json:"offset"`
	Order    string `json:"order_ref"`
	Customer string `json:"customer"`
	Points   int64  `json:"points"`
	At       int64  `json:"at"`
}

// Pending is a pattern's query over the orders database for its unfinished
// work (outbox rows not yet sent, saga steps not yet compensated...). It
// returns one column: the keys of the unfinished items. After healing,
// every key it returns is stuck.
type Pending struct {
	// Node is the database the query runs on; empty means sim.Orders.
	Node string `json:"node,omitempty"`
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

// node is the database p runs on.
func (p Pending) node() string {
	if p.Node == "" {
		return sim.Orders
	}
	return p.Node
}

// nodes are the databases ReadState reads, in the order it reads them.
var nodes = []string{sim.Orders, sim.Payments, sim.Inventory, sim.Shipping, sim.Broker, sim.Rewards}

// ReadState reads the final state of a world. dbs maps a node name
// (sim.Orders, sim.Payments, sim.Inventory, sim.Shipping, sim.Broker,
// sim.Rewards, and any extra node a pattern adds) to its SQLite file; each
// is opened read-only and read in one transaction. pending are the
// pattern's queries for unfinished work; an extra node's database is read
// only for the pending queries that name it.
//
// A node absent from dbs, a database that does not exist or cannot be read
// and a Pending query that fails do not make ReadState fail: they are
// recorded in State.Missing, and Check then answers "unknown" for the
// checks that need them. ReadState returns an error only for a caller's
// mistake (an unknown node name, a Pending without a name or SQL, or two
// with one name) or when ctx is done.
func ReadState(ctx context.Context, dbs map[string]string, pending []Pending) (*State, error) {
	return readState(ctx, func(node string) bool { _, ok := dbs[node]; return ok }, func(node string, read func(*sql.Tx) error) error {
		path, ok := dbs[node]
		if !ok {
			return errors.New("no database given")
		}
		return readNode(ctx, path, read)
	}, pending)
}

// ReadStateFrom is ReadState over databases already open, by node: each is
// read in one read transaction. It is how a runner that keeps its
// databases in memory reads them (the det runtime's Runtime.Reader).
func ReadStateFrom(ctx context.Context, dbs map[string]*sql.DB, pending []Pending) (*State, error) {
	return readState(ctx, func(node string) bool { _, ok := dbs[node]; return ok }, func(node string, read func(*sql.Tx) error) error {
		db, ok := dbs[node]
		if !ok || db == nil {
			return errors.New("no database given")
		}
		return inReadTx(ctx, db, read)
	}, pending)
}

// readState reads a state, each node by read.
func readState(ctx context.Context, has func(node string) bool, read func(node string, fn func(*sql.Tx) error) error, pending []Pending) (*State, error) {
	if err := checkPending(pending, has); err != nil {
		return nil, err
	}
	s := &State{
		Orders:    []OrderRow{},
		Resources: map[string][]ResourceRow{},
		Log:       map[string][]LogRow{},
		Stock:     []StockRow{},
		Events:    []EventRow{},
		Offsets:   []OffsetRow{},
		Credits:   []CreditRow{},
		Pending:   map[string][]string{},
	}
	missing := func(what string, err error) {
		if s.Missing == nil {
			s.Missing = map[string]string{}
		}
		s.Missing[what] = err.Error()
	}
	for _, node := range nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := read(node, func(tx *sql.Tx) error {
			switch node {
			case sim.Orders:
				if err := readOrders(ctx, tx, s); err != nil {
					return err
				}
				return readPendings(ctx, tx, s, pending, node, missing)
			case sim.Payments, sim.Inventory, sim.Shipping:
				return readResources(ctx, tx, node, s)
			case sim.Broker:
				return readBroker(ctx, tx, s)
			default:
				return readRewards(ctx, tx, s)
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			missing(node, err)
		}
	}
	extra := map[string]bool{}
	for _, p := range pending {
		if !isNode(p.node()) && !extra[p.node()] {
			extra[p.node()] = true
			node := p.node()
			err := read(node, func(tx *sql.Tx) error {
				return readPendings(ctx, tx, s, pending, node, missing)
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				missing(node, err)
			}
		}
	}
	return s, nil
}

// checkPending refuses a caller's mistake in pending: a query without a
// name or SQL, one on a node that has no database, two with one name.
func checkPending(pending []Pending, has func(node string) bool) error {
	seen := map[string]bool{}
	for _, p := range pending {
		if p.Name == "" || strings.TrimSpace(p.SQL) == "" {
			return fmt.Errorf("checker: pending query %q: name and SQL are required", p.Name)
		}
		if !has(p.node()) && !isNode(p.node()) {
			return fmt.Errorf("checker: pending query %q: node %q has no database", p.Name, p.node())
		}
		if seen[p.Name] {
			return fmt.Errorf("checker: pending query %q given twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// readPendings runs the pending queries that run on node.
func readPendings(ctx context.Context, tx *sql.Tx, s *State, pending []Pending, node string, missing func(string, error)) error {
	for _, p := range pending {
		if p.node() != node {
			continue
		}
		keys, err := readPending(ctx, tx, p)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			missing("pending "+p.Name, err)
			continue
		}
		s.Pending[p.Name] = keys
	}
	return nil
}

func isNode(name string) bool {
	for _, n := range nodes {
		if n == name {
			return true
		}
	}
	return false
}

// readNode opens the database at path read-only and runs read in one
// read transaction, so that it sees one snapshot.
func readNode(ctx context.Context, path string, read func(tx *sql.Tx) error) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database %s does not exist", path)
	}
	db, err := sim.OpenReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := inReadTx(ctx, db, read); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// inReadTx runs read in one read transaction on db.
func inReadTx(ctx context.Context, db *sql.DB, read func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return read(tx)
}

// scanAll runs query and appends one row per result, scanned by scan.
// intern replaces each string with its canonical copy (unique.Make): the
// same order, customer, SKU or state read from every table is one string
// in memory, not one a row — a third of a long run's state.
func intern(ss ...*string) {
	for _, s := range ss {
		*s = unique.Make(*s).Value()
	}
}

// count is the number of rows of table, to size the slice its rows are
// read into (a long run's state holds hundreds of thousands; a slice grown
// by doubling would hold its old and new array at each growth); 0 when it
// cannot be counted, the read then says why.
func count(ctx context.Context, tx *sql.Tx, table string) int {
	var n int
	if tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n) != nil {
		return 0
	}
	return n
}

func scanAll(ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func readOrders(ctx context.Context, tx *sql.Tx, s *State) error {
	orders := make([]OrderRow, 0, count(ctx, tx, "orders"))
	err := scanAll(ctx, tx, `SELECT key, customer, sku, qty, amount, state, reason, updated_at FROM orders ORDER BY key`, func(r *sql.Rows) error {
		var o OrderRow
		err := r.Scan(&o.Key, &o.Customer, &o.SKU, &o.Qty, &o.Amount, &o.State, &o.Reason, &o.UpdatedAt)
		intern(&o.Key, &o.Customer, &o.SKU, &o.State, &o.Reason)
		orders = append(orders, o)
		return err
	})
	if err != nil {
		return err
	}
	s.Orders = orders
	return nil
}

func readPending(ctx context.Context, tx *sql.Tx, p Pending) ([]string, error) {
	keys := []string{}
	err := scanAll(ctx, tx, p.SQL, func(r *sql.Rows) error {
		var k sql.NullString
		if err := r.Scan(&k); err != nil {
			return err
		}
		if !k.Valid {
			k.String = "<null>"
		}
		keys = append(keys, k.String)
		return nil
	})
	sort.Strings(keys)
	return keys, err
}

func readResources(ctx context.Context, tx *sql.Tx, node string, s *State) error {
	res := make([]ResourceRow, 0, count(ctx, tx, "resources"))
	err := scanAll(ctx, tx, `SELECT id, COALESCE(key, ''), order_ref, customer, sku, qty, amount, state, cancels, created_at, cancelled_at FROM resources ORDER BY id`, func(r *sql.Rows) error {
		var x ResourceRow
		err := r.Scan(&x.ID, &x.Key, &x.Order, &x.Customer, &x.SKU, &x.Qty, &x.Amount, &x.State, &x.Cancels, &x.CreatedAt, &x.CancelledAt)
		intern(&x.Key, &x.Order, &x.Customer, &x.SKU, &x.State)
		res = append(res, x)
		return err
	})
	if err != nil {
		return err
	}
	log := make([]LogRow, 0, count(ctx, tx, "log"))
	err = scanAll(ctx, tx, `SELECT seq, op, key, resource_id, order_ref, outcome, at FROM log ORDER BY seq`, func(r *sql.Rows) error {
		var x LogRow
		err := r.Scan(&x.Seq, &x.Op, &x.Key, &x.ResourceID, &x.Order, &x.Outcome, &x.At)
		intern(&x.Op, &x.Key, &x.Order, &x.Outcome)
		log = append(log, x)
		return err
	})
	if err != nil {
		return err
	}
	var stock []StockRow
	if node == sim.Inventory {
		err = scanAll(ctx, tx, `SELECT sku, initial, available FROM stock ORDER BY sku`, func(r *sql.Rows) error {
			var x StockRow
			err := r.Scan(&x.SKU, &x.Initial, &x.Available)
			stock = append(stock, x)
			return err
		})
		if err != nil {
			return err
		}
	}
	// Commit to the state only once the node was read whole.
	s.Resources[node] = res
	s.Log[node] = log
	s.Stock = append(s.Stock, stock...)
	return nil
}

func readBroker(ctx context.Context, tx *sql.Tx, s *State) error {
	events := make([]EventRow, 0, count(ctx, tx, "events"))
	err := scanAll(ctx, tx, `SELECT offset, topic, event_id, type, order_ref, customer, amount, published_at FROM events ORDER BY offset`, func(r *sql.Rows) error {
		var e EventRow
		err := r.Scan(&e.Offset, &e.Topic, &e.EventID, &e.Type, &e.Order, &e.Customer, &e.Amount, &e.PublishedAt)
		intern(&e.Topic, &e.Type, &e.Order, &e.Customer)
		events = append(events, e)
		return err
	})
	if err != nil {
		return err
	}
	offsets := []OffsetRow{}
	err = scanAll(ctx, tx, `SELECT topic, grp, offset FROM offsets ORDER BY topic, grp`, func(r *sql.Rows) error {
		var o OffsetRow
		err := r.Scan(&o.Topic, &o.Group, &o.Offset)
		offsets = append(offsets, o)
		return err
	})
	if err != nil {
		return err
	}
	s.Events, s.Offsets = events, offsets
	return nil
}

func readRewards(ctx context.Context, tx *sql.Tx, s *State) error {
	credits := make([]CreditRow, 0, count(ctx, tx, "credits"))
	err := scanAll(ctx, tx, `SELECT id, event_id, offset, order_ref, customer, points, at FROM credits ORDER BY id`, func(r *sql.Rows) error {
		var c CreditRow
		err := r.Scan(&c.ID, &c.EventID, &c.Offset, &c.Order, &c.Customer, &c.Points, &c.At)
		intern(&c.EventID, &c.Order, &c.Customer)
		credits = append(credits, c)
		return err
	})
	if err != nil {
		return err
	}
	s.Credits = credits
	return nil
}
