package scenarios

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that runs leave nothing behind: no goroutine of a node,
// a proxy, a process or a database outlives the run that started it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
