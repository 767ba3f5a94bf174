package det_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// TestMigrateCopiesTemplate: a second migration of an empty database by
// the same statements copies the database the first made, and the copy
// has the same schema and works as the original.
func TestMigrateCopiesTemplate(t *testing.T) {
	// A schema of this test's own, so that no other test made it before.
	schema := []string{
		`CREATE TABLE IF NOT EXISTS template_test (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`,
		`CREATE INDEX IF NOT EXISTS template_test_name ON template_test(name)`,
	}
	svc := sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) {
		return http.NewServeMux(), sim.Migrate(n.Context(), n.DB(), schema...)
	})
	w := sim.World{Services: map[string]sim.Service{sim.Orders: svc}}
	schemaOf := func(r *det.Runtime) string {
		db, err := r.Reader(sim.Orders)
		require.NoError(t, err)
		rows, err := db.Query(`SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY name`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var typ, name, sql string
			require.NoError(t, rows.Scan(&typ, &name, &sql))
			out = append(out, typ+" "+name+" "+sql)
		}
		require.NoError(t, rows.Err())
		return strings.Join(out, "\n")
	}
	before := det.Templates()
	first := start(t, w, 1)
	require.Equal(t, before+1, det.Templates(), "the first migration keeps a copy")
	second := start(t, w, 2)
	require.Equal(t, before+1, det.Templates(), "the second copies it")
	require.Contains(t, schemaOf(second), "template_test_name")
	require.Equal(t, schemaOf(first), schemaOf(second))

	db := second.Node(sim.Orders).DB()
	err := second.Main(context.Background(), func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, `INSERT INTO template_test(name) VALUES ('a')`)
		return err
	})
	require.NoError(t, err)
	reader, err := second.Reader(sim.Orders)
	require.NoError(t, err)
	var n int
	require.NoError(t, reader.QueryRow(`SELECT COUNT(*) FROM template_test WHERE name = 'a'`).Scan(&n))
	require.Equal(t, 1, n)
	_, err = reader.Exec(`INSERT INTO template_test(name) VALUES ('a')`)
	require.ErrorContains(t, err, "UNIQUE", "the copy keeps the constraints")
}
