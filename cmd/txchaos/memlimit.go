package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// memBudget is the resident memory a txchaos process aims to stay under,
// what it holds outside Go's heap included (a soft limit: the collector
// lets the heap past it rather than take most of the CPU, by some tens of
// megabytes on a loaded machine): a det run's databases live in
// memory (SQLite's, not Go's), some 160 MB at 100,000 orders while the
// run goes on and none once it has stopped. A soft limit on Go's memory
// alone would have to leave them room all run long, and starve the
// checker of it once they are freed: tuneMemoryLimit moves the limit as
// they grow and go.
const memBudget = 380 << 20

// minGoLimit is the least the soft limit is set to, however much the
// process holds outside Go's heap: below it the collector would run all
// the time for little.
const minGoLimit = 160 << 20

// tunePeriod is how often tuneMemoryLimit looks at the process.
const tunePeriod = 100 * time.Millisecond

// tuneMemoryLimit sets Go's soft memory limit (debug.SetMemoryLimit) to
// memBudget less what the process holds outside Go's heap (its resident
// set less what Go has mapped and not returned), at least minGoLimit, now
// and every tunePeriod after. It reports false, setting nothing, where the
// resident set cannot be read (not Linux).
func tuneMemoryLimit() bool {
	if goLimit() < 0 {
		return false
	}
	debug.SetMemoryLimit(goLimit())
	go func() {
		for range time.Tick(tunePeriod) {
			if l := goLimit(); l > 0 {
				debug.SetMemoryLimit(l)
			}
		}
	}()
	return true
}

// goLimit is the soft limit for the process as it stands, or -1 when its
// resident set cannot be read.
func goLimit() int64 {
	rss := resident()
	if rss < 0 {
		return -1
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	mapped := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	outside := max(rss-mapped, 0)
	return max(memBudget-outside, minGoLimit)
}

// resident is the process's resident set in bytes (Linux's
// /proc/self/statm), or -1.
func resident() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}
