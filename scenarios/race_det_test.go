//go:build race

package scenarios

// raceDetector is on: SQLite (modernc.org/sqlite is C translated to Go)
// runs about ten times slower under the race detector, so the det suite
// runs a sample of its runs; `make test` runs it in full again without
// -race.
const raceDetector = true
