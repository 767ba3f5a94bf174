package checker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/txchaos/txchaos/sim"
)

// stateFile is the file of a stored state that holds what is not in its
// databases: the pending queries' keys and what could not be read.
const stateFile = "state.json"

// storedState is stateFile's content.
type storedState struct {
	Pending map[string][]string `json:"pending"`
	Missing map[string]string   `json:"missing,omitempty"`
}

// WriteState stores s in dir, a new directory: each database the state was
// read from as a SQLite file, <node>.db, holding the tables ReadState
// reads (the sim schemas: orders; resources, log and stock; events and
// offsets; credits), and state.json, the pending queries' keys and what
// could not be read. A node s lacks (in Missing) gets no file. LoadState
// reads it back; the files are also what a person opens with sqlite3.
//
// dir is written whole or not at all: into a temporary directory beside
// it, renamed into place at the end. dir must not exist.
func WriteState(ctx context.Context, dir string, s *State) (err error) {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checker: store the state in %s: it exists", dir)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checker: store the state: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			err = fmt.Errorf("checker: store the state in %s: %w", dir, err)
		}
	}()
	for _, node := range nodes {
		if _, missing := s.Missing[node]; missing {
			continue
		}
		if err := writeNode(ctx, filepath.Join(tmp, node+".db"), node, s); err != nil {
			return fmt.Errorf("%s: %w", node, err)
		}
	}
	b, err := json.MarshalIndent(storedState{Pending: s.Pending, Missing: s.Missing}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, stateFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// writeNode writes node's tables of s into a new database at path, in one
// transaction.
func writeNode(ctx context.Context, path, node string, s *State) error {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(OFF)")
	q.Add("_pragma", "synchronous(OFF)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var schema []string
	switch node {
	case sim.Orders:
		schema = []string{sim.OrdersSchema}
	case sim.Payments, sim.Inventory, sim.Shipping:
		schema = sim.ResourceSchema
	case sim.Broker:
		schema = sim.BrokerSchema
	default:
		schema = sim.RewardsSchema
	}
	if err := sim.Migrate(ctx, db, schema...); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insert := func(query string, n int, args func(i int) []any) error {
		st, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range n {
			if _, err := st.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return nil
	}
	switch node {
	case sim.Orders:
		err = insert(`INSERT INTO orders(key, customer, sku, qty, amount, state, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, len(s.Orders), func(i int) []any {
			o := &s.Orders[i]
			return []any{o.Key, o.Customer, o.SKU, o.Qty, o.Amount, o.State, o.Reason, o.UpdatedAt}
		})
	case sim.Payments, sim.Inventory, sim.Shipping:
		res, log := s.Resources[node], s.Log[node]
		err = errors.Join(
			insert(`INSERT INTO resources(id, key, order_ref, customer, sku, qty, amount, state, cancels, created_at, cancelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(res), func(i int) []any {
				r := &res[i]
				var key any // NULL: no key (ReadState reads it back as "")
				if r.Key != "" {
					key = r.Key
				}
				return []any{r.ID, key, r.Order, r.Customer, r.SKU, r.Qty, r.Amount, r.State, r.Cancels, r.CreatedAt, r.CancelledAt}
			}),
			insert(`INSERT INTO log(seq, op, key, resource_id, order_ref, outcome, at) VALUES (?, ?, ?, ?, ?, ?, ?)`, len(log), func(i int) []any {
				l := &log[i]
				return []any{l.Seq, l.Op, l.Key, l.ResourceID, l.Order, l.Outcome, l.At}
			}))
		if err == nil && node == sim.Inventory {
			err = insert(`INSERT INTO stock(sku, initial, available) VALUES (?, ?, ?)`, len(s.Stock), func(i int) []any {
				return []any{s.Stock[i].SKU, s.Stock[i].Initial, s.Stock[i].Available}
			})
		}
	case sim.Broker:
		err = errors.Join(
			insert(`INSERT INTO events(offset, topic, event_id, type, order_ref, customer, amount, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, len(s.Events), func(i int) []any {
				e := &s.Events[i]
				return []any{e.Offset, e.Topic, e.EventID, e.Type, e.Order, e.Customer, e.Amount, e.PublishedAt}
			}),
			insert(`INSERT INTO offsets(topic, grp, offset) VALUES (?, ?, ?)`, len(s.Offsets), func(i int) []any {
				return []any{s.Offsets[i].Topic, s.Offsets[i].Group, s.Offsets[i].Offset}
			}))
	default:
		err = insert(`INSERT INTO credits(id, event_id, offset, order_ref, customer, points, at) VALUES (?, ?, ?, ?, ?, ?, ?)`, len(s.Credits), func(i int) []any {
			c := &s.Credits[i]
			return []any{c.ID, c.EventID, c.Offset, c.Order, c.Customer, c.Points, c.At}
		})
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// LoadState reads a state WriteState stored in dir: each database with
// ReadState, and the pending keys and what could not be read from
// state.json. It returns an error when dir is not a stored state.
func LoadState(ctx context.Context, dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("checker: load the state: %w", err)
	}
	var stored storedState
	if err := json.Unmarshal(b, &stored); err != nil {
		return nil, fmt.Errorf("checker: load the state: %s: %w", filepath.Join(dir, stateFile), err)
	}
	paths := map[string]string{}
	for _, node := range nodes {
		if _, missing := stored.Missing[node]; !missing {
			paths[node] = filepath.Join(dir, node+".db")
		}
	}
	s, err := ReadState(ctx, paths, nil)
	if err != nil {
		return nil, err
	}
	for node := range s.Missing { // a database that should be there and is not
		if _, missing := stored.Missing[node]; !missing {
			return nil, fmt.Errorf("checker: load the state: %s: %s", node, s.Missing[node])
		}
	}
	s.Pending, s.Missing = stored.Pending, stored.Missing
	if s.Pending == nil {
		s.Pending = map[string][]string{}
	}
	return s, nil
}
