//go:build !race

package scenarios

// raceDetector is off: the det suite runs in full.
const raceDetector = false
