package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// meter shows how far a command of many runs has got (a sweep's cells,
// explore's seeds). On a terminal it is a bar redrawn in place every
// second (github.com/schollz/progressbar), with the command's lines
// printed above it. Anywhere else — a file, a pipe, a CI log — it writes
// plain lines only, never a carriage return: the command's lines, and,
// when counts is set, a count at every tenth of the way.
type meter struct {
	w      io.Writer
	unit   string // what is counted: "cells", "seeds"
	total  int
	counts bool
	now    func() time.Time
	// status says what the count does not (anomalies so far, what runs);
	// it is called under mu.
	status func() string

	mu       sync.Mutex
	bar      *progressbar.ProgressBar // nil off a terminal
	width    int                      // the terminal's width, for the bar's line
	began    time.Time
	done     int  // counted so far
	ran      int  // counted by this process (a resumed sweep's kept cells are not)
	reported int  // the count of the last plain count line
	stopped  bool // no time is left once stop is called
	quit     chan struct{}
	ticker   sync.WaitGroup
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newMeter is a meter of total units on w, drawn as a bar when tty.
func newMeter(w io.Writer, tty bool, total int, unit string, status func() string) *meter {
	m := &meter{w: w, unit: unit, total: total, now: time.Now, status: status, width: 100}
	if tty {
		if f, ok := w.(*os.File); ok {
			if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 40 {
				m.width = width
			}
		}
		m.bar = progressbar.NewOptions(max(total, 1),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetTheme(progressbar.Theme{Saucer: "█", SaucerPadding: "░", BarStart: "[", BarEnd: "]"}),
		)
	}
	return m
}

// start begins the clock and, on a terminal, redraws the bar every second
// so that its clock moves between counts.
func (m *meter) start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.began = m.now()
	if m.bar == nil {
		return
	}
	m.quit = make(chan struct{})
	m.ticker.Add(1)
	go func() {
		defer m.ticker.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-m.quit:
				return
			case <-t.C:
				m.mu.Lock()
				m.draw()
				m.mu.Unlock()
			}
		}
	}()
}

// stop ends the meter: the bar is erased, so that what follows starts on
// a clean line; off a terminal, a count that stopped short of a plain
// line (explore --stop, a cancelled run) gets its line.
func (m *meter) stop() {
	if m.quit != nil {
		close(m.quit)
		m.ticker.Wait()
		m.quit = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil {
		m.bar.Clear()
		m.bar.Exit()
		return
	}
	m.stopped = true
	if m.counts && m.done > 0 && m.reported != m.done {
		m.reported = m.done
		fmt.Fprintln(m.w, m.line())
	}
}

// println prints a line: above the bar on a terminal.
func (m *meter) println(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar == nil {
		fmt.Fprintln(m.w, line)
		return
	}
	m.bar.Clear()
	fmt.Fprintln(m.w, line)
	m.draw()
}

// count adds one to the count; kept says it was done before this process
// (a resumed sweep's cell), which the estimate of the time left leaves out.
func (m *meter) count(kept bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done++
	if !kept {
		m.ran++
	}
	if m.bar != nil {
		m.bar.Set(m.done)
		m.draw()
		return
	}
	if m.counts && (m.done == m.total || m.done*10/max(m.total, 1) > m.reported*10/max(m.total, 1)) {
		m.reported = m.done
		fmt.Fprintln(m.w, m.line())
	}
}

// line is the plain count line: "120/500 seeds · 12s · about 38s left ·
// anomalies in 3 seeds".
func (m *meter) line() string {
	return fmt.Sprintf("%d/%d %s · %s", m.done, m.total, m.unit, m.about())
}

// about is what the bar's count does not say: the time taken, the time
// left and the status.
func (m *meter) about() string {
	elapsed := m.now().Sub(m.began)
	s := elapsed.Round(time.Second).String()
	if m.done < m.total && m.ran > 0 && !m.stopped {
		left := elapsed / time.Duration(m.ran) * time.Duration(m.total-m.done)
		s += " · about " + left.Round(time.Second).String() + " left"
	}
	if m.status != nil {
		if st := m.status(); st != "" {
			s += " · " + st
		}
	}
	return s
}

// draw redraws the bar: the count's line, cut to fit the terminal (a line
// that wraps cannot be redrawn in place).
func (m *meter) draw() {
	if m.bar == nil {
		return
	}
	line := m.about()
	if room := m.width - 45; len([]rune(line)) > room {
		line = string([]rune(line)[:max(room-1, 0)]) + "…"
	}
	m.bar.Describe(line) // and renders
}
