package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// OrderHeader names the order a request works for, as a tracing header
// would carry a trace id: every client call about one order sends it. The
// runtimes record it with each fault that hits the request (Applied.Order),
// so that a run can tell which orders a fault affected. Services ignore it.
const OrderHeader = "Txchaos-Order"

// forOrder is the header of a request about order ("" for none).
func forOrder(order string) http.Header {
	h := http.Header{}
	if order != "" {
		h.Set(OrderHeader, order)
	}
	return h
}

// ResourceClient calls payments, inventory or shipping: the three
// downstream services share one API shape over different resources.
type ResourceClient struct{ c caller }

// Payments is this node's client for the payments service (charges).
func (n *Node) Payments() ResourceClient { return ResourceClient{caller{n: n, service: Payments}} }

// Inventory is this node's client for the inventory service (reservations).
func (n *Node) Inventory() ResourceClient { return ResourceClient{caller{n: n, service: Inventory}} }

// Shipping is this node's client for the shipping service (shipments).
func (n *Node) Shipping() ResourceClient { return ResourceClient{caller{n: n, service: Shipping}} }

// Service is the name of the service this client calls.
func (c ResourceClient) Service() string { return c.c.service }

// Create asks for a charge, a reservation or a shipment.
func (c ResourceClient) Create(ctx context.Context, r ResourceRequest) (Resource, error) {
	var out Resource
	err := c.c.do(ctx, http.MethodPost, "/resources", forOrder(r.Order), r, &out)
	return out, err
}

// Cancel refunds, releases or cancels, by key or by id.
func (c ResourceClient) Cancel(ctx context.Context, r CancelRequest) (Resource, error) {
	var out Resource
	err := c.c.do(ctx, http.MethodPost, "/resources/cancel", forOrder(r.Order), r, &out)
	return out, err
}

// Get reads one resource by its caller-assigned key (idempotent level only).
func (c ResourceClient) Get(ctx context.Context, key string) (Resource, error) {
	var out Resource
	err := c.c.do(ctx, http.MethodGet, "/resources/"+url.PathEscape(key), nil, nil, &out)
	return out, err
}

// ByOrder lists the resources held for an order (readable and idempotent
// levels; opaque services refuse with 405).
func (c ResourceClient) ByOrder(ctx context.Context, order string) ([]Resource, error) {
	var out []Resource
	err := c.c.do(ctx, http.MethodGet, "/resources?order="+url.QueryEscape(order), forOrder(order), nil, &out)
	return out, err
}

// logClient is the client of a log broker (BrokerService) over HTTP.
type logClient struct{ c caller }

// Broker is this node's client for the event broker: the log's over HTTP,
// unless the runtime gave the node another (SetBroker).
func (n *Node) Broker() BrokerClient {
	if n.broker != nil {
		return n.broker
	}
	return logClient{caller{n: n, service: Broker}}
}

// BrokerAt is this node's client for a log broker running as another
// service: a second log such as a pattern's fallback queue
// (patterns.Spec.Services and Links add the node and the link). It is
// always the log, whatever Config.Broker says.
func (n *Node) BrokerAt(service string) BrokerClient {
	return logClient{caller{n: n, service: service}}
}

// Publish implements BrokerClient: POST /publish.
func (c logClient) Publish(ctx context.Context, e Event) (int64, error) {
	var out Event
	err := c.c.do(ctx, http.MethodPost, "/publish", forOrder(e.Order), e, &out)
	return out.Offset, err
}

// Poll implements BrokerClient: GET /poll, every event after group's committed
// offset.
func (c logClient) Poll(ctx context.Context, topic, group string, max int) ([]Event, error) {
	var out []Event
	path := fmt.Sprintf("/poll?topic=%s&group=%s&max=%d", url.QueryEscape(topic), url.QueryEscape(group), max)
	err := c.c.do(ctx, http.MethodGet, path, nil, nil, &out)
	return out, err
}

// Ack implements BrokerClient: POST /ack commits group's offset in topic.
func (c logClient) Ack(ctx context.Context, a Ack) error {
	return c.c.do(ctx, http.MethodPost, "/ack", nil, a, nil)
}

// OrdersClient is the client-facing API of the orders service.
type OrdersClient struct{ c caller }

// Orders is this node's client for the orders service.
func (n *Node) Orders() OrdersClient { return OrdersClient{caller{n: n, service: Orders}} }

// Checkout places an order under key (sent as the Idempotency-Key header).
// A business rejection comes back as *Rejected; an answer that never
// arrived as *Unavailable, and then the outcome is unknown.
func (c OrdersClient) Checkout(ctx context.Context, key string, co Checkout) (Order, error) {
	var out Order
	h := forOrder(key)
	h.Set("Idempotency-Key", key)
	err := c.c.do(ctx, http.MethodPost, "/checkout", h, co, &out)
	return out, err
}

// Get reads an order by key.
func (c OrdersClient) Get(ctx context.Context, key string) (Order, error) {
	var out Order
	err := c.c.do(ctx, http.MethodGet, "/orders/"+url.PathEscape(key), forOrder(key), nil, &out)
	return out, err
}

// RewardsClient reads the rewards service.
type RewardsClient struct{ c caller }

// Rewards is this node's client for the rewards service.
func (n *Node) Rewards() RewardsClient { return RewardsClient{caller{n: n, service: Rewards}} }

// Balance reads a customer's points.
func (c RewardsClient) Balance(ctx context.Context, customer string) (Balance, error) {
	var out Balance
	err := c.c.do(ctx, http.MethodGet, "/balance/"+url.PathEscape(customer), nil, nil, &out)
	return out, err
}
