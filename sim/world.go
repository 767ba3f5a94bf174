package sim

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Service is the code of one node.
type Service interface {
	// Start prepares the node's database (it runs on every start, restarts
	// after a crash included, so it must be idempotent), starts the node's
	// background processes with n.Go and returns the node's HTTP API.
	Start(n *Node) (http.Handler, error)
}

// ServiceFunc adapts a function to Service.
type ServiceFunc func(n *Node) (http.Handler, error)

// Start calls f(n).
func (f ServiceFunc) Start(n *Node) (http.Handler, error) { return f(n) }

// Maturity is a downstream API's maturity level, from
// 003_11c6468ac7a3d68e.txt ("Dependent services API maturity level").
type Maturity string

// The three maturity levels.
const (
	// Idempotent: a caller-assigned key makes a repeated create or cancel
	// return the same resource (seed 000's caller-assigned key).
	Idempotent Maturity = "idempotent"
	// Readable: not idempotent (a repeated create makes a second resource),
	// but the resources held for an order can be read.
	Readable Maturity = "readable"
	// Opaque: not idempotent and not readable.
	Opaque Maturity = "opaque"
)

// Maturities lists the levels in order, for help texts and validation.
var Maturities = []Maturity{Idempotent, Readable, Opaque}

// ParseMaturity checks a maturity level's name.
func ParseMaturity(s string) (Maturity, error) {
	for _, m := range Maturities {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("maturity %q is not one of %s", s, joinMaturities())
}

func joinMaturities() string {
	var names []string
	for _, m := range Maturities {
		names = append(names, string(m))
	}
	return strings.Join(names, ", ")
}

// ResourceConfig configures payments, inventory or shipping.
type ResourceConfig struct {
	Maturity Maturity `json:"maturity" yaml:"maturity"`
	// RejectRate is the share of orders this service rejects for business
	// reasons (card declined, out of stock, address refused). The decision
	// is a function of the seed and the order, so retries get the same one.
	RejectRate float64 `json:"reject_rate" yaml:"reject_rate"`
	// ForgetEmptyCancel makes an idempotent service a broken saga
	// participant: a cancel of a key it has never seen is answered 404
	// not-found and forgotten, where a correct one leaves a tombstone that
	// refuses the action if it arrives later. A late action then takes
	// effect after its compensation (empty-compensation, hanging-action).
	ForgetEmptyCancel bool `json:"forget_empty_cancel,omitempty" yaml:"forget_empty_cancel"`
}

// Config is the world's configuration: how each service behaves.
type Config struct {
	Seed      int64          `json:"seed"`
	Payments  ResourceConfig `json:"payments"`
	Inventory ResourceConfig `json:"inventory"`
	Shipping  ResourceConfig `json:"shipping"`
	// InitialStock is each SKU's stock in inventory at the start.
	InitialStock int64 `json:"initial_stock"`
	// RewardsDedupe makes the rewards consumer keep an inbox of event IDs
	// and apply each event once; without it every delivery is applied.
	RewardsDedupe bool `json:"rewards_dedupe"`
	// RewardsSplitInbox makes the de-duplicating consumer a broken one: it
	// commits an event's inbox row and its credit in two transactions,
	// inbox first, so that a crash between them marks the event applied
	// without its credit (lost-event).
	RewardsSplitInbox bool `json:"rewards_split_inbox,omitempty"`
	// CallTimeout is how long a node waits for one request to another
	// service (DefaultCallTimeout when zero).
	CallTimeout time.Duration `json:"call_timeout"`
	// Broker is the broker the runtime runs on the broker node: BrokerLog
	// (the default; "" means it too) or BrokerJetStream, which only the
	// live runtime runs, in place of the node's service.
	Broker string `json:"broker,omitempty"`
	// DedupeWindow is JetStream's duplicate window: a publish whose event
	// id (sent as Nats-Msg-Id) the stream has seen within it is dropped.
	// Nil is JetStream's default (DefaultDedupeWindow); zero turns
	// de-duplication off (publishes carry no Nats-Msg-Id). Only
	// BrokerJetStream has one: with the log it must be nil.
	DedupeWindow *time.Duration `json:"dedupe_window,omitempty"`
}

// BrokerName is the broker the world runs: Broker, or BrokerLog when empty.
func (c Config) BrokerName() string {
	if c.Broker == "" {
		return BrokerLog
	}
	return c.Broker
}

// Dedupe is the JetStream duplicate window in force: DedupeWindow, or
// DefaultDedupeWindow when nil; zero when de-duplication is off.
func (c Config) Dedupe() time.Duration {
	if c.DedupeWindow == nil {
		return DefaultDedupeWindow
	}
	return *c.DedupeWindow
}

// DefaultCallTimeout bounds one request from a node to a service.
const DefaultCallTimeout = 2 * time.Second

// DefaultConfig is the world of the README's demo: idempotent downstream
// services, a 5% business rejection rate at payments, the log broker and
// a de-duplicating consumer.
func DefaultConfig() Config {
	return Config{
		Payments:      ResourceConfig{Maturity: Idempotent, RejectRate: 0.05},
		Inventory:     ResourceConfig{Maturity: Idempotent},
		Shipping:      ResourceConfig{Maturity: Idempotent},
		InitialStock:  1_000_000,
		RewardsDedupe: true,
		Broker:        BrokerLog,
	}
}

// Validate names the first field that is out of range.
func (c Config) Validate() error {
	for _, s := range []struct {
		name string
		rc   ResourceConfig
	}{{Payments, c.Payments}, {Inventory, c.Inventory}, {Shipping, c.Shipping}} {
		if _, err := ParseMaturity(string(s.rc.Maturity)); err != nil {
			return fmt.Errorf("%s.maturity: %w", s.name, err)
		}
		if !(s.rc.RejectRate >= 0 && s.rc.RejectRate <= 1) { // NaN too
			return fmt.Errorf("%s.reject_rate: %v is not between 0 and 1", s.name, s.rc.RejectRate)
		}
	}
	if c.CallTimeout < 0 {
		return fmt.Errorf("call_timeout: %s is negative", c.CallTimeout)
	}
	if c.InitialStock < 0 {
		return fmt.Errorf("initial_stock: %d is negative", c.InitialStock)
	}
	if !slices.Contains(Brokers, c.BrokerName()) {
		return fmt.Errorf("broker: %q is not one of %s", c.Broker, strings.Join(Brokers, ", "))
	}
	if w := c.DedupeWindow; w != nil {
		switch {
		case c.BrokerName() != BrokerJetStream:
			return fmt.Errorf("dedupe_window: %s: only broker %s has a duplicate window (broker is %s)", *w, BrokerJetStream, c.BrokerName())
		case *w < 0 || (*w > 0 && *w < MinDedupeWindow):
			return fmt.Errorf("dedupe_window: %s is neither 0 (off) nor at least %s, JetStream's shortest", *w, MinDedupeWindow)
		}
	}
	return nil
}

// Link is a directed network link: requests from From to To.
type Link struct{ From, To string }

func (l Link) String() string { return l.From + "->" + l.To }

// World is the set of nodes a run starts and the links between them.
type World struct {
	Config   Config
	Services map[string]Service
	Links    []Link
}

// StandardLinks are the links of the checkout world.
var StandardLinks = []Link{
	{Client, Orders},
	{Orders, Payments},
	{Orders, Inventory},
	{Orders, Shipping},
	{Orders, Broker},
	{Rewards, Broker},
	{Client, Rewards},
}

// NewWorld is the checkout world with orders run by the given service
// (a pattern). Its broker node runs the log (BrokerService); when
// cfg.Broker is BrokerJetStream the live runtime runs NATS JetStream on
// that node instead.
func NewWorld(cfg Config, orders Service) World {
	return World{
		Config: cfg,
		Services: map[string]Service{
			Orders:    orders,
			Payments:  NewResourceService(Payments, cfg.Payments, cfg.Seed, 0),
			Inventory: NewResourceService(Inventory, cfg.Inventory, cfg.Seed, cfg.InitialStock),
			Shipping:  NewResourceService(Shipping, cfg.Shipping, cfg.Seed, 0),
			Broker:    BrokerService{},
			Rewards:   RewardsService{Dedupe: cfg.RewardsDedupe, SplitInbox: cfg.RewardsSplitInbox},
		},
		Links: append([]Link(nil), StandardLinks...),
	}
}

// Nodes lists the world's service names in a stable order.
func (w World) Nodes() []string {
	var names []string
	for name := range w.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Chance is a stable pseudo-random number in [0,1) for (seed, parts...):
// the same arguments give the same number, whatever else was drawn. Fault
// decisions keyed by (seed, fault, site) take it, so that adding or
// removing one fault does not move what the others hit.
func Chance(seed int64, parts ...string) float64 { return chance(seed, parts...) }

// chance is Chance.
func chance(seed int64, parts ...string) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", seed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	x := h.Sum64() // FNV's high bits barely move with the last byte: mix them (murmur3's finalizer)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11) / float64(1<<53)
}

// SKUs are the products inventory stocks.
var SKUs = []string{"sku-1", "sku-2", "sku-3", "sku-4", "sku-5"}
