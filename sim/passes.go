package sim

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
)

// Passes is the list of sites a run passed (see Pass), in order, kept
// compact: a det run passes some thirty sites an order, millions in a
// long run, and a slice of Pass would hold each site's name in a string
// of its own. Passes keeps them in blocks of passBlock bytes, each
// compressed with flate once full (site names repeat their words and
// orders: a block compresses about tenfold), and whether each is idle in
// a bitset.
//
// The zero value is an empty list ready to use. A nil *Passes is an empty
// list too. It is not safe for concurrent use.
type Passes struct {
	full [][]byte // compressed blocks, never changed once written
	cur  []byte   // the block being filled: uncompressed entries
	idle []uint64 // bit i: pass i is idle
	n    int
	zw   *flate.Writer
}

// passBlock is how many bytes of entries a block holds before it is
// compressed: large enough to compress well, small enough that the
// block being filled is a small part of a run's memory.
const passBlock = 64 << 10

// Add appends the pass of site in slot and returns its index.
func (p *Passes) Add(site string, slot Slot) int {
	if p.cur == nil {
		p.cur = make([]byte, 0, passBlock+256)
	}
	p.cur = binary.AppendUvarint(p.cur, uint64(len(slot)))
	p.cur = append(p.cur, slot...)
	p.cur = binary.AppendUvarint(p.cur, uint64(len(site)))
	p.cur = append(p.cur, site...)
	if len(p.cur) >= passBlock {
		p.seal()
	}
	p.n++
	return p.n - 1
}

// seal compresses the block being filled into full and starts a new one.
func (p *Passes) seal() {
	var buf bytes.Buffer
	if p.zw == nil {
		p.zw, _ = flate.NewWriter(&buf, flate.BestSpeed) // a valid level: no error
	} else {
		p.zw.Reset(&buf)
	}
	p.zw.Write(p.cur) // a bytes.Buffer does not fail
	p.zw.Close()
	p.full = append(p.full, bytes.Clone(buf.Bytes()))
	p.cur = p.cur[:0]
}

// SetIdle marks pass i idle. An index out of range is ignored.
func (p *Passes) SetIdle(i int) {
	if p == nil || i < 0 || i >= p.n {
		return
	}
	for len(p.idle) <= i/64 {
		p.idle = append(p.idle, 0)
	}
	p.idle[i/64] |= 1 << (i % 64)
}

// isIdle reports whether pass i is idle.
func (p *Passes) isIdle(i int) bool {
	return i/64 < len(p.idle) && p.idle[i/64]&(1<<(i%64)) != 0
}

// Len is the number of passes.
func (p *Passes) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// Clone is a copy of p that later changes to p do not change. It shares
// p's compressed blocks, which never change.
func (p *Passes) Clone() *Passes {
	if p == nil {
		return nil
	}
	return &Passes{
		full: append([][]byte(nil), p.full...),
		cur:  append(make([]byte, 0, passBlock+256), p.cur...),
		idle: append([]uint64(nil), p.idle...),
		n:    p.n,
	}
}

// All yields every pass, in order.
func (p *Passes) All() iter.Seq[Pass] {
	return func(yield func(Pass) bool) {
		if p == nil {
			return
		}
		i := 0
		each := func(block []byte) bool {
			for len(block) > 0 {
				slot, rest := entry(block)
				site, rest := entry(rest)
				block = rest
				if !yield(Pass{Site: string(site), Slot: Slot(slot), Idle: p.isIdle(i)}) {
					return false
				}
				i++
			}
			return true
		}
		var buf []byte
		zr := flate.NewReader(bytes.NewReader(nil))
		for _, z := range p.full {
			zr.(flate.Resetter).Reset(bytes.NewReader(z), nil)
			b := bytes.NewBuffer(buf[:0])
			if _, err := io.Copy(b, zr); err != nil {
				panic(fmt.Sprintf("sim: a block of passes does not decompress: %v", err)) // written by seal: cannot happen
			}
			buf = b.Bytes()
			if !each(buf) {
				return
			}
		}
		each(p.cur)
	}
}

// entry splits the length-prefixed entry at the start of b from the rest.
func entry(b []byte) (e, rest []byte) {
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)], b[w+int(n):]
}
