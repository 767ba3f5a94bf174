package det

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/txchaos/txchaos/sim"
)

// store is a node's database for the deterministic runtime. It lives in
// memory (SQLite's memdb VFS, named by the node's file path) from the
// runtime's start to its Stop, across the node's incarnations: a simulated
// crash closes the incarnation's handle, which rolls back its open
// transactions, while a connection of the store's own keeps the committed
// database. Sync (and Stop) write it to its file, where the checker reads
// it as it reads a live run's.
//
// Keeping it in memory drops the file system from every transaction: a
// simulated crash is not an operating-system crash, so nothing needs to
// reach the disk. Nor does it need file locks: one process runs at a time
// and none holds a transaction while another runs (the scheduler fails a
// process that yields inside a transaction).
type store struct {
	path string
	dsn  string
	uri  string // the memory database's, without the connections' settings
	// loaded: the store started from its file (see template)
	loaded bool
	// keep is a pool of one connection, opened with the store and never
	// closed before it: it holds the memory database open, and serves the
	// reads between steps (Runtime.Reader), whose prepared statements stay
	// cached from one question to the next, and the store's own loads and
	// syncs.
	keep    *sql.DB
	commits atomic.Uint64     // transactions committed in it, by any connection
	synced  uint64            // commits when sync last looked
	written [sha256.Size]byte // the hash of the database as sync last wrote it
}

// newStore creates the in-memory database of the node whose file is path,
// loading the file when load and it exists.
func newStore(path string, load bool) (*store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(MEMORY)")
	q.Add("_pragma", "synchronous(OFF)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	// A memory database's pages are in memory already: a connection's
	// page cache (2 MB each by default, a dozen connections a world)
	// copies them again, outside Go's heap. 256 KiB a connection keeps a
	// long run's memory down at no measured cost (BenchmarkDetScale).
	q.Add("_pragma", "cache_size(-256)")
	q.Set("_txlock", "immediate")
	q.Set("vfs", "memdb")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	st := &store{path: path, dsn: "file:" + filepath.ToSlash(abs) + "?" + q.Encode(), uri: "file:" + filepath.ToSlash(abs) + "?vfs=memdb"}
	st.keep = sql.OpenDB(connector{st: st, openTx: new(atomic.Int64)})
	st.keep.SetMaxOpenConns(1)
	st.keep.SetMaxIdleConns(1) // and no lifetime: the connection stays
	ctx := context.Background()
	if err := st.keep.PingContext(ctx); err != nil {
		st.keep.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if load {
		if _, err := os.Stat(path); err == nil {
			if err := st.load(ctx); err != nil {
				st.close()
				return nil, fmt.Errorf("load database %s: %w", path, err)
			}
			st.loaded = true
		}
	}
	st.synced = st.commits.Load()
	return st, nil
}

// load copies the database file into the memory database.
func (st *store) load(ctx context.Context) error {
	return st.raw(func(dc any) error {
		c, ok := dc.(*cachingConn).c.(interface {
			NewRestore(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver cannot restore a backup")
		}
		b, err := c.NewRestore("file:" + st.path + "?mode=ro")
		if err != nil {
			return err
		}
		for more := true; more; {
			if more, err = b.Step(-1); err != nil {
				b.Finish()
				return err
			}
		}
		return b.Finish()
	})
}

// open is a new handle on the database, for one incarnation of the node.
// openTx counts the transactions open on it; inc decides its commits (see
// incarnation.beforeCommit).
func (st *store) open(openTx *atomic.Int64, inc *incarnation) (*sql.DB, error) {
	db := sql.OpenDB(connector{st: st, openTx: openTx, inc: inc})
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", st.path, err)
	}
	return db, nil
}

// sync writes the database to its file if it changed since the last sync,
// replacing the file at once, and reports whether it did. A transaction
// that commits no change (a consumer's empty poll) is no change.
func (st *store) sync() (bool, error) {
	commits := st.commits.Load()
	if commits == st.synced {
		return false, nil
	}
	var image []byte
	err := st.raw(func(dc any) error {
		c, ok := dc.(*cachingConn).c.(interface{ Serialize() ([]byte, error) })
		if !ok {
			return errors.New("the SQLite driver cannot serialize a database")
		}
		var err error
		image, err = c.Serialize()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("write database %s: %w", st.path, err)
	}
	st.synced = commits
	sum := sha256.Sum256(image)
	if sum == st.written {
		return false, nil
	}
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, image, 0o644); err != nil {
		return false, fmt.Errorf("write database %s: %w", st.path, err)
	}
	if err := os.Rename(tmp, st.path); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("write database %s: %w", st.path, err)
	}
	st.written = sum // not the image: a database's copy held for every node would double the memory a long run needs
	return true, nil
}

// raw calls fn with the driver's connection of keep.
func (st *store) raw(fn func(dc any) error) error {
	c, err := st.keep.Conn(context.Background())
	if err != nil {
		return err
	}
	defer c.Close() // back to the pool: the connection stays open
	return c.Raw(fn)
}

// read is the store's handle for reading between steps of the world: its
// own connection (see keep).
func (st *store) read() (*sql.DB, error) { return st.keep, nil }

// close frees the memory database.
func (st *store) close() error { return st.keep.Close() }

// connector opens connections to one database for database/sql.
type connector struct {
	st     *store
	openTx *atomic.Int64 // the count of open transactions
	inc    *incarnation  // the incarnation whose handle it is; nil for the store's own
}

var sqliteDriver = &sqlite.Driver{}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	return c.Driver().Open(c.st.dsn)
}

func (c connector) Driver() driver.Driver {
	return cachingDriver{d: sqliteDriver, st: c.st, openTx: c.openTx, commits: &c.st.commits, inc: c.inc}
}

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
//
// And it counts the transactions committed on its connections, so that
// the store knows when its file is out of date, and lets the incarnation
// whose handle it is crash at its commits: see incarnation.beforeCommit.
type cachingDriver struct {
	d       *sqlite.Driver
	st      *store
	openTx  *atomic.Int64
	commits *atomic.Uint64
	inc     *incarnation
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
	hooked, ok := c.(sqlite.HookRegisterer)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("det: the SQLite driver's connection %T has no commit hook", c)
	}
	cc := &cachingConn{c: sc, stmts: map[string]*cachedStmt{}, openTx: d.openTx, inc: d.inc}
	commits, inc := d.commits, d.inc
	hooked.RegisterCommitHook(func() int32 {
		changed := cc.changed
		cc.changed = false
		if inc != nil {
			if rollback := inc.beforeCommit(changed); rollback != 0 {
				return rollback
			}
		}
		commits.Add(1)
		return 0 // let it commit
	})
	if inc != nil {
		hooked.RegisterRollbackHook(func() { cc.changed = false })
		hooked.RegisterPreUpdateHook(func(sqlite.SQLitePreUpdateData) {
			cc.changed = true
			if p := inc.n.s.cur; p != nil && p.serving != nil {
				p.serving.changed = true
			}
		})
	}
	return cc, nil
}

// maxStmts bounds a connection's cache; statements past it are not kept.
const maxStmts = 256

type cachingConn struct {
	c      sqliteConn
	stmts  map[string]*cachedStmt
	openTx *atomic.Int64
	inc    *incarnation // nil for the store's own connection
	// changed: the transaction in progress has changed a row (known on an
	// incarnation's connections only)
	changed bool
}

// errCrashedDB is what a crashed incarnation's database answers.
var errCrashedDB = fmt.Errorf("database: %w", sim.ErrCrashed)

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

// BeginTx begins a transaction with the connection's cached BEGIN, as
// the driver would with the _txlock of the DSN (BEGIN IMMEDIATE for a
// write transaction), and the transaction ends with cached statements too.
func (c *cachingConn) BeginTx(_ context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
		return nil, fmt.Errorf("det: isolation level %d is not supported", opts.Isolation)
	}
	begin := "BEGIN IMMEDIATE"
	if opts.ReadOnly {
		begin = "BEGIN"
	}
	if _, err := c.ExecContext(background, begin, nil); err != nil {
		return nil, err
	}
	c.openTx.Add(1)
	return &countedTx{c: c}, nil
}

// countedTx is a transaction; it keeps the runtime's count of open
// transactions.
type countedTx struct {
	c     *cachingConn
	ended bool
}

func (t *countedTx) end() {
	if !t.ended {
		t.ended = true
		t.c.openTx.Add(-1)
	}
}

// Commit commits, or rolls back when the commit fails, so that the
// connection is left outside any transaction either way.
func (t *countedTx) Commit() error {
	defer t.end()
	_, err := t.c.ExecContext(background, "COMMIT", nil)
	if err != nil {
		t.c.ExecContext(background, "ROLLBACK", nil) // may find no transaction left: nothing to do
	}
	return err
}

func (t *countedTx) Rollback() error {
	defer t.end()
	_, err := t.c.ExecContext(background, "ROLLBACK", nil)
	return err
}

// traceStatement, when a test sets it, is told the text of each statement
// a node's service runs, and the node's name.
var traceStatement func(node, query string)

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.inc == nil {
		return c.exec(query, args)
	}
	if traceStatement != nil {
		traceStatement(c.inc.n.name, query)
	}
	if c.inc.refuses() && query != "ROLLBACK" {
		return nil, errCrashedDB
	}
	res, err := c.exec(query, args)
	c.inc.afterStatement()
	return res, err
}

func (c *cachingConn) exec(query string, args []driver.NamedValue) (driver.Result, error) {
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
	if c.inc != nil && c.inc.refuses() {
		return nil, errCrashedDB
	}
	if c.inc != nil && traceStatement != nil {
		traceStatement(c.inc.n.name, query)
	}
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
