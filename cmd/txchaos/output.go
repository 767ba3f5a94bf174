package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// checkOutDir refuses, as bad input naming flag, an output directory that
// cannot be written: a command checks its output before its first run,
// so that no run's result is lost for want of a place to put it. dir need
// not exist; nothing is left behind: the check creates no directory and
// removes the file it writes.
func checkOutDir(flag, dir string) error {
	if err := writable(dir); err != nil {
		return usageError("--%s: %s cannot be written: %v (give a directory txchaos can create or write into)", flag, dir, err)
	}
	return nil
}

// checkOutFile is checkOutDir for an output file: its directory must be
// writable, and the file must not be a directory.
func checkOutFile(flag, file string) error {
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return usageError("--%s: %s is a directory, not a file", flag, file)
	}
	if err := writable(filepath.Dir(file)); err != nil {
		return usageError("--%s: %s cannot be written: %v (give a file in a directory txchaos can create or write into)", flag, file, err)
	}
	return nil
}

// writable reports why files cannot be written under dir: the nearest of
// dir and its parents that exists must be a directory a probe file can be
// written into (MkdirAll can then make the rest).
func writable(dir string) error {
	at := filepath.Clean(dir)
	for {
		st, err := os.Stat(at)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", at)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return err
		}
		parent := filepath.Dir(at)
		if parent == at {
			return err
		}
		at = parent
	}
	f, err := os.CreateTemp(at, ".txchaos-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
