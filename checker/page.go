package checker

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/txchaos/txchaos/sim"
)

// maxAnnotations caps the faults drawn on one visualization.
const maxAnnotations = 200

// Visualize writes porcupine's HTML visualization of partition p of the
// history h to w: the partition's operations on a timeline (an operation
// whose outcome is unknown is drawn open to the end), the longest
// linearizations porcupine found and where they break, and the faults of
// applied that happened while one of them was in flight, one row per link
// or node. A customer's partition (Balance) is drawn as the customer's
// orders, each against the order model, and the balance reads, each
// labelled with what it may count and illegal outside that. applied's At
// must be on h's clock (durations since the run started).
//
// Around the drawing is a page that says what it shows without it: run,
// a line naming the run it comes from (pattern, seed, runtime, faults);
// the key; what the check found in it (p.Shows), which names the
// operation that broke it; the faults on its timeline, counted; and how
// to read the drawing, which may be wider than the window. p need not
// come from the same Report: without Shows the page names no finding.
func Visualize(w io.Writer, h []Op, p Partition, applied []sim.Applied, run string) error {
	x := indexHistory(h)
	var model porcupine.Model
	var ops []porcupine.Operation
	var idx []int
	if p.Balance {
		model, ops, idx = x.customerPartition(p.Key)
	} else {
		var ok bool
		if idx, ok = x.ops[p.Key]; !ok {
			return fmt.Errorf("visualize: order key %q has no checkout or read in the history", p.Key)
		}
		model, ops = orderModel, operations(h, idx, self, true)
	}
	if len(ops) == 0 {
		return fmt.Errorf("visualize: customer %q has no balance read or order in the history", p.Key)
	}
	_, info := porcupine.CheckOperationsVerbose(model, ops, linTimeout)
	notes := annotations(h, idx, applied)
	info.AddAnnotations(notes)
	var drawing bytes.Buffer
	if err := porcupine.Visualize(model, info, &drawing); err != nil {
		return fmt.Errorf("visualize %s: %w", p.Key, err)
	}
	_, err := w.Write(withHeading(drawing.Bytes(), heading(p, run, len(ops), notes)))
	return err
}

// annotations are the faults of applied that happened while an operation
// of h at idx was in flight, from its call to its return (the client's
// timeout, for an outcome it never learned), leaving out requests for
// another order's URL: at most maxAnnotations, the earliest.
func annotations(h []Op, idx []int, applied []sim.Applied) []porcupine.Annotation {
	keys := map[string]bool{}
	for _, i := range idx {
		keys[h[i].Key] = true
	}
	var out []porcupine.Annotation
	for _, a := range applied {
		if len(out) == maxAnnotations {
			break
		}
		if !slices.ContainsFunc(idx, func(i int) bool { return h[i].Call <= a.At && a.At <= max(h[i].Return, h[i].Call) }) {
			continue
		}
		if _, key, ok := strings.Cut(a.Detail, "/orders/"); ok && !keys[key] {
			continue
		}
		ann := porcupine.Annotation{
			Tag:         a.Target,
			Start:       int64(a.At),
			Description: a.Fault,
			Details:     strings.TrimSpace(fmt.Sprintf("%s %s at %s %s", a.Fault, a.Target, at(a.At), a.Detail)),
		}
		switch a.Fault {
		case "crash", "crash-point":
			ann.BackgroundColor = "#f4b6b6"
		case "restart":
			ann.BackgroundColor = "#b6e3b6"
		default:
			ann.BackgroundColor = "#f6dfa4"
		}
		out = append(out, ann)
	}
	return out
}

// heading is the page's text above porcupine's drawing: what the
// partition is, the run, what broke, the faults on its timeline and how to
// read the drawing.
func heading(p Partition, run string, ops int, notes []porcupine.Annotation) string {
	var b strings.Builder
	what := "Order " + p.Key
	if p.Balance {
		what = "Customer " + p.Key + "'s balance"
	}
	var classes []string
	for _, s := range p.Shows {
		if c, _, ok := strings.Cut(s, ": "); ok && !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	title := what
	if len(classes) > 0 {
		title += ": " + strings.Join(classes, ", ")
	}
	e := html.EscapeString
	fmt.Fprintf(&b, "<header id=\"txchaos-heading\">\n<h1>%s</h1>\n", e(title))
	if run != "" {
		fmt.Fprintf(&b, "<p class=\"run\">%s</p>\n", e(run))
	}
	if len(p.Shows) > 0 {
		b.WriteString("<h2>What broke</h2>\n<ul>\n")
		for _, s := range p.Shows {
			c, ex, _ := strings.Cut(s, ": ")
			fmt.Fprintf(&b, "<li><b>%s</b>: %s</li>\n", e(c), e(ex))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("<h2>Faults on its timeline</h2>\n")
	if len(notes) == 0 {
		b.WriteString("<p>None: no fault was applied while one of its operations was in flight.</p>\n")
	} else {
		type tally struct {
			what        string
			n           int
			first, last int64
		}
		var ts []*tally
		for _, a := range notes {
			what := a.Description + " " + a.Tag
			i := slices.IndexFunc(ts, func(t *tally) bool { return t.what == what })
			if i < 0 {
				ts = append(ts, &tally{what: what, first: a.Start})
				i = len(ts) - 1
			}
			ts[i].n++
			ts[i].last = a.Start
		}
		capped := ""
		if len(notes) == maxAnnotations {
			capped = fmt.Sprintf(" (the first %d)", maxAnnotations)
		}
		fmt.Fprintf(&b, "<p>%d faults while one of its operations was in flight%s, drawn below the clients as a row per link or node:</p>\n<ul>\n", len(notes), capped)
		for _, t := range ts {
			when := "at " + at(time.Duration(t.first))
			if t.n > 1 {
				when = fmt.Sprintf("×%d, from %s to %s", t.n, at(time.Duration(t.first)), at(time.Duration(t.last)))
			}
			fmt.Fprintf(&b, "<li>%s %s</li>\n", e(t.what), e(when))
		}
		b.WriteString("</ul>\n")
	}
	fmt.Fprintf(&b, "<p class=\"how\">How to read the drawing: a row per client, then a row per link or node that a fault hit; "+
		"each box is one of its %d operations, from its call to its return, labelled with what it answered (an outcome the client never learned is drawn open to the end). "+
		"Porcupine looked for an order of the operations that the order model allows: the longest it found is drawn in black and its next, impossible step in red. "+
		"Point at a box for its times and details. The drawing may be wider than the window: scroll right, or use “jump to first error”.</p>\n</header>\n", ops)
	return b.String()
}

// headingStyle places the heading above porcupine's drawing and its
// legend (which porcupine fixes to the window's corner).
const headingStyle = `<style>
#txchaos-heading { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; max-width: 1200px; margin: 8px 10px 12px; color: #1a1a1a; }
#txchaos-heading h1 { font-size: 22px; margin: 4px 0; }
#txchaos-heading h2 { font-size: 16px; margin: 12px 0 4px; }
#txchaos-heading ul { margin: 4px 0; }
#txchaos-heading .run, #txchaos-heading .how { color: #444; }
#legend { position: static; margin: 0 10px; }
#legend svg { overflow: visible; }
#canvas { margin-top: 8px; }
</style>
`

// withHeading puts the heading and its style into porcupine's page: the
// style at the end of its head, the heading at the start of its body.
func withHeading(page []byte, heading string) []byte {
	s := string(page)
	if i := strings.Index(s, "</head>"); i >= 0 {
		s = s[:i] + headingStyle + s[i:]
	} else {
		s = headingStyle + s
	}
	if i := strings.Index(s, "<body>"); i >= 0 {
		i += len("<body>")
		s = s[:i] + "\n" + heading + s[i:]
	} else {
		s = heading + s
	}
	return []byte(s)
}

// Partition is a part of the client history that the non-linearizable
// check found not linearizable, or could not judge in time: the checkouts
// and reads of one order key, or the balance reads of one customer with
// the orders they count. Visualize draws it.
type Partition struct {
	// Key is the order's key, or the customer when Balance is set.
	Key string `json:"key"`
	// Balance marks a customer's partition: a balance read at rest that
	// disagrees with what the clients were told about the customer's
	// orders.
	Balance bool `json:"balance,omitempty"`
	// Verdict is VerdictAnomalies when no linearization exists and
	// VerdictUnknown when porcupine's search timed out.
	Verdict Verdict `json:"verdict"`
	// File is the name of the partition's visualization beside the run's
	// record: history-<key>.html, or history-customer-<key>.html for a
	// balance (characters other than letters, digits, '.', '_' and '-'
	// become '_').
	File string `json:"file"`
	// Shows is what the check found in it, one line per anomaly, each
	// "CLASS: example" (at most MaxExamples): the visualization's heading
	// says it.
	Shows []string `json:"shows,omitempty"`
}

// show adds a finding of class c to the partition.
func (p *Partition) show(c Class, example string) {
	if len(p.Shows) < MaxExamples {
		p.Shows = append(p.Shows, string(c)+": "+example)
	}
}

// fileName is prefix + key + ".html" with every character of key other
// than a letter, a digit, '.', '_' and '-' replaced by '_'.
func fileName(prefix, key string) string {
	b := []byte(key)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return prefix + string(b) + ".html"
}

// describe is one line for op in a visualization: what was asked and what
// the client learned.
func describe(op *Op) string {
	name := op.Kind
	switch op.Kind {
	case KindCheckout:
		name = fmt.Sprintf("checkout#%d", op.Attempt)
	case KindBalance:
		name = "balance " + op.Key
	}
	switch {
	case op.Outcome == OutcomeUnknown:
		return name + " → unknown"
	case op.Kind == KindBalance:
		return fmt.Sprintf("%s → %d", name, op.Points)
	case op.Outcome == OutcomeRejected:
		return name + " → rejected"
	}
	return name + " → " + op.State
}

// metadata is the tooltip of op in a visualization: who, when, and why.
func metadata(op *Op) string {
	s := fmt.Sprintf("%s %s · client %d · called %s · returned %s", keyNoun(op), op.Key, op.Client, at(op.Call), at(op.Return))
	if open(op) {
		s += " (outcome unknown: drawn open to the end)"
	}
	if op.Reason != "" {
		s += " · " + op.Reason
	}
	return s
}

// keyNoun names what op's Key is.
func keyNoun(op *Op) string {
	if op.Kind == KindBalance {
		return "customer"
	}
	return "order"
}

func at(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
