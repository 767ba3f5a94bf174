package det

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"sync/atomic"

	"modernc.org/sqlite"
)

// openDB opens a node's database for the deterministic runtime. A
// simulated crash is not an operating-system crash: the file needs no sync,
// and the rollback journal can live in memory. Writes still go to the file,
// so that the checker reads it as it reads a live run's.
//
// Nor does it need file locks: one process runs at a time and none holds a
// transaction while another runs (the scheduler fails a process that yields
// inside a transaction), so the database is opened with SQLite's unix-none
// VFS, which takes none. Locking is the largest single cost of a small
// transaction in modernc.org/sqlite; dropping it doubles the runtime's
// throughput.
func openDB(path string, openTx *atomic.Int64) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(MEMORY)")
	q.Add("_pragma", "synchronous(OFF)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	q.Set("vfs", "unix-none")
	db := sql.OpenDB(connector{dsn: "file:" + path + "?" + q.Encode(), openTx: openTx})
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// connector opens connections to one database for database/sql.
type connector struct {
	dsn    string
	openTx *atomic.Int64 // the runtime's count of open transactions
}

var sqliteDriver = &sqlite.Driver{}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	return cachingDriver{d: sqliteDriver, openTx: c.openTx}.Open(c.dsn)
}

func (c connector) Driver() driver.Driver { return cachingDriver{d: sqliteDriver, openTx: c.openTx} }

// cachingDriver wraps the SQLite driver: each connection keeps its
// statements prepared, keyed by their text, since services run the same few
// statements over and over and parsing them is a good part of their cost.
//
// It also calls the driver with a context that is never done. database/sql
// still refuses to start an operation on a done context and rolls a
// transaction back when its context ends; what this drops is the driver's
// interrupting a statement in progress, which never happens here (contexts
// are cancelled only between steps of the scheduler, never while a
// statement runs) and costs a goroutine per statement.
type cachingDriver struct {
	d      *sqlite.Driver
	openTx *atomic.Int64
}

// sqliteConn is what the SQLite driver's connections implement.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	sc, ok := c.(sqliteConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("det: the SQLite driver's connection %T lacks a context method", c)
	}
	return &cachingConn{c: sc, stmts: map[string]*cachedStmt{}, openTx: d.openTx}, nil
}

// maxStmts bounds a connection's cache; statements past it are not kept.
const maxStmts = 256

type cachingConn struct {
	c      sqliteConn
	stmts  map[string]*cachedStmt
	openTx *atomic.Int64
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool // rows of it are open
}

var background = context.Background()

// stmt is the cached statement for query, prepared now if need be; nil
// when it cannot be cached.
func (c *cachingConn) stmt(query string) (*cachedStmt, error) {
	if s := c.stmts[query]; s != nil {
		return s, nil
	}
	if len(c.stmts) >= maxStmts {
		return nil, nil
	}
	st, err := c.c.Prepare(query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{st: st}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.c.Prepare(query) }

func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		s.st.Close()
	}
	c.stmts = nil
	return c.c.Close()
}

func (c *cachingConn) Begin() (driver.Tx, error) { return c.BeginTx(background, driver.TxOptions{}) }

func (c *cachingConn) BeginTx(_ context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.c.BeginTx(background, opts)
	if err != nil {
		return nil, err
	}
	c.openTx.Add(1)
	return &countedTx{Tx: tx, openTx: c.openTx}, nil
}

// countedTx keeps the runtime's count of open transactions.
type countedTx struct {
	driver.Tx
	openTx *atomic.Int64
	ended  bool
}

func (t *countedTx) end() {
	if !t.ended {
		t.ended = true
		t.openTx.Add(-1)
	}
}

func (t *countedTx) Commit() error {
	defer t.end()
	return t.Tx.Commit()
}

func (t *countedTx) Rollback() error {
	defer t.end()
	return t.Tx.Rollback()
}

func (c *cachingConn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	if s == nil || s.busy {
		return c.c.ExecContext(background, query, args)
	}
	return s.st.(driver.StmtExecContext).ExecContext(background, args)
}

func (c *cachingConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	if s == nil || s.busy {
		return c.c.QueryContext(background, query, args)
	}
	rows, err := s.st.(driver.StmtQueryContext).QueryContext(background, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

func (c *cachingConn) Ping(context.Context) error { return c.c.Ping(background) }

func (c *cachingConn) ResetSession(context.Context) error { return c.c.ResetSession(background) }

func (c *cachingConn) IsValid() bool { return c.c.IsValid() }

// cachedRows frees its statement for reuse when closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	r.s.busy = false
	return r.Rows.Close()
}
