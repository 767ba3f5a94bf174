// Package good takes everything from its node, uses the harmless parts of
// the banned packages, and marks its justified exceptions.
package good

import (
	"context"
	"net/http"
	"time"
)

// Node stands in for sim.Node.
type Node interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
	Go(name string, fn func(ctx context.Context))
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	HTTP(service string) *http.Client
	Rand() float64
}

const timeout = 2 * time.Second

func work(ctx context.Context, n Node, rt http.RoundTripper) error {
	start := n.Now()
	if n.Rand() < 0.5 {
		if err := n.Sleep(ctx, timeout); err != nil {
			return err
		}
	}
	ctx, cancel := n.WithTimeout(ctx, time.Until(start)) //txchaos:allow a fixture: an allowed use
	defer cancel()
	ctx, cancel = context.WithCancel(ctx)
	defer cancel()
	n.Go("relay", func(ctx context.Context) {})
	_ = &http.Client{Transport: rt}
	_ = http.Client{Transport: rt, Timeout: timeout}
	_ = n.HTTP("payments")
	_ = time.Duration(0).String()
	var d time.Duration = time.Millisecond
	_ = d
	_ = http.StatusOK
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://orders/", nil)
	if err != nil {
		return err
	}
	_ = req
	return nil
}

// shadowed declares locals named like the banned packages.
func shadowed(time fakeTime, http fakeHTTP) {
	time.Now()
	time.Sleep(1)
	_ = http.DefaultClient
	context := fakeContext{}
	context.WithTimeout()
}

type fakeTime struct{}

func (fakeTime) Now()      {}
func (fakeTime) Sleep(int) {}

type fakeHTTP struct{ DefaultClient int }

type fakeContext struct{}

func (fakeContext) WithTimeout() {}
