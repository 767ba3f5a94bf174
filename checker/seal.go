package checker

import (
	"bytes"
	"compress/flate"
	"encoding/gob"
	"encoding/json"
	"fmt"
)

// SealedState is a State encoded and compressed: some tenth of its size.
// A runner that reads the state it judges at rest, then keeps its world
// running a while (the final reads) beside the world's databases, holds
// it sealed meanwhile: a run of 100,000 orders has some 120 MB of state.
type SealedState struct {
	shape []byte // JSON: the state without the rows of its long tables
	rows  []byte // gob, compressed: those rows
	// noneMissing: Missing is empty, not nil (JSON leaves an empty one out)
	noneMissing bool
}

// sealedRows are the rows of a state's long tables, by table.
type sealedRows struct {
	Orders    []OrderRow
	Resources map[string][]ResourceRow
	Log       map[string][]LogRow
	Events    []EventRow
	Credits   []CreditRow
}

// Seal encodes and compresses s. s is not changed, and may be dropped.
//
// The rows of the long tables are encoded with encoding/gob (compact and
// quick), the rest as JSON, which tells a nil list from an empty one as
// gob does not: State returns a state equal to s, field by field.
func Seal(s *State) (*SealedState, error) {
	shape := *s
	shape.Orders, shape.Events, shape.Credits = emptied(s.Orders), emptied(s.Events), emptied(s.Credits)
	shape.Resources, shape.Log = emptiedAll(s.Resources), emptiedAll(s.Log)
	b, err := json.Marshal(&shape)
	if err != nil {
		return nil, fmt.Errorf("checker: seal the state: %w", err)
	}
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	rows := sealedRows{Orders: s.Orders, Resources: s.Resources, Log: s.Log, Events: s.Events, Credits: s.Credits}
	if err := gob.NewEncoder(zw).Encode(&rows); err != nil {
		return nil, fmt.Errorf("checker: seal the state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("checker: seal the state: %w", err)
	}
	return &SealedState{shape: b, rows: bytes.Clone(buf.Bytes()), noneMissing: s.Missing != nil && len(s.Missing) == 0}, nil
}

// emptied is rows with none: nil when rows is nil, empty otherwise.
func emptied[T any](rows []T) []T {
	if rows == nil {
		return nil
	}
	return rows[:0:0]
}

// emptiedAll is emptied for each list of m.
func emptiedAll[T any](m map[string][]T) map[string][]T {
	if m == nil {
		return nil
	}
	out := make(map[string][]T, len(m))
	for k, rows := range m {
		out[k] = emptied(rows)
	}
	return out
}

// Len is the size of the sealed state in bytes.
func (z *SealedState) Len() int { return len(z.shape) + len(z.rows) }

// State decodes the state z holds: equal to the one sealed, its strings
// shared as ReadState shares them.
func (z *SealedState) State() (*State, error) {
	s := new(State)
	if err := json.Unmarshal(z.shape, s); err != nil {
		return nil, fmt.Errorf("checker: unseal the state: %w", err)
	}
	if z.noneMissing {
		s.Missing = map[string]string{}
	}
	var rows sealedRows
	if err := gob.NewDecoder(flate.NewReader(bytes.NewReader(z.rows))).Decode(&rows); err != nil {
		return nil, fmt.Errorf("checker: unseal the state: %w", err)
	}
	filled(&s.Orders, rows.Orders)
	filled(&s.Events, rows.Events)
	filled(&s.Credits, rows.Credits)
	for k := range s.Resources {
		rs := s.Resources[k]
		filled(&rs, rows.Resources[k])
		s.Resources[k] = rs
	}
	for k := range s.Log {
		ls := s.Log[k]
		filled(&ls, rows.Log[k])
		s.Log[k] = ls
	}
	for i := range s.Orders {
		o := &s.Orders[i]
		intern(&o.Key, &o.Customer, &o.SKU, &o.State, &o.Reason)
	}
	for _, rows := range s.Resources {
		for i := range rows {
			x := &rows[i]
			intern(&x.Key, &x.Order, &x.Customer, &x.SKU, &x.State)
		}
	}
	for _, rows := range s.Log {
		for i := range rows {
			x := &rows[i]
			intern(&x.Op, &x.Key, &x.Order, &x.Outcome)
		}
	}
	for i := range s.Events {
		e := &s.Events[i]
		intern(&e.Topic, &e.Type, &e.Order, &e.Customer)
	}
	for i := range s.Credits {
		c := &s.Credits[i]
		intern(&c.EventID, &c.Order, &c.Customer)
	}
	return s, nil
}

// filled sets *dst, nil or empty as the shape has it, to rows when there
// are some.
func filled[T any](dst *[]T, rows []T) {
	if *dst != nil && len(rows) > 0 {
		*dst = rows
	}
}
