package jetstream_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a NATS server, a client connection or a
// proxy outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
