package faults

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Schedule is an explicit list of faults: each fault at a named site of a
// det run (see sim.RequestSite, VisitSite and CommitSite for how sites are
// named and numbered), or at a moment. Where
// a profile's rates draw faults at random, a schedule names every fault
// the run gets; a det run records the schedule it got, so that the run
// can be replayed, cut down fault by fault (shrink) or extended
// (exhaustive exploration).
//
// Its text is one fault per line, "SITE: FAULT" or "at MOMENT: FAULT";
// "#" starts a comment and blank lines are ignored:
//
//	request 1 of o000001 on orders->payments: lost-response
//	request 2 of o000001 on client->orders: late 3s
//	copy of request 1 of o000001 on orders->payments: crash after
//	visit 1 of after-local-commit at orders for o000001: crashpoint
//	commit 2 of payments for o000001: crash-commit before
//	commit 4 of rewards: crash-commit after
//	at 1.25s: kill payments
//	at 300ms: partition orders->payments for 200ms
//
// At a request site: drop-request (never delivered), lost-response
// (handled, the answer lost), late [DELAY] (delivered DELAY after it was
// sent, by default just after the caller gave up), duplicate [DELAY]
// (delivered twice, the copy DELAY after the first was sent), reorder
// [HOLD] (held until a later request on its link is answered, HOLD at
// most), latency DURATION, and at its target error (a transient 503),
// crash before or crash after (the target crashes before or after
// handling it). At a visit: crashpoint. At a commit: crash-commit before
// (rolled back) or after. A moment counts from the run's start: kill NODE
// (restarts 200ms later), partition LINK for DURATION. A request site
// holds one network fault (drop-request, lost-response, late, duplicate,
// reorder), one latency and one fault of its target.
type Schedule []Entry

// Entry is one fault of a schedule: a decision at a site, or a timed fault
// (Moment not nil).
type Entry struct {
	Decision sim.Decision
	Moment   *Moment
}

// Moment is a fault at a moment of the run, as the nemesis orders it.
type Moment struct {
	// At is the moment, since the run's start.
	At time.Duration
	// Fault is "kill" or "partition".
	Fault string
	// Node is the node a kill crashes.
	Node string
	// Link is the link a partition cuts, and For how long.
	Link sim.Link
	For  time.Duration
}

// Moment faults.
const (
	MomentKill      = "kill"
	MomentPartition = "partition"
)

// String is the moment as a schedule line.
func (m Moment) String() string {
	if m.Fault == MomentPartition {
		return fmt.Sprintf("at %s: partition %s for %s", m.At, m.Link, m.For)
	}
	return fmt.Sprintf("at %s: kill %s", m.At, m.Node)
}

// String is the entry as a schedule line, without a comment.
func (e Entry) String() string {
	if e.Moment != nil {
		return e.Moment.String()
	}
	d := e.Decision
	line := d.Site + ": " + d.Fault
	switch d.Fault {
	case sim.FaultCrash, sim.FaultCrashCommit:
		if d.After {
			line += " after"
		} else {
			line += " before"
		}
	case sim.FaultLatency, sim.FaultLate, sim.FaultDuplicate, sim.FaultReorder:
		if d.Delay != 0 {
			line += " " + d.Delay.String()
		}
	}
	return line
}

// Note is what a runtime recorded about a decision it took, as a comment:
// when and on what; "" for a line of a schedule as written.
func (e Entry) Note() string {
	if e.Moment != nil || (e.Decision.At == 0 && e.Decision.Detail == "") {
		return ""
	}
	note := "at " + e.Decision.At.String()
	if e.Decision.Detail != "" {
		note += ": " + e.Decision.Detail
	}
	return note
}

// Lines is the schedule one entry a line, with each entry's note as a
// comment when notes is set.
func (s Schedule) Lines(notes bool) []string {
	out := make([]string, len(s))
	for i, e := range s {
		out[i] = e.String()
		if n := e.Note(); notes && n != "" {
			out[i] += "  # " + n
		}
	}
	return out
}

// String is the schedule's text, one entry a line, without notes.
func (s Schedule) String() string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s.Lines(false), "\n") + "\n"
}

// Decisions are the schedule's faults at sites, in order.
func (s Schedule) Decisions() []sim.Decision {
	var out []sim.Decision
	for _, e := range s {
		if e.Moment == nil {
			out = append(out, e.Decision)
		}
	}
	return out
}

// Moments are the schedule's timed faults, in order.
func (s Schedule) Moments() []Moment {
	var out []Moment
	for _, e := range s {
		if e.Moment != nil {
			out = append(out, *e.Moment)
		}
	}
	return out
}

// Recorded is the schedule a run applied: the decisions a runtime took at
// sites and the moments its nemesis acted at, in the order of their times
// (a moment counts from the run's start, as the decisions' At must).
func Recorded(decisions []sim.Decision, moments []Moment) Schedule {
	var s Schedule
	for _, d := range decisions {
		s = append(s, Entry{Decision: d})
	}
	for _, m := range moments {
		s = append(s, Entry{Moment: &m})
	}
	slices.SortStableFunc(s, func(a, b Entry) int { return cmpDuration(a.at(), b.at()) })
	return s
}

func (e Entry) at() time.Duration {
	if e.Moment != nil {
		return e.Moment.At
	}
	return e.Decision.At
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParseSchedule reads a schedule's text (see Schedule). Errors name the
// line, what it says and what is allowed.
func ParseSchedule(text string) (Schedule, error) {
	var s Schedule
	for n, raw := range strings.Split(text, "\n") {
		line, _, _ := strings.Cut(raw, "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("schedule line %d %q: %w", n+1, line, err)
		}
		s = append(s, e)
	}
	if err := s.slotsOnce(); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseScheduleLines is ParseSchedule of lines, one entry each.
func ParseScheduleLines(lines []string) (Schedule, error) {
	return ParseSchedule(strings.Join(lines, "\n"))
}

// siteFaults lists, per kind of site, the faults allowed there.
const (
	requestFaults = "drop-request, lost-response, late [DELAY], duplicate [DELAY], reorder [HOLD], latency DURATION, error, crash before, crash after"
	copyFaults    = "error, crash before, crash after"
)

// parseEntry reads one line: "SITE: FAULT [ARG]" or "at MOMENT: FAULT".
func parseEntry(line string) (Entry, error) {
	site, fault, ok := strings.Cut(line, ":")
	if !ok {
		return Entry{}, fmt.Errorf("want SITE: FAULT, e.g. \"request 1 of o000001 on orders->payments: lost-response\", or at MOMENT: FAULT, e.g. \"at 1.5s: kill payments\"")
	}
	site, words := strings.TrimSpace(site), strings.Fields(fault)
	if len(words) == 0 {
		return Entry{}, fmt.Errorf("names no fault after the colon")
	}
	if at, ok := strings.CutPrefix(site, "at "); ok {
		return parseMoment(strings.TrimSpace(at), words)
	}
	kind, err := siteKind(site)
	if err != nil {
		return Entry{}, err
	}
	d := sim.Decision{Site: site, Fault: words[0]}
	args := words[1:]
	var allowed string
	switch kind {
	case "request":
		allowed = requestFaults
	case "copy":
		allowed = copyFaults
	case "visit":
		allowed = "crashpoint"
	case "commit":
		allowed = "crash-commit before, crash-commit after"
	}
	slot, isSite := sim.SlotOf(d.Fault)
	fits := isSite && (kind == "request" && (slot == sim.SlotNet || slot == sim.SlotDelay || slot == sim.SlotServe) ||
		kind == "copy" && slot == sim.SlotServe || kind == "visit" && slot == sim.SlotVisit || kind == "commit" && slot == sim.SlotCommit)
	if !fits {
		return Entry{}, fmt.Errorf("%q is not a fault at a %s site (allowed: %s)", d.Fault, kind, allowed)
	}
	switch d.Fault {
	case sim.FaultCrash, sim.FaultCrashCommit:
		if len(args) != 1 || (args[0] != "before" && args[0] != "after") {
			return Entry{}, fmt.Errorf("%s takes before or after, e.g. %q", d.Fault, d.Fault+" after")
		}
		d.After, args = args[0] == "after", nil
	case sim.FaultLatency:
		if len(args) != 1 {
			return Entry{}, fmt.Errorf("latency takes a duration, e.g. \"latency 20ms\"")
		}
		fallthrough
	case sim.FaultLate, sim.FaultDuplicate, sim.FaultReorder:
		if len(args) == 1 {
			delay, err := parseDuration(args[0])
			if err != nil {
				return Entry{}, err
			}
			d.Delay, args = delay, nil
		}
	}
	if len(args) > 0 {
		return Entry{}, fmt.Errorf("%s: unexpected %q (allowed: %s)", d.Fault, strings.Join(args, " "), allowed)
	}
	return Entry{Decision: d}, nil
}

// siteKind checks a site's name and says what it names: request, copy,
// visit or commit.
func siteKind(site string) (string, error) {
	const want = "want a site: request K of ORDER on FROM->TO, request K on FROM->TO, copy of request ..., " +
		"visit M of POINT at NODE [for ORDER], commit N of NODE [for ORDER]"
	kind := "request"
	if rest, ok := strings.CutPrefix(site, "copy of "); ok {
		kind, site = "copy", rest
	}
	w := strings.Fields(site)
	num := func(s string) bool {
		k, err := strconv.ParseUint(s, 10, 64)
		return err == nil && k >= 1 && strconv.FormatUint(k, 10) == s
	}
	link := func(s string) bool {
		from, to, ok := strings.Cut(s, "->")
		return ok && from != "" && to != ""
	}
	// forOrder: the words from i on are nothing, or "for ORDER".
	forOrder := func(i int) bool { return len(w) == i || len(w) == i+2 && w[i] == "for" }
	switch {
	case len(w) >= 4 && w[0] == "request" && num(w[1]):
		if len(w) == 4 && w[2] == "on" && link(w[3]) || len(w) == 6 && w[2] == "of" && w[4] == "on" && link(w[5]) {
			return kind, nil
		}
	case kind == "request" && len(w) >= 6 && w[0] == "visit" && num(w[1]) && w[2] == "of" && w[4] == "at" && forOrder(6):
		return "visit", nil
	case kind == "request" && len(w) >= 4 && w[0] == "commit" && num(w[1]) && w[2] == "of" && forOrder(4):
		return "commit", nil
	}
	return "", fmt.Errorf("%q is not a site (%s)", site, want)
}

// parseMoment reads "kill NODE" or "partition LINK for DURATION" at at.
func parseMoment(at string, words []string) (Entry, error) {
	d, err := time.ParseDuration(at)
	if err != nil || d < 0 {
		return Entry{}, fmt.Errorf("moment %q is not a duration since the run's start, such as 1.5s", at)
	}
	m := Moment{At: d, Fault: words[0]}
	switch {
	case m.Fault == MomentKill && len(words) == 2:
		m.Node = words[1]
	case m.Fault == MomentPartition && len(words) == 4 && words[2] == "for":
		l, err := parseLink(words[1])
		if err != nil {
			return Entry{}, err
		}
		if m.For, err = parseDuration(words[3]); err != nil {
			return Entry{}, err
		}
		m.Link = *l
	default:
		return Entry{}, fmt.Errorf("%q is not a fault at a moment (allowed: kill NODE, partition LINK for DURATION)", strings.Join(words, " "))
	}
	return Entry{Moment: &m}, nil
}

// slotsOnce refuses two decisions in one slot of one site.
func (s Schedule) slotsOnce() error {
	seen := map[[2]string]string{}
	for _, e := range s {
		if e.Moment != nil {
			continue
		}
		d := e.Decision
		k := [2]string{d.Site, string(d.Slot())}
		if prev, dup := seen[k]; dup {
			return fmt.Errorf("schedule: %s: %q and %q both decide its %s: a site holds one network fault, one latency and one fault of its target", d.Site, prev, e.String(), d.Slot())
		}
		seen[k] = e.String()
	}
	return nil
}

// Validate checks the schedule against a world: its links and nodes, and
// the crash points of the pattern.
func (s Schedule) Validate(links []sim.Link, nodes []string, crashPoints []string) error {
	for _, e := range s {
		if m := e.Moment; m != nil {
			if m.Fault == MomentKill && !contains(nodes, m.Node) {
				return fmt.Errorf("fault %q: node %q is not in this world (nodes: %s)", e, m.Node, strings.Join(nodes, ", "))
			}
			if m.Fault == MomentPartition && !hasLink(links, m.Link) {
				return fmt.Errorf("fault %q: link %s is not in this world (links: %s)", e, m.Link, linkNames(links))
			}
			continue
		}
		w := strings.Fields(strings.TrimPrefix(e.Decision.Site, "copy of "))
		switch w[0] {
		case "request":
			from, to, _ := strings.Cut(w[len(w)-1], "->")
			if l := (sim.Link{From: from, To: to}); !hasLink(links, l) {
				return fmt.Errorf("fault %q: link %s is not in this world (links: %s)", e, l, linkNames(links))
			}
		case "visit":
			if !contains(crashPoints, w[3]) {
				return fmt.Errorf("fault %q: crash point %q is not one of this pattern's: %s", e, w[3], strings.Join(crashPoints, ", "))
			}
			if !contains(nodes, w[5]) {
				return fmt.Errorf("fault %q: node %q is not in this world (nodes: %s)", e, w[5], strings.Join(nodes, ", "))
			}
		case "commit":
			if !contains(nodes, w[3]) {
				return fmt.Errorf("fault %q: node %q is not in this world (nodes: %s)", e, w[3], strings.Join(nodes, ", "))
			}
		}
	}
	return nil
}
