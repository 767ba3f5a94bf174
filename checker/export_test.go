package checker

import (
	"time"

	"github.com/anishathalye/porcupine"
)

// SetLinTimeout sets porcupine's timeout per partition for a test and
// returns a function that restores it.
func SetLinTimeout(d time.Duration) (restore func()) {
	old := linTimeout
	linTimeout = d
	return func() { linTimeout = old }
}

// SetFastPath turns the call-order fast path of the non-linearizable
// check on or off for a test and returns a function that restores it.
func SetFastPath(on bool) (restore func()) {
	old := fastPath
	fastPath = on
	return func() { fastPath = old }
}

// Linearizes reports whether porcupine finds a linearization of every
// operation of h, taken as one order key's, under the order model.
func Linearizes(h []Op) bool {
	idx := make([]int, len(h))
	for i := range idx {
		idx[i] = i
	}
	return porcupine.CheckOperations(orderModel, operations(h, idx, self, false))
}

// WatchQueries are a Watch's questions by node.
func WatchQueries() map[string][]string { return watchQueries() }
