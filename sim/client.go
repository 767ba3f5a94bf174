package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Rejected is a non-transient answer (4xx): card declined, out of stock, a
// bad request, a conflicting key. Retrying it gives the same answer.
type Rejected struct {
	Service string
	Status  int
	Reason  string
}

func (e *Rejected) Error() string {
	return fmt.Sprintf("%s rejected the request (%d): %s", e.Service, e.Status, e.Reason)
}

// Unavailable is a transient failure: a timeout, a refused or cut
// connection, a 5xx. The request may or may not have taken effect.
type Unavailable struct {
	Service string
	Status  int // 0 when no response arrived
	Err     error
}

func (e *Unavailable) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s unavailable (%d): %v", e.Service, e.Status, e.Err)
	}
	return fmt.Sprintf("%s unavailable: %v", e.Service, e.Err)
}

func (e *Unavailable) Unwrap() error { return e.Err }

// IsRejected reports whether err is a non-transient business rejection.
func IsRejected(err error) bool {
	var r *Rejected
	return errors.As(err, &r)
}

// IsTransient reports whether err is a transient failure worth retrying.
func IsTransient(err error) bool {
	var u *Unavailable
	return errors.As(err, &u)
}

// NotFound reports whether err is a 404 answer.
func NotFound(err error) bool {
	var r *Rejected
	return errors.As(err, &r) && r.Status == http.StatusNotFound
}

// caller makes JSON requests from one node to one service.
type caller struct {
	n       *Node
	service string
}

// do sends method path with body (nil for none) and decodes a 2xx answer
// into out (nil to discard). header may be nil.
func (c caller) do(ctx context.Context, method, path string, header http.Header, body, out any) error {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := c.n.WithTimeout(ctx, c.n.CallTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.n.URL(c.service)+path, rd)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.GetBody = nil // never let a transport replay this request
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.n.HTTP(c.service).Do(req)
	if err != nil {
		return &Unavailable{Service: c.service, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &Unavailable{Service: c.service, Status: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if resp.StatusCode >= 500 {
		return &Unavailable{Service: c.service, Status: resp.StatusCode, Err: errors.New(errorText(data))}
	}
	if resp.StatusCode >= 400 {
		return &Rejected{Service: c.service, Status: resp.StatusCode, Reason: errorText(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Unavailable{Service: c.service, Status: resp.StatusCode, Err: fmt.Errorf("decoding the answer: %w", err)}
	}
	return nil
}

func errorText(data []byte) string {
	var e ErrorBody
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		if e.Reason != "" {
			return e.Reason
		}
		return e.Error
	}
	if len(data) > 200 {
		data = data[:200]
	}
	return string(bytes.TrimSpace(data))
}
