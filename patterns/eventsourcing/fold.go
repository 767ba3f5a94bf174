package eventsourcing

import "github.com/txchaos/txchaos/sim"

// Event types of an order's stream.
const (
	Placed    = "Placed"    // the checkout was accepted: Data.Checkout
	Rejected  = "Rejected"  // a step was refused (Data.Step, Data.Reason): compensate
	Confirmed = "Confirmed" // every step made: Data.Checkout, for the relay
	Failed    = "Failed"    // compensated: Data.Reason
)

// stepEvents names each step's events: made (Data.ID is the service's id)
// and undone.
var stepEvents = map[string][2]string{
	"charge":      {"Charged", "Refunded"},
	"reservation": {"Reserved", "Released"},
	"shipment":    {"Shipped", "ShipmentCancelled"},
}

// Event is one event of an order's stream.
type Event struct {
	Type string
	Data Data
}

// Data is an event's payload, stored as JSON.
type Data struct {
	Checkout *sim.Checkout `json:"checkout,omitempty"`
	Step     string        `json:"step,omitempty"`
	ID       int64         `json:"id,omitempty"`
	Reason   string        `json:"reason,omitempty"`
}

// State is an order as its stream has it.
type State struct {
	Version  int // events folded
	Checkout sim.Checkout
	Made     map[string]int64 // step → the service's id
	Undone   map[string]bool  // steps compensated
	Refused  string           // why a step was refused; compensating while Status is pending
	Status   string           // sim.OrderPending, OrderConfirmed, OrderFailed; "" before Placed
	Reason   string           // why the order failed
}

// fold is the current state of an order from its events, oldest first.
func fold(events []Event) State {
	s := State{Made: map[string]int64{}, Undone: map[string]bool{}}
	for _, e := range events {
		s.Version++
		switch e.Type {
		case Placed:
			if e.Data.Checkout != nil {
				s.Checkout = *e.Data.Checkout
			}
			s.Status = sim.OrderPending
		case Rejected:
			s.Refused = e.Data.Reason
		case Confirmed:
			s.Status = sim.OrderConfirmed
		case Failed:
			s.Status, s.Reason = sim.OrderFailed, e.Data.Reason
		default:
			for step, names := range stepEvents {
				switch e.Type {
				case names[0]:
					s.Made[step] = e.Data.ID
				case names[1]:
					s.Undone[step] = true
				}
			}
		}
	}
	return s
}

// order is the client's view of the state.
func (s State) order(key string) sim.Order {
	co := s.Checkout
	return sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: s.Status, Reason: s.Reason}
}
