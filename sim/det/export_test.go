package det

import "testing"

// TraceStatements tells f the text of each statement a node's service
// runs, and the node's name, until the test ends.
func TraceStatements(t testing.TB, f func(node, query string)) {
	traceStatement = f
	t.Cleanup(func() { traceStatement = nil })
}

// Templates counts the databases kept for migrations to copy.
func Templates() int {
	templates.Lock()
	defer templates.Unlock()
	return len(templates.byStmts)
}
