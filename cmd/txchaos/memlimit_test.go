package main

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGoLimit: the soft limit leaves room for what the process holds
// outside Go's heap: 64 MiB mapped and written outside it (as SQLite's
// memory databases are) lower the limit by about as much.
func TestGoLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the resident set is read on Linux only")
	}
	before := goLimit()
	require.GreaterOrEqual(t, before, int64(minGoLimit))
	require.LessOrEqual(t, before, int64(memBudget))
	const size = 64 << 20
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	for i := 0; i < size; i += 4096 {
		mem[i] = 1
	}
	after := goLimit()
	require.GreaterOrEqual(t, before-size/2, int64(minGoLimit), "the test process holds little outside Go's heap: the limit is far above its floor")
	require.Less(t, after, before-size/2, "64 MiB held outside Go's heap: the limit went from %d to %d MiB", before>>20, after>>20)
	require.Greater(t, after, before-size-size/2)
}
