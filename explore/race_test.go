//go:build race

package explore_test

// raceDetector is on: SQLite (modernc.org/sqlite is C translated to Go)
// runs about ten times slower under the race detector, so the suite
// explores smaller bounds.
const raceDetector = true
