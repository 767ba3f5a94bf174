package checker

import (
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// SealedState is a State encoded and compressed: some tenth of its size.
// A runner that reads the state it judges at rest, then keeps its world
// running a while (the final reads) beside the world's databases, holds
// it sealed meanwhile: a run of 100,000 orders has some 120 MB of state.
type SealedState struct {
	shape []byte   // JSON: the state without the rows of its long tables
	rows  [][]byte // gob, compressed: those rows, in blocks (blocks)
	// noneMissing: Missing is empty, not nil (JSON leaves an empty one out)
	noneMissing bool
	// lens are the lengths of the long tables, by table ("orders",
	// "resources payments"): State makes each list once, at its length.
	lens map[string]int
}

// sealChunk is the most rows Seal encodes at once: gob holds a value's
// whole encoding before it writes it, and a long table's is tens of
// megabytes.
const sealChunk = 4096

// sealedRows are rows of one of a state's long tables: Service names the
// service of resources and log rows. Seal writes each table as a
// sequence of them, sealChunk rows at most each.
type sealedRows struct {
	Service   string
	Orders    []OrderRow
	Resources []ResourceRow
	Log       []LogRow
	Events    []EventRow
	Credits   []CreditRow
}

// n is the number of rows r holds.
func (r *sealedRows) n() int {
	return len(r.Orders) + len(r.Resources) + len(r.Log) + len(r.Events) + len(r.Credits)
}

// encodeChunks encodes rows sealChunk at a time, each chunk as part puts
// it into a sealedRows.
func encodeChunks[T any](enc *gob.Encoder, rows []T, part func(*sealedRows, []T)) error {
	for len(rows) > 0 {
		n := min(len(rows), sealChunk)
		var r sealedRows
		part(&r, rows[:n])
		if err := enc.Encode(&r); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
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
	var buf blocks
	zw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	enc := gob.NewEncoder(zw)
	err = errors.Join(
		encodeChunks(enc, s.Orders, func(r *sealedRows, rows []OrderRow) { r.Orders = rows }),
		encodeChunks(enc, s.Events, func(r *sealedRows, rows []EventRow) { r.Events = rows }),
		encodeChunks(enc, s.Credits, func(r *sealedRows, rows []CreditRow) { r.Credits = rows }))
	for _, svc := range slices.Sorted(maps.Keys(s.Resources)) {
		err = errors.Join(err, encodeChunks(enc, s.Resources[svc], func(r *sealedRows, rows []ResourceRow) { r.Service, r.Resources = svc, rows }))
	}
	for _, svc := range slices.Sorted(maps.Keys(s.Log)) {
		err = errors.Join(err, encodeChunks(enc, s.Log[svc], func(r *sealedRows, rows []LogRow) { r.Service, r.Log = svc, rows }))
	}
	if err != nil {
		return nil, fmt.Errorf("checker: seal the state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("checker: seal the state: %w", err)
	}
	lens := map[string]int{"orders": len(s.Orders), "events": len(s.Events), "credits": len(s.Credits)}
	for svc, rows := range s.Resources {
		lens["resources "+svc] = len(rows)
	}
	for svc, rows := range s.Log {
		lens["log "+svc] = len(rows)
	}
	return &SealedState{shape: b, rows: buf, noneMissing: s.Missing != nil && len(s.Missing) == 0, lens: lens}, nil
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
func (z *SealedState) Len() int {
	n := len(z.shape)
	for _, b := range z.rows {
		n += len(b)
	}
	return n
}

// blockSize is the size of a block of blocks.
const blockSize = 1 << 20

// blocks is an io.Writer that keeps what it is written in blocks of
// blockSize bytes: a bytes.Buffer grows by doubling, holding both arrays
// as it grows, and its bytes would be copied once more to be kept at
// their length.
type blocks [][]byte

func (b *blocks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(*b) == 0 || len((*b)[len(*b)-1]) == blockSize {
			*b = append(*b, make([]byte, 0, blockSize))
		}
		last := &(*b)[len(*b)-1]
		k := min(len(p), blockSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// reader reads the bytes written.
func (b blocks) reader() io.Reader {
	rs := make([]io.Reader, len(b))
	for i, blk := range b {
		rs[i] = bytes.NewReader(blk)
	}
	return io.MultiReader(rs...)
}

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
	sized(&s.Orders, z.lens["orders"])
	sized(&s.Events, z.lens["events"])
	sized(&s.Credits, z.lens["credits"])
	for svc, rows := range s.Resources {
		sized(&rows, z.lens["resources "+svc])
		s.Resources[svc] = rows
	}
	for svc, rows := range s.Log {
		sized(&rows, z.lens["log "+svc])
		s.Log[svc] = rows
	}
	dec := gob.NewDecoder(flate.NewReader(blocks(z.rows).reader()))
	for {
		var r sealedRows
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || r.n() == 0 {
			return nil, fmt.Errorf("checker: unseal the state: %v", cmp.Or(err, errors.New("a chunk of no rows")))
		}
		s.Orders = append(s.Orders, r.Orders...)
		s.Events = append(s.Events, r.Events...)
		s.Credits = append(s.Credits, r.Credits...)
		if len(r.Resources) > 0 {
			s.Resources[r.Service] = append(s.Resources[r.Service], r.Resources...)
		}
		if len(r.Log) > 0 {
			s.Log[r.Service] = append(s.Log[r.Service], r.Log...)
		}
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

// sized gives *rows, when not nil, room for n rows.
func sized[T any](rows *[]T, n int) {
	if *rows != nil {
		*rows = make([]T, 0, n)
	}
}
