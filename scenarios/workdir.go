package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// workDirPrefix names the temporary directories that hold a run's
// databases (in os.TempDir) when Execute is given none.
const workDirPrefix = "txchaos-run-"

// lockFile is the file in a work directory its run holds locked while it
// lives: the lock goes with the process, however it ends.
const lockFile = ".lock"

// scratches counts the scratch directories named (scratchDir).
var scratches atomic.Int64

// scratchDir names a directory, never created, for the databases of a
// det run given none: the det runtime keeps them in memory only
// (det.Options.Scratch), by names no other run of the process uses.
func scratchDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("%sscratch-%d-%d", workDirPrefix, os.Getpid(), scratches.Add(1)))
}

// newWorkDir makes a temporary directory for one run's databases, locked
// for as long as the run lives; release unlocks and removes it. It first
// removes the work directories of runs killed before they could remove
// their own (kill -9): those whose lock no process holds. A running run's
// directory is never touched, whichever process runs it. A directory
// without a lock file (a file system without locks, a run killed between
// making its directory and locking it) is never taken for abandoned.
func newWorkDir() (dir string, release func(), err error) {
	removeAbandoned(os.TempDir())
	dir, err = os.MkdirTemp("", workDirPrefix+"*")
	if err != nil {
		return "", nil, fmt.Errorf("run directory: %w", err)
	}
	unlock := lockDir(dir)
	return dir, func() {
		os.RemoveAll(dir)
		unlock()
	}, nil
}

// lockDir gives dir a lock file, already locked: it is locked under a
// temporary name, then renamed into place, so that no other process ever
// finds it unlocked while this one lives. Where it cannot lock, dir gets
// no lock file, and is left alone by removeAbandoned.
func lockDir(dir string) (unlock func()) {
	f, err := os.CreateTemp(dir, lockFile+"-*")
	if err != nil {
		return func() {}
	}
	if tryLock(f) != nil || os.Rename(f.Name(), filepath.Join(dir, lockFile)) != nil {
		f.Close()
		return func() {}
	}
	return func() { f.Close() }
}

// removeAbandoned removes the work directories in tmp whose lock no
// process holds: their run was killed. It is best effort: what it cannot
// remove stays for the next run to try.
func removeAbandoned(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, workDirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if tryLock(f) == nil {
			os.RemoveAll(dir)
		}
		f.Close()
	}
}
