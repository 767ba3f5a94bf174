package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// TestWriteAnomaliesTellsWitnesses checks that the scorecard prints, under
// the table, the story of each class's first example, once per subject,
// and cuts a long one short.
func TestWriteAnomaliesTellsWitnesses(t *testing.T) {
	// Order o1 failed, but its charge is held (a leak, a partial commit,
	// money not conserved); order o2's charge was made twenty times.
	s := &checker.State{
		Orders: []checker.OrderRow{
			{Key: "o1", Customer: "c1", Amount: 10, State: sim.OrderFailed},
			{Key: "o2", Customer: "c2", Amount: 5, State: sim.OrderFailed},
		},
		Resources: map[string][]checker.ResourceRow{sim.Payments: {{ID: 1, Order: "o1", Customer: "c1", Amount: 10, State: sim.ResourceActive}}},
		Log:       map[string][]checker.LogRow{sim.Payments: {{Seq: 1, Op: "create", ResourceID: 1, Order: "o1", Outcome: "created"}}},
	}
	for i := range 20 {
		s.Resources[sim.Payments] = append(s.Resources[sim.Payments], checker.ResourceRow{ID: int64(i + 2), Order: "o2", Customer: "c2", Amount: 5, State: sim.ResourceCancelled, Cancels: 1})
		s.Log[sim.Payments] = append(s.Log[sim.Payments], checker.LogRow{Seq: int64(i + 2), Op: "create", ResourceID: int64(i + 2), Order: "o2", Outcome: "created"})
	}
	h := []checker.Op{{Client: 3, Kind: checker.KindCheckout, Key: "o1", Attempt: 1, Outcome: checker.OutcomeRejected, Reason: "card_declined", Return: 5e6}}
	rep := checker.Check(h, s, checker.Linearizable)
	var out bytes.Buffer
	writeAnomalies(&out, rep)
	got := out.String()

	require.Regexp(t, `\nleaked-resource +1 +payments charge 1 for order o1: order failed\n`, got)
	witnesses := got[strings.Index(got, "\nwitnesses"):]
	require.Contains(t, witnesses, "  leaked-resource: order o1\n    client 3: checkout attempt 1 0s→5ms: rejected (card_declined)\n")
	require.Regexp(t, `\n    orders: order o1 customer c1 .*: failed\n`, witnesses)
	require.Contains(t, witnesses, "    payments: charge 1 for order o1 amount 10: active\n")
	require.Contains(t, witnesses, "  partial-commit: order o1, as told for leaked-resource\n")
	require.Contains(t, witnesses, "  not-conserved: customer c1\n")
	require.Equal(t, 1, strings.Count(witnesses, "orders: order o1 customer"), "one story per subject")
	require.NotContains(t, witnesses, "hanging-action", "no witness for a class without anomalies")
}

// TestWriteAnomaliesCutsLongStories checks that a story longer than
// maxWitnessLines is cut, saying how much is left in the record.
func TestWriteAnomaliesCutsLongStories(t *testing.T) {
	s := &checker.State{Orders: []checker.OrderRow{{Key: "o2", Customer: "c2", State: sim.OrderPending}}}
	var h []checker.Op
	for i := range 30 {
		h = append(h, checker.Op{Client: 1, Kind: checker.KindGet, Key: "o2", Outcome: checker.OutcomeOK, State: sim.OrderPending, Call: 0, Return: time.Duration(i) * time.Millisecond})
	}
	rep := checker.Check(h, s, checker.Linearizable)
	require.Positive(t, rep.Anomalies[checker.Stuck].Count)
	var out bytes.Buffer
	writeWitnesses(&out, rep)
	require.Contains(t, out.String(), "  stuck: order o2\n")
	story := rep.Anomalies[checker.Stuck].Witness.Story
	require.Greater(t, len(story), maxWitnessLines)
	require.Contains(t, out.String(), fmt.Sprintf("    … %d more lines in the record\n", len(story)-maxWitnessLines))
}

// TestStoryLinesKeepCitedRows checks that the terminal shows the log rows
// an example cites even when they lie past the lines it has room for.
func TestStoryLinesKeepCitedRows(t *testing.T) {
	var story []string
	for i := 1; i <= 40; i++ {
		story = append(story, fmt.Sprintf("inventory log seq %d: create → created (reservation %d)", i, i))
	}
	keep := storyLines(story, "inventory reservation 38 for order o1: created at log seq 38, after its cancel at seq 35 (not-found), and still held")
	require.Len(t, keep, maxWitnessLines)
	require.True(t, keep[34] && keep[37], "seq 35 and seq 38 are cited")
	require.True(t, keep[0] && keep[maxWitnessLines-3], "the first lines fill the rest")
	require.False(t, keep[maxWitnessLines-2])
	require.Len(t, storyLines(story[:5], "no seq cited"), 5)
}
