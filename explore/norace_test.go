//go:build !race

package explore_test

// raceDetector is off: the suite explores its full bounds.
const raceDetector = false
