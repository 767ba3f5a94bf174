package scenarios

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is the K-th of N disjoint slices of a sweep's cells, so that one
// sweep can run on N machines at once and be merged (Merge). A cell's
// slice depends only on its id (FNV-1a of the id, modulo N): the same
// cell falls in the same shard whatever else the sweep holds, and the N
// shards together are every cell once. Slices are as even as the hash
// makes them; a small sweep can leave a shard with no cell.
type Shard struct {
	K, N int
}

// ParseShard reads a shard written K/N, K between 1 and N (2/4 is the
// second of four slices). The empty string is no shard: the whole sweep.
func ParseShard(s string) (*Shard, error) {
	if s == "" {
		return nil, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, kerr := strconv.Atoi(strings.TrimSpace(ks))
	n, nerr := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || kerr != nil || nerr != nil {
		return nil, fmt.Errorf("shard: %q is not K/N (e.g. 2/4, the second of four slices of the cells)", s)
	}
	sh := &Shard{K: k, N: n}
	return sh, sh.validate()
}

func (sh Shard) validate() error {
	switch {
	case sh.N < 1:
		return fmt.Errorf("shard: %d/%d: N is the number of slices, at least 1", sh.K, sh.N)
	case sh.K < 1 || sh.K > sh.N:
		return fmt.Errorf("shard: %d/%d: K must be between 1 and %d", sh.K, sh.N, sh.N)
	}
	return nil
}

// String is the shard written K/N.
func (sh Shard) String() string { return fmt.Sprintf("%d/%d", sh.K, sh.N) }

// Has reports whether the cell with this id is in the shard.
func (sh Shard) Has(id string) bool {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64()%uint64(sh.N)) == sh.K-1
}

// MarshalText writes the shard as K/N, in sweep.json.
func (sh Shard) MarshalText() ([]byte, error) { return []byte(sh.String()), nil }

// UnmarshalText reads a shard written K/N.
func (sh *Shard) UnmarshalText(b []byte) error {
	p, err := ParseShard(string(b))
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("shard: empty (write K/N)")
	}
	*sh = *p
	return nil
}
