//go:build !unix

package live

// raiseFileLimit reports no limit where the system has no RLIMIT_NOFILE.
func raiseFileLimit() (limit uint64, ok bool) { return 0, false }
