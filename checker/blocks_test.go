package checker

import (
	"bytes"
	"io"
	"testing"
)

// TestBlocks: what is written to blocks, in writes of any size, reads
// back whole, kept in blocks of blockSize bytes.
func TestBlocks(t *testing.T) {
	var want []byte
	var b blocks
	for i := 0; len(want) < 2*blockSize+blockSize/2; i++ {
		p := bytes.Repeat([]byte{byte(i)}, 1+i*7919%(blockSize/3))
		if n, err := b.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
		want = append(want, p...)
	}
	if len(b) != 3 || len(b[0]) != blockSize || len(b[1]) != blockSize {
		t.Errorf("%d bytes in %d blocks, want 3 blocks, the first two full", len(want), len(b))
	}
	got, err := io.ReadAll(b.reader())
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read back %d bytes (%v), want the %d written", len(got), err, len(want))
	}
}
