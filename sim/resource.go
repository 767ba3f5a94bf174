package sim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ResourceSchema is the database of payments, inventory and shipping. The
// checker reads it directly.
//
// resources holds charges, reservations or shipments. key is the
// caller-assigned key (idempotent level only); cancels counts cancels that
// took effect. log records every create and cancel that reached the service
// with its outcome, in arrival order (seq), so the checker can tell an
// action that arrived after its compensation.
var ResourceSchema = []string{
	`CREATE TABLE IF NOT EXISTS resources (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		key TEXT,
		order_ref TEXT NOT NULL,
		customer TEXT NOT NULL,
		sku TEXT NOT NULL DEFAULT '',
		qty INTEGER NOT NULL DEFAULT 0,
		amount INTEGER NOT NULL DEFAULT 0,
		state TEXT NOT NULL,
		cancels INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		cancelled_at INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS resources_key ON resources(key) WHERE key IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS resources_order ON resources(order_ref)`,
	`CREATE TABLE IF NOT EXISTS stock (
		sku TEXT PRIMARY KEY,
		initial INTEGER NOT NULL,
		available INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS log (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		op TEXT NOT NULL,
		key TEXT NOT NULL DEFAULT '',
		resource_id INTEGER NOT NULL DEFAULT 0,
		order_ref TEXT NOT NULL DEFAULT '',
		outcome TEXT NOT NULL,
		at INTEGER NOT NULL
	)`,
}

// ResourceService is payments, inventory or shipping: a downstream service
// that creates and cancels one kind of resource at a maturity level.
type ResourceService struct {
	name  string
	cfg   ResourceConfig
	seed  int64
	stock int64 // initial stock per SKU; 0: the service holds no stock
}

// NewResourceService configures the downstream service name. initialStock
// above zero makes it an inventory: creates reserve stock, cancels return it.
func NewResourceService(name string, cfg ResourceConfig, seed, initialStock int64) *ResourceService {
	return &ResourceService{name: name, cfg: cfg, seed: seed, stock: initialStock}
}

// rejection is each service's business refusal.
var rejection = map[string]struct {
	status int
	reason string
}{
	Payments:  {http.StatusPaymentRequired, "card_declined"},
	Inventory: {http.StatusConflict, "out_of_stock"},
	Shipping:  {http.StatusUnprocessableEntity, "address_refused"},
}

// Start implements Service.
func (s *ResourceService) Start(n *Node) (http.Handler, error) {
	ctx := n.Context()
	db := n.DB()
	if err := Migrate(ctx, db, ResourceSchema...); err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	if s.stock > 0 {
		for _, sku := range SKUs {
			if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO stock(sku, initial, available) VALUES (?, ?, ?)`, sku, s.stock, s.stock); err != nil {
				return nil, fmt.Errorf("%s: stock: %w", s.name, err)
			}
		}
	}
	h := &resourceHandler{s: s, n: n}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /resources", h.create)
	mux.HandleFunc("POST /resources/cancel", h.cancel)
	mux.HandleFunc("GET /resources", h.byOrder)
	mux.HandleFunc("GET /resources/{key}", h.get)
	return mux, nil
}

type resourceHandler struct {
	s *ResourceService
	n *Node
}

// errAnswer is an answer decided inside a transaction.
type errAnswer struct {
	status         int
	reason, detail string
}

func (e *errAnswer) Error() string { return e.detail }

const resourceColumns = `id, COALESCE(key, ''), order_ref, customer, sku, qty, amount, state`

func scanResource(row interface{ Scan(...any) error }) (Resource, error) {
	var r Resource
	err := row.Scan(&r.ID, &r.Key, &r.Order, &r.Customer, &r.SKU, &r.Qty, &r.Amount, &r.State)
	return r, err
}

func (h *resourceHandler) logOp(tx *sql.Tx, op, key string, id int64, order, outcome string) error {
	_, err := tx.Exec(`INSERT INTO log(op, key, resource_id, order_ref, outcome, at) VALUES (?, ?, ?, ?, ?, ?)`,
		op, key, id, order, outcome, h.n.Now().UnixNano())
	return err
}

func (h *resourceHandler) create(w http.ResponseWriter, r *http.Request) {
	var req ResourceRequest
	if !ReadJSON(w, r, &req) {
		return
	}
	if req.Order == "" || req.Customer == "" {
		WriteError(w, http.StatusBadRequest, "bad_request", "order and customer are required")
		return
	}
	idem := h.s.cfg.Maturity == Idempotent
	if idem && req.Key == "" {
		WriteError(w, http.StatusBadRequest, "bad_request", h.s.name+" is idempotent: key is required")
		return
	}
	if !idem {
		req.Key = ""
	}
	status := http.StatusCreated
	var out Resource
	err := h.inTx(r.Context(), func(tx *sql.Tx) error {
		if idem {
			existing, err := scanResource(tx.QueryRow(`SELECT `+resourceColumns+` FROM resources WHERE key = ?`, req.Key))
			switch {
			case err == nil:
				outcome, ans := "replayed", (*errAnswer)(nil)
				switch {
				case existing.State == ResourceTombstone:
					outcome, ans = "refused-after-cancel", &errAnswer{http.StatusConflict, "cancelled", "key " + req.Key + " was cancelled before it was created"}
				case existing.Order != req.Order || existing.Amount != req.Amount || existing.Qty != req.Qty || existing.SKU != req.SKU:
					outcome, ans = "key-conflict", &errAnswer{http.StatusUnprocessableEntity, "key_conflict", "key " + req.Key + " was used with other parameters"}
				}
				if err := h.logOp(tx, "create", req.Key, existing.ID, req.Order, outcome); err != nil {
					return err
				}
				if ans != nil {
					return ans
				}
				out, status = existing, http.StatusOK
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		rej, refused := rejection[h.s.name]
		if refused && chance(h.s.seed, h.s.name, req.Order) < h.s.cfg.RejectRate {
			if err := h.logOp(tx, "create", req.Key, 0, req.Order, "rejected"); err != nil {
				return err
			}
			return &errAnswer{rej.status, rej.reason, h.s.name + " rejected order " + req.Order}
		}
		if h.s.stock > 0 {
			res, err := tx.Exec(`UPDATE stock SET available = available - ? WHERE sku = ? AND available >= ?`, req.Qty, req.SKU, req.Qty)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if err := h.logOp(tx, "create", req.Key, 0, req.Order, "rejected"); err != nil {
					return err
				}
				return &errAnswer{http.StatusConflict, "out_of_stock", "not enough " + req.SKU + " in stock"}
			}
		}
		var key any
		if req.Key != "" {
			key = req.Key
		}
		res, err := tx.Exec(`INSERT INTO resources(key, order_ref, customer, sku, qty, amount, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			key, req.Order, req.Customer, req.SKU, req.Qty, req.Amount, ResourceActive, h.n.Now().UnixNano())
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		out = Resource{ID: id, Key: req.Key, Order: req.Order, Customer: req.Customer, SKU: req.SKU, Qty: req.Qty, Amount: req.Amount, State: ResourceActive}
		return h.logOp(tx, "create", req.Key, id, req.Order, "created")
	})
	h.answer(w, status, out, err)
}

func (h *resourceHandler) cancel(w http.ResponseWriter, r *http.Request) {
	var req CancelRequest
	if !ReadJSON(w, r, &req) {
		return
	}
	idem := h.s.cfg.Maturity == Idempotent
	switch {
	case idem && req.Key == "":
		WriteError(w, http.StatusBadRequest, "bad_request", h.s.name+" is idempotent: cancel takes the key")
		return
	case !idem && req.ID == 0:
		// A compensation that cannot name its action (its create's answer
		// was lost): nothing is found. Logged, so that the checker sees it.
		err := h.inTx(r.Context(), func(tx *sql.Tx) error {
			if err := h.logOp(tx, "cancel", req.Key, 0, req.Order, "not-found"); err != nil {
				return err
			}
			return &errAnswer{http.StatusBadRequest, "bad_request", h.s.name + " is not idempotent: cancel takes the id"}
		})
		h.answer(w, http.StatusOK, Resource{}, err)
		return
	}
	var out Resource
	err := h.inTx(r.Context(), func(tx *sql.Tx) error {
		var row *sql.Row
		if idem {
			row = tx.QueryRow(`SELECT `+resourceColumns+` FROM resources WHERE key = ?`, req.Key)
		} else {
			row = tx.QueryRow(`SELECT `+resourceColumns+` FROM resources WHERE id = ?`, req.ID)
		}
		existing, err := scanResource(row)
		switch {
		case errors.Is(err, sql.ErrNoRows) && idem && h.s.cfg.ForgetEmptyCancel:
			// The broken participant: nothing to cancel, nothing remembered.
			if err := h.logOp(tx, "cancel", req.Key, 0, req.Order, "not-found"); err != nil {
				return err
			}
			return &errAnswer{http.StatusNotFound, "not_found", "no " + h.s.name + " resource with key " + req.Key}
		case errors.Is(err, sql.ErrNoRows) && idem:
			// An empty compensation: remember it, so that the action, if it
			// arrives later, is refused instead of hanging.
			res, err := tx.Exec(`INSERT INTO resources(key, order_ref, customer, state, created_at, cancelled_at) VALUES (?, ?, '', ?, ?, ?)`,
				req.Key, req.Order, ResourceTombstone, h.n.Now().UnixNano(), h.n.Now().UnixNano())
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			out = Resource{ID: id, Key: req.Key, Order: req.Order, State: ResourceTombstone}
			return h.logOp(tx, "cancel", req.Key, id, req.Order, "tombstone")
		case errors.Is(err, sql.ErrNoRows):
			if err := h.logOp(tx, "cancel", req.Key, req.ID, req.Order, "not-found"); err != nil {
				return err
			}
			return &errAnswer{http.StatusNotFound, "not_found", fmt.Sprintf("no %s resource %d", h.s.name, req.ID)}
		case err != nil:
			return err
		}
		out = existing
		if existing.State != ResourceActive {
			if err := h.logOp(tx, "cancel", existing.Key, existing.ID, existing.Order, "already-cancelled"); err != nil {
				return err
			}
			if idem {
				return nil
			}
			return &errAnswer{http.StatusConflict, "already_cancelled", fmt.Sprintf("%s resource %d is already cancelled", h.s.name, existing.ID)}
		}
		if _, err := tx.Exec(`UPDATE resources SET state = ?, cancels = cancels + 1, cancelled_at = ? WHERE id = ?`,
			ResourceCancelled, h.n.Now().UnixNano(), existing.ID); err != nil {
			return err
		}
		if h.s.stock > 0 {
			if _, err := tx.Exec(`UPDATE stock SET available = available + ? WHERE sku = ?`, existing.Qty, existing.SKU); err != nil {
				return err
			}
		}
		out.State = ResourceCancelled
		return h.logOp(tx, "cancel", existing.Key, existing.ID, existing.Order, "cancelled")
	})
	h.answer(w, http.StatusOK, out, err)
}

// inTx runs fn in one transaction, as InTx does, but commits it when fn
// refuses the request with an *errAnswer and returns that answer: a
// refusal writes nothing but its log row, and the log must keep every
// request that reached the service, refused ones included.
func (h *resourceHandler) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var refused *errAnswer
	err := InTx(ctx, h.n.DB(), func(tx *sql.Tx) error {
		err := fn(tx)
		if errors.As(err, &refused) {
			return nil
		}
		refused = nil
		return err
	})
	if err == nil && refused != nil {
		return refused
	}
	return err
}

func (h *resourceHandler) answer(w http.ResponseWriter, status int, out Resource, err error) {
	var ans *errAnswer
	switch {
	case errors.As(err, &ans):
		WriteError(w, ans.status, ans.reason, ans.detail)
	case err != nil:
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	default:
		WriteJSON(w, status, out)
	}
}

func (h *resourceHandler) byOrder(w http.ResponseWriter, r *http.Request) {
	if h.s.cfg.Maturity == Opaque {
		WriteError(w, http.StatusMethodNotAllowed, "not_supported", h.s.name+" is opaque: resources cannot be read")
		return
	}
	order := r.URL.Query().Get("order")
	if order == "" {
		WriteError(w, http.StatusBadRequest, "bad_request", "the order query parameter is required")
		return
	}
	rows, err := h.n.DB().QueryContext(r.Context(), `SELECT `+resourceColumns+` FROM resources WHERE order_ref = ? AND state != ? ORDER BY id`, order, ResourceTombstone)
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	defer rows.Close()
	out := []Resource{}
	for rows.Next() {
		res, err := scanResource(rows)
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		}
		out = append(out, res)
	}
	if err := rows.Err(); err != nil {
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

func (h *resourceHandler) get(w http.ResponseWriter, r *http.Request) {
	if h.s.cfg.Maturity != Idempotent {
		WriteError(w, http.StatusMethodNotAllowed, "not_supported", h.s.name+" has no caller-assigned keys")
		return
	}
	key := r.PathValue("key")
	res, err := scanResource(h.n.DB().QueryRowContext(r.Context(), `SELECT `+resourceColumns+` FROM resources WHERE key = ?`, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		WriteError(w, http.StatusNotFound, "not_found", strings.TrimSpace(h.s.name+" has no resource with key "+key))
	case err != nil:
		WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	default:
		WriteJSON(w, http.StatusOK, res)
	}
}
