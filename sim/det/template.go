package det

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"modernc.org/sqlite"

	"github.com/txchaos/txchaos/sim"
)

// templates are the databases that migrations of empty databases made in
// this process, by their statements: a node's first migration of its
// empty database copies one (SQLite's backup API) rather than run the
// statements again, since the same statements on an empty database make
// the same database. It saves parsing and running the schema's statements
// for every node of every run, a good part of a small run's cost.
var templates struct {
	sync.Mutex
	byStmts map[string]*template
}

// maxTemplates bounds templates; migrations past it run their statements.
const maxTemplates = 64

// template is a memory database held open by a connection of its own.
type template struct {
	uri  string
	keep driver.Conn
}

var _ sim.Migrator = cachingDriver{}

// Migrate implements sim.Migrator: on an incarnation's handle on an empty
// database, it copies the database the same statements made before, or
// runs them and keeps a copy of what they made; else it runs them.
func (d cachingDriver) Migrate(stmts []string, run func() error) error {
	st := d.st
	if d.inc == nil || d.inc.down || d.inc.h != nil || st.loaded || st.commits.Load() != 0 || traceStatement != nil {
		return run() // not a starting service on an empty database (or a test watches every statement)
	}
	key := strings.Join(stmts, "\x00")
	templates.Lock()
	t := templates.byStmts[key]
	full := len(templates.byStmts) >= maxTemplates
	templates.Unlock()
	if t != nil {
		if err := st.restore(t.uri); err != nil {
			return fmt.Errorf("schema: copy the database the statements made before: %w", err)
		}
		st.commits.Add(1) // a change, for sync
		return nil
	}
	if err := run(); err != nil || full {
		return err
	}
	t, err := st.snapshot()
	if err != nil {
		return nil // the migration ran: a copy is only an optimization
	}
	templates.Lock()
	defer templates.Unlock()
	if templates.byStmts == nil {
		templates.byStmts = map[string]*template{}
	}
	if templates.byStmts[key] == nil && len(templates.byStmts) < maxTemplates {
		templates.byStmts[key] = t
	} else {
		t.keep.Close()
	}
	return nil
}

// restore replaces the store's database with a copy of the one at uri.
func (st *store) restore(uri string) error {
	return st.raw(func(dc any) error {
		c, ok := dc.(*cachingConn).c.(interface {
			NewRestore(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver cannot restore a backup")
		}
		b, err := c.NewRestore(uri)
		if err != nil {
			return err
		}
		return step(b)
	})
}

// snapshot copies the store's database into a new template.
func (st *store) snapshot() (*template, error) {
	templates.Lock()
	n := len(templates.byStmts)
	templates.Unlock()
	uri := fmt.Sprintf("file:/txchaos-det-template-%d-%d-%p?vfs=memdb", os.Getpid(), n, st)
	keep, err := sqliteDriver.Open(uri)
	if err != nil {
		return nil, err
	}
	err = st.raw(func(dc any) error {
		c, ok := dc.(*cachingConn).c.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver cannot make a backup")
		}
		b, err := c.NewBackup(uri)
		if err != nil {
			return err
		}
		return step(b)
	})
	if err != nil {
		keep.Close()
		return nil, err
	}
	return &template{uri: uri, keep: keep}, nil
}

// step runs a backup to its end.
func step(b *sqlite.Backup) error {
	for more := true; more; {
		var err error
		if more, err = b.Step(-1); err != nil {
			b.Finish()
			return err
		}
	}
	return b.Finish()
}
