package det

import "testing"

// TraceStatements tells f the text of each statement a node's service
// runs, and the node's name, until the test ends.
func TraceStatements(t testing.TB, f func(node, query string)) {
	traceStatement = f
	t.Cleanup(func() { traceStatement = nil })
}
