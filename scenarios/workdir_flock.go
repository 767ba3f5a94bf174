//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package scenarios

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive lock on f without waiting: an error when
// another open file holds it. The system releases it when the process
// ends, killed or not.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
