package sim

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// OpenDB opens (creating it if needed) a node's SQLite database at path: WAL
// journal, a busy timeout, and write transactions that take the write lock
// when they begin (BEGIN IMMEDIATE), the serializable way to run SQLite.
func OpenDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return ping(path, db)
}

// dsn is the data source name of OpenDB.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// ping checks that db opens, closing it if not.
func ping(path string, db *sql.DB) (*sql.DB, error) {
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// OpenReadOnly opens a node's database for reading only, as the checker
// does after a run.
func OpenReadOnly(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Migrate runs schema statements (each must be idempotent: CREATE ... IF
// NOT EXISTS) on db.
//
// On the det runtime, a node's first migration of an empty database is
// a copy of the database the same statements made before in the process,
// when there is one: the same tables, rows and indexes, at a fraction of
// the cost (see Migrator).
func Migrate(ctx context.Context, db *sql.DB, stmts ...string) error {
	if m, ok := db.Driver().(Migrator); ok {
		return m.Migrate(stmts, func() error { return migrate(ctx, db, stmts) })
	}
	return migrate(ctx, db, stmts)
}

// Migrator is a database driver that runs a migration itself: it calls
// run, which runs the statements, or makes their result some other way.
type Migrator interface {
	Migrate(stmts []string, run func() error) error
}

func migrate(ctx context.Context, db *sql.DB, stmts []string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("schema: %w\n%s", err, s)
		}
	}
	return nil
}

// InTx runs fn in one write transaction (BEGIN IMMEDIATE) and commits it.
// Never hold a transaction across a call to another service.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed { // fn failed or panicked (a crash point): undo it
			tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return tx.Commit()
}
