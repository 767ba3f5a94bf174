package sim

// The JSON bodies of the services' APIs. Field names are the wire names.

// Service names: the nodes of the world and the endpoints of its links.
const (
	Client    = "client"
	Orders    = "orders"
	Payments  = "payments"
	Inventory = "inventory"
	Shipping  = "shipping"
	Broker    = "broker"
	Rewards   = "rewards"
)

// Order states every pattern's orders table uses. Any other state is
// non-terminal: after healing, an order in it is stuck.
const (
	OrderPending   = "pending"
	OrderConfirmed = "confirmed"
	OrderFailed    = "failed"
)

// OrdersSchema is the orders table every pattern keeps in the orders
// database: the client-visible outcome of each checkout, keyed by the
// client's Idempotency-Key. The checker reads it directly.
const OrdersSchema = `CREATE TABLE IF NOT EXISTS orders (
	key TEXT PRIMARY KEY,
	customer TEXT NOT NULL,
	sku TEXT NOT NULL,
	qty INTEGER NOT NULL,
	amount INTEGER NOT NULL,
	state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL DEFAULT 0
)`

// OrdersIndex serves the queries a recovery process runs on every tick
// (patterns.PendingOrders: the orders in a state, last touched before a
// time) and the runner's question whether any order is unfinished, by an
// index rather than a scan of every order. patterns.Migrate creates it
// with OrdersSchema.
const OrdersIndex = `CREATE INDEX IF NOT EXISTS orders_state ON orders(state, updated_at)`

// Checkout is the body of POST /checkout on the orders service. The order's
// key travels in the Idempotency-Key header.
type Checkout struct {
	Customer string `json:"customer"`
	SKU      string `json:"sku"`
	Qty      int64  `json:"qty"`
	Amount   int64  `json:"amount"`
}

// Order is the orders service's answer to a checkout or GET /orders/{key}.
type Order struct {
	Key      string `json:"key"`
	Customer string `json:"customer,omitempty"`
	SKU      string `json:"sku,omitempty"`
	Qty      int64  `json:"qty,omitempty"`
	Amount   int64  `json:"amount,omitempty"`
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"`
}

// ResourceRequest asks payments, inventory or shipping to create a charge,
// a reservation or a shipment for an order. Key is the caller-assigned key;
// it is required at the idempotent maturity level and ignored below it.
type ResourceRequest struct {
	Key      string `json:"key,omitempty"`
	Order    string `json:"order"`
	Customer string `json:"customer"`
	SKU      string `json:"sku,omitempty"`
	Qty      int64  `json:"qty,omitempty"`
	Amount   int64  `json:"amount,omitempty"`
}

// CancelRequest asks for a refund, a release or a shipment cancellation,
// by caller-assigned key (idempotent level) or by the service's id.
type CancelRequest struct {
	Key   string `json:"key,omitempty"`
	ID    int64  `json:"id,omitempty"`
	Order string `json:"order,omitempty"`
}

// Resource states in payments, inventory and shipping.
const (
	ResourceActive    = "active"
	ResourceCancelled = "cancelled"
	// ResourceTombstone marks a cancel that arrived before its create (an
	// empty compensation): a later create with that key is refused.
	ResourceTombstone = "tombstone"
)

// Resource is a charge, a reservation or a shipment.
type Resource struct {
	ID       int64  `json:"id"`
	Key      string `json:"key,omitempty"`
	Order    string `json:"order"`
	Customer string `json:"customer"`
	SKU      string `json:"sku,omitempty"`
	Qty      int64  `json:"qty,omitempty"`
	Amount   int64  `json:"amount,omitempty"`
	State    string `json:"state"`
}

// Event is a message in the broker's log. EventID identifies the logical
// event: a consumer that de-duplicates applies each EventID once.
type Event struct {
	Offset   int64  `json:"offset,omitempty"`
	Topic    string `json:"topic"`
	EventID  string `json:"event_id"`
	Type     string `json:"type"`
	Order    string `json:"order"`
	Customer string `json:"customer"`
	Amount   int64  `json:"amount"`
}

// The topic and event type of a confirmed checkout; rewards credits Amount
// points to Customer for each one it consumes.
const (
	OrdersTopic         = "orders"
	OrderConfirmedEvent = "order.confirmed"
)

// Ack commits a consumer group's offset in a topic.
type Ack struct {
	Topic  string `json:"topic"`
	Group  string `json:"group"`
	Offset int64  `json:"offset"`
}

// Balance is a rewards customer's points.
type Balance struct {
	Customer string `json:"customer"`
	Points   int64  `json:"points"`
}

// ErrorBody is the JSON body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
}
