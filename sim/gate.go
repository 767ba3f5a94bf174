package sim

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"
)

// Gate is what a runtime does at the commits of a node's database, so that
// a node can crash just before or just after any of its commits without
// its code knowing (see NodeFaults.CommitCrash).
type Gate interface {
	// BeforeCommit is called at each commit, before it takes effect (an
	// autocommitted statement's included); true turns it into a rollback.
	BeforeCommit() (rollback bool)
	// AfterStatement is called when a statement (a COMMIT included) has
	// returned.
	AfterStatement()
	// Refuses reports whether the database refuses every statement but a
	// rollback: the node has crashed, and its code, which may run on for
	// a moment, must not reach the database.
	Refuses() bool
}

// OpenGated is OpenDB whose commits go through a Gate, one per
// connection, made by gate.
func OpenGated(path string, gate func() Gate) (*sql.DB, error) {
	return ping(path, sql.OpenDB(gatedConnector{dsn: dsn(path), gate: gate}))
}

// ErrRefused is what a gated database answers once its Gate refuses.
var ErrRefused = fmt.Errorf("database: %w", ErrCrashed)

var gatedDriver = &sqlite.Driver{}

type gatedConnector struct {
	dsn  string
	gate func() Gate
}

func (c gatedConnector) Driver() driver.Driver { return gatedDriver }

func (c gatedConnector) Connect(context.Context) (driver.Conn, error) {
	dc, err := gatedDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sim: the SQLite driver's connection %T lacks a context method", dc)
	}
	hooked, ok := dc.(interface{ RegisterCommitHook(sqlite.CommitHookFn) })
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sim: the SQLite driver's connection %T has no commit hook", dc)
	}
	g := c.gate()
	hooked.RegisterCommitHook(func() int32 {
		if g.BeforeCommit() {
			return 1 // SQLite rolls the transaction back
		}
		return 0
	})
	return &gatedConn{c: inner, g: g}, nil
}

// sqliteConn is what the SQLite driver's connections implement.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// gatedConn is a connection whose statements pass the Gate.
type gatedConn struct {
	c sqliteConn
	g Gate
}

func (c *gatedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *gatedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.g.Refuses() {
		return nil, ErrRefused
	}
	return c.c.PrepareContext(ctx, query)
}

func (c *gatedConn) Close() error { return c.c.Close() }

func (c *gatedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *gatedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.g.Refuses() {
		return nil, ErrRefused
	}
	tx, err := c.c.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return gatedTx{tx: tx, g: c.g}, nil
}

func (c *gatedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.g.Refuses() {
		return nil, ErrRefused
	}
	res, err := c.c.ExecContext(ctx, query, args)
	c.g.AfterStatement()
	return res, err
}

func (c *gatedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.g.Refuses() {
		return nil, ErrRefused
	}
	return c.c.QueryContext(ctx, query, args)
}

func (c *gatedConn) Ping(ctx context.Context) error { return c.c.Ping(ctx) }

func (c *gatedConn) ResetSession(ctx context.Context) error { return c.c.ResetSession(ctx) }

func (c *gatedConn) IsValid() bool { return c.c.IsValid() }

// gatedTx is a transaction whose commit passes the Gate; its rollback
// always runs.
type gatedTx struct {
	tx driver.Tx
	g  Gate
}

func (t gatedTx) Commit() error {
	if t.g.Refuses() {
		t.tx.Rollback()
		return ErrRefused
	}
	err := t.tx.Commit()
	t.g.AfterStatement()
	return err
}

func (t gatedTx) Rollback() error { return t.tx.Rollback() }
