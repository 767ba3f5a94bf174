package sim

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPasses: a list of passes yields what was added, in order, with the
// idle marks, across many compressed blocks; it holds far fewer bytes than
// the sites' names; a clone does not see later changes.
func TestPasses(t *testing.T) {
	var p Passes
	var want []Pass
	names := 0
	slots := []Slot{SlotNet, SlotServe, SlotCommit, SlotVisit, SlotDelay}
	for i := range 50_000 {
		site := RequestSite(Link{From: Orders, To: Payments}, fmt.Sprintf("o%06d", i/3+1), uint64(i%3+1))
		if i%7 == 0 {
			site = CommitSite(Broker, "", uint64(i))
		}
		require.Equal(t, i, p.Add(site, slots[i%len(slots)]))
		want = append(want, Pass{Site: site, Slot: slots[i%len(slots)]})
		names += len(site)
		if i%5 == 0 {
			p.SetIdle(i)
			want[i].Idle = true
		}
	}
	p.SetIdle(-1) // out of range: ignored
	p.SetIdle(p.Len())
	require.Equal(t, len(want), p.Len())
	require.Equal(t, want, slices.Collect(p.All()))
	require.Greater(t, len(p.full), 10, "several blocks")
	held := len(p.cur)
	for _, b := range p.full {
		held += len(b)
	}
	require.Less(t, held, names/4, "compressed")

	c := p.Clone()
	p.Add("request 1 on client->orders", SlotNet)
	p.SetIdle(1)
	require.Equal(t, want, slices.Collect(c.All()), "the clone is unchanged")
	require.Equal(t, len(want)+1, p.Len())

	n := 0
	for range p.All() {
		if n++; n == 10 {
			break
		}
	}
	require.Equal(t, 10, n, "All stops when asked")

	var none *Passes
	require.Zero(t, none.Len())
	require.Empty(t, slices.Collect(none.All()))
	require.Nil(t, none.Clone())
	none.SetIdle(0)
}
