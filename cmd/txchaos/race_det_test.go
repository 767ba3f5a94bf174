//go:build race

package main

// raceDetector is on: the det runtime's SQLite runs about ten times slower
// under the race detector, so det tests run a sample; `make test` runs
// them in full again without -race.
const raceDetector = true
