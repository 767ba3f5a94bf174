//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package scenarios

import (
	"errors"
	"os"
)

// tryLock cannot lock a file on this system: it always fails, so that no
// work directory is taken for abandoned (they are left, as before).
func tryLock(*os.File) error { return errors.New("no file locks on this system") }
