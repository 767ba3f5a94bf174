package patterns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// ReadCheckout reads and validates a POST /checkout request. On a bad
// request it answers 400 and returns ok false.
func ReadCheckout(w http.ResponseWriter, r *http.Request) (key string, co sim.Checkout, ok bool) {
	key = r.Header.Get("Idempotency-Key")
	if key == "" {
		sim.WriteError(w, http.StatusBadRequest, "bad_request", "the Idempotency-Key header is required")
		return "", co, false
	}
	if !sim.ReadJSON(w, r, &co) {
		return "", co, false
	}
	var problem string
	switch {
	case co.Customer == "":
		problem = "customer is required"
	case !validSKU(co.SKU):
		problem = fmt.Sprintf("sku %q is not one of %v", co.SKU, sim.SKUs)
	case co.Qty < 1:
		problem = fmt.Sprintf("qty %d must be at least 1", co.Qty)
	case co.Amount < 1:
		problem = fmt.Sprintf("amount %d must be at least 1", co.Amount)
	}
	if problem != "" {
		sim.WriteError(w, http.StatusBadRequest, "bad_request", problem)
		return "", co, false
	}
	return key, co, true
}

func validSKU(s string) bool {
	for _, x := range sim.SKUs {
		if x == s {
			return true
		}
	}
	return false
}

// Begin starts a POST /checkout request the way most patterns do. It reads
// the request (ReadCheckout), loads the order stored under its
// Idempotency-Key and records a key it has never seen as a pending order
// (InsertOrder). It answers the request itself, and returns ok false, for
// a bad request (400), a key used before with other parameters
// (KeyConflict, 422), a retry of an order already decided (the same
// answer again, Answer) and a database error (Unavailable, 503). When ok
// is true nothing has been answered yet: o is the order, pending, new or
// left pending by an earlier attempt, and the caller drives it.
func Begin(w http.ResponseWriter, r *http.Request, n *sim.Node) (key string, co sim.Checkout, o sim.Order, ok bool) {
	if key, co, ok = ReadCheckout(w, r); !ok {
		return key, co, o, false
	}
	o, found, err := LoadOrder(r.Context(), n.DB(), key)
	switch {
	case err != nil:
		Unavailable(w, err)
		return key, co, o, false
	case found && !Same(o, co):
		KeyConflict(w, key)
		return key, co, o, false
	case found && o.State != sim.OrderPending:
		Answer(w, o) // a retry of a decided order: the same answer
		return key, co, o, false
	case !found:
		if err := InsertOrder(r.Context(), n, key, co); err != nil {
			Unavailable(w, err)
			return key, co, o, false
		}
		o = sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	}
	return key, co, o, true
}

// Migrate creates the orders table and its index (sim.OrdersSchema,
// sim.OrdersIndex) and the pattern's own tables.
func Migrate(n *sim.Node, stmts ...string) error {
	return sim.Migrate(n.Context(), n.DB(), append([]string{sim.OrdersSchema, sim.OrdersIndex}, stmts...)...)
}

// UpsertOrder writes the order in state, inserting it or overwriting it.
func UpsertOrder(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, now int64, key string, co sim.Checkout, state string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO orders(key, customer, sku, qty, amount, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET customer = excluded.customer, sku = excluded.sku, qty = excluded.qty,
			amount = excluded.amount, state = excluded.state, reason = '', updated_at = excluded.updated_at`,
		key, co.Customer, co.SKU, co.Qty, co.Amount, state, now)
	return err
}

// SetOrderState moves an order to state, with a reason for failures.
func SetOrderState(ctx context.Context, n *sim.Node, key, state, reason string) error {
	_, err := n.DB().ExecContext(ctx, `UPDATE orders SET state = ?, reason = ?, updated_at = ? WHERE key = ?`,
		state, reason, n.Now().UnixNano(), key)
	return err
}

// LoadOrder reads an order; found is false when there is none.
func LoadOrder(ctx context.Context, db *sql.DB, key string) (o sim.Order, found bool, err error) {
	err = db.QueryRowContext(ctx, `SELECT key, customer, sku, qty, amount, state, reason FROM orders WHERE key = ?`, key).
		Scan(&o.Key, &o.Customer, &o.SKU, &o.Qty, &o.Amount, &o.State, &o.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

// GetOrder serves GET /orders/{key} from the orders table.
func GetOrder(n *sim.Node) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, found, err := LoadOrder(r.Context(), n.DB(), r.PathValue("key"))
		switch {
		case err != nil:
			sim.WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		case !found:
			sim.WriteError(w, http.StatusNotFound, "not_found", "no order "+r.PathValue("key"))
		default:
			sim.WriteJSON(w, http.StatusOK, o)
		}
	}
}

// Answer tells the client the outcome of a checkout: 200 with the order
// when it is confirmed, 422 with the reason when it failed for good, 503
// when the outcome is not decided yet (the client may retry with the same
// key).
func Answer(w http.ResponseWriter, o sim.Order) {
	switch o.State {
	case sim.OrderConfirmed:
		sim.WriteJSON(w, http.StatusOK, o)
	case sim.OrderFailed:
		sim.WriteError(w, http.StatusUnprocessableEntity, o.Reason, "order "+o.Key+" failed: "+o.Reason)
	default:
		sim.WriteError(w, http.StatusServiceUnavailable, "in_progress", "order "+o.Key+" is "+o.State+"; retry with the same key")
	}
}

// Unavailable answers 503: the outcome is not known yet, the client may
// retry with the same key.
func Unavailable(w http.ResponseWriter, err error) {
	sim.WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
}

// Reason is the short reason a failed call gives: the service's rejection
// code, or "<service>_unavailable".
func Reason(err error) string {
	var r *sim.Rejected
	if errors.As(err, &r) {
		return r.Reason
	}
	var u *sim.Unavailable
	if errors.As(err, &u) {
		return u.Service + "_unavailable"
	}
	return "internal_error"
}

// NewKey returns a fresh random key from the node's seeded source.
func NewKey(n *sim.Node, prefix string) string {
	return fmt.Sprintf("%s-%013x", prefix, uint64(n.Rand()*(1<<52)))
}

// Same reports whether a stored order was placed with co: a key reused with
// other parameters is a client bug the orders service refuses (422).
func Same(o sim.Order, co sim.Checkout) bool {
	return o.Customer == co.Customer && o.SKU == co.SKU && o.Qty == co.Qty && o.Amount == co.Amount
}

// KeyConflict answers 422 for a key reused with other parameters.
func KeyConflict(w http.ResponseWriter, key string) {
	sim.WriteError(w, http.StatusUnprocessableEntity, "key_conflict", "Idempotency-Key "+key+" was used with other parameters")
}

// CheckoutOf is the checkout a stored order was placed with, for
// re-driving it.
func CheckoutOf(o sim.Order) sim.Checkout {
	return sim.Checkout{Customer: o.Customer, SKU: o.SKU, Qty: o.Qty, Amount: o.Amount}
}

// InsertOrder records a new order as pending; it does nothing if the key
// is already there.
func InsertOrder(ctx context.Context, n *sim.Node, key string, co sim.Checkout) error {
	_, err := n.DB().ExecContext(ctx, `INSERT OR IGNORE INTO orders(key, customer, sku, qty, amount, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		key, co.Customer, co.SKU, co.Qty, co.Amount, sim.OrderPending, n.Now().UnixNano())
	return err
}

// FinishOrder moves a pending order to a terminal state; an order some
// other driver already finished is left alone.
func FinishOrder(ctx context.Context, n *sim.Node, key, state, reason string) error {
	_, err := n.DB().ExecContext(ctx, `UPDATE orders SET state = ?, reason = ?, updated_at = ? WHERE key = ? AND state = ?`,
		state, reason, n.Now().UnixNano(), key, sim.OrderPending)
	return err
}

// PendingOrders lists orders still pending that were last touched more
// than age ago: work a request abandoned, for a recovery process. It reads
// them through sim.OrdersIndex, not by a scan of every order: its cost is
// that of the orders still pending.
func PendingOrders(ctx context.Context, n *sim.Node, age time.Duration) []sim.Order {
	rows, err := n.DB().QueryContext(ctx, `SELECT key, customer, sku, qty, amount, state, reason FROM orders WHERE state = ? AND updated_at < ? ORDER BY key LIMIT 100`,
		sim.OrderPending, n.Now().Add(-age).UnixNano())
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []sim.Order
	for rows.Next() {
		var o sim.Order
		if rows.Scan(&o.Key, &o.Customer, &o.SKU, &o.Qty, &o.Amount, &o.State, &o.Reason) == nil {
			out = append(out, o)
		}
	}
	return out
}

// Abandoned is how long an order must have been pending before recovery
// takes it over: two call timeouts, or one for work last touched before
// this incarnation of the node started (its drivers died in the crash, and
// a call timeout after its last step no request of theirs is still on its
// way). A request may still be driving an order then: patterns must make a
// second driver harmless (keys, conditional writes), and this age only
// keeps the duplicate work rare.
func Abandoned(n *sim.Node) time.Duration {
	t := n.CallTimeout()
	return min(2*t, max(t, n.Now().Sub(n.Started())))
}
