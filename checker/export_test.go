package checker

import "time"

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
