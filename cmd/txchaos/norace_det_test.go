//go:build !race

package main

// raceDetector is off: det tests run in full.
const raceDetector = false
