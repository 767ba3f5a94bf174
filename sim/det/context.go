package det

import (
	"context"
	"time"
)

// timeoutCtx is a context cancelled at a virtual deadline by the
// scheduler. It wraps a context.WithCancelCause child of its parent, so that
// cancellation flows through the standard library's own tree (children
// derived from it are cancelled synchronously, by the baton holder), and
// reports context.DeadlineExceeded once its deadline has passed.
type timeoutCtx struct {
	context.Context
	deadline time.Time
}

// Deadline reports the virtual deadline, or the parent's if earlier.
func (c *timeoutCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Err is context.DeadlineExceeded when the deadline (its own or an
// ancestor's) cancelled the context.
func (c *timeoutCtx) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}

func (c *timeoutCtx) String() string { return "det.WithTimeout(" + c.deadline.String() + ")" }

// withTimeout is context.WithTimeout on the virtual clock.
func (s *sched) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancelCause(parent)
	c := &timeoutCtx{Context: inner, deadline: s.now.Add(d)}
	if d <= 0 {
		cancel(context.DeadlineExceeded)
		return c, func() {}
	}
	t := s.addTimer(c.deadline, nil, func() { cancel(context.DeadlineExceeded) })
	return c, func() {
		s.removeTimer(t)
		cancel(context.Canceled)
	}
}
