package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// proc is the OS process of one incarnation of a node.
type proc struct {
	cmd    *exec.Cmd
	ready  chan string   // the address it serves at, once
	exited chan struct{} // closed once it has exited and been reaped
	stderr *tail

	mu      sync.Mutex // guards what follows; serialises writes to stdin
	stdin   io.WriteCloser
	killed  bool
	pending []nodeMsg     // told before it started
	seq     int           // the last nodeMsg's Seq
	acked   int           // the last Seq it acknowledged
	ack     chan struct{} // closed and replaced when acked grows
}

// command is the node process of one incarnation of node, not started.
func (p *procs) command(node string) *proc {
	cmd := exec.Command(p.exe, nodeArgs...)
	cmd.Env = append(os.Environ(), NodeEnv+"="+node)
	if _, set := os.LookupEnv("GORACE"); !set {
		// A race the detector finds in a node process (a binary built
		// with -race) stops it, and the runtime records what it said
		// ("exited"): a killed process would never report it.
		cmd.Env = append(cmd.Env, "GORACE=halt_on_error=1")
	}
	pr := &proc{cmd: cmd, ready: make(chan string, 1), exited: make(chan struct{}), stderr: &tail{}, ack: make(chan struct{})}
	cmd.Stdout = &lines{fn: func(line string) {
		if addr, ok := strings.CutPrefix(line, readyPrefix); ok {
			select {
			case pr.ready <- addr:
			default:
			}
			return
		}
		if seq, ok := strings.CutPrefix(line, ackPrefix); ok {
			if n, err := strconv.Atoi(seq); err == nil {
				pr.acknowledged(n)
				return
			}
		}
		fmt.Fprintln(pr.stderr, line) // what a binary that does not serve nodes says
	}}
	cmd.Stderr = pr.stderr
	return pr
}

// errKilled: the process was killed before it started.
var errKilled = errors.New("killed before it started")

// start starts the process and tells it spec. A process killed already
// is not started.
func (p *proc) start(spec nodeSpec) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errKilled
	if !p.killed {
		if p.stdin, err = p.cmd.StdinPipe(); err == nil {
			err = p.cmd.Start()
		}
	}
	if err != nil {
		close(p.exited)
		return fmt.Errorf("start the node process %s: %w", p.cmd.Path, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	p.sendLocked(spec)
	for _, m := range p.pending {
		p.sendLocked(m)
	}
	p.pending = nil
	return nil
}

// push tells the process the node's faults f; they apply there once it
// has read them. It returns a function that waits until they apply, the
// process is gone, or startTimeout has passed.
func (p *proc) push(f sim.NodeFaults) (wait func()) {
	p.mu.Lock()
	p.seq++
	m := nodeMsg{Seq: p.seq, Faults: &f}
	if p.stdin == nil && !p.killed {
		p.pending = append(p.pending, m) // start sends it after the spec
	} else {
		p.sendLocked(m)
	}
	p.mu.Unlock()
	return func() {
		timer := time.NewTimer(startTimeout)
		defer timer.Stop()
		for {
			p.mu.Lock()
			done, ack := p.acked >= m.Seq || p.killed, p.ack
			p.mu.Unlock()
			if done {
				return
			}
			select {
			case <-ack:
			case <-p.exited:
				return
			case <-timer.C:
				return
			}
		}
	}
}

// acknowledged notes that the faults of the seq-th nodeMsg apply.
func (p *proc) acknowledged(seq int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq > p.acked {
		p.acked = seq
		close(p.ack)
		p.ack = make(chan struct{})
	}
}

func (p *proc) sendLocked(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("live: encoding a message to a node process: %v", err))
	}
	if p.stdin != nil && !p.killed {
		p.stdin.Write(append(b, '\n'))
	}
}

// kill sends the process SIGKILL: it stops at once, its open transactions
// never commit and its connections close. A process not started yet never
// starts.
func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killed {
		return
	}
	p.killed = true
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.stdin.Close()
	}
}

// lines calls fn with each line written to it.
type lines struct {
	fn  func(string)
	buf []byte
}

func (l *lines) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := slices.Index(l.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.fn(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

// tail keeps the last tailSize bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailSize {
		t.buf = t.buf[len(t.buf)-tailSize:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "(nothing)"
	}
	return strings.TrimSpace(string(t.buf))
}
