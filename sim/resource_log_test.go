package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clockRuntime is a Runtime with a clock and nothing else: enough for a
// resource service's handler.
type clockRuntime struct{ now time.Time }

func (c *clockRuntime) Now() time.Time                             { c.now = c.now.Add(time.Millisecond); return c.now }
func (*clockRuntime) Sleep(context.Context, time.Duration) error   { return nil }
func (*clockRuntime) Go(string, string, func(ctx context.Context)) {}
func (*clockRuntime) Transport(string, string) http.RoundTripper   { return http.DefaultTransport }
func (*clockRuntime) CrashPoint(string, string) bool               { return false }
func (*clockRuntime) Rand(string) float64                          { return 0 }
func (*clockRuntime) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// TestResourceLogKeepsRefusals checks that every create and cancel that
// reaches a resource service is in its log with its outcome — refused ones
// too, though nothing else of theirs is written.
func TestResourceLogKeepsRefusals(t *testing.T) {
	type call struct {
		path string
		body any
		code int
	}
	charge := ResourceRequest{Key: "charge:o1", Order: "o1", Customer: "c1", Amount: 100}
	tests := []struct {
		name   string
		cfg    ResourceConfig
		calls  []call
		want   []string // op/outcome of each log row, by seq
		active int      // resources left active
	}{
		{
			name:  "a business rejection",
			cfg:   ResourceConfig{Maturity: Idempotent, RejectRate: 1},
			calls: []call{{"/resources", charge, http.StatusPaymentRequired}, {"/resources", charge, http.StatusPaymentRequired}},
			want:  []string{"create/rejected", "create/rejected"},
		},
		{
			name: "cancel before create: a tombstone, then the create refused",
			cfg:  ResourceConfig{Maturity: Idempotent},
			calls: []call{
				{"/resources/cancel", CancelRequest{Key: "charge:o1", Order: "o1"}, http.StatusOK},
				{"/resources", charge, http.StatusConflict},
				{"/resources/cancel", CancelRequest{Key: "charge:o1", Order: "o1"}, http.StatusOK},
			},
			want: []string{"cancel/tombstone", "create/refused-after-cancel", "cancel/already-cancelled"},
		},
		{
			name: "a key reused with other parameters",
			cfg:  ResourceConfig{Maturity: Idempotent},
			calls: []call{
				{"/resources", charge, http.StatusCreated},
				{"/resources", ResourceRequest{Key: "charge:o1", Order: "o1", Customer: "c1", Amount: 999}, http.StatusUnprocessableEntity},
			},
			want:   []string{"create/created", "create/key-conflict"},
			active: 1,
		},
		{
			name: "non-idempotent: cancels by an unknown id, by no id, twice",
			cfg:  ResourceConfig{Maturity: Readable},
			calls: []call{
				{"/resources/cancel", CancelRequest{ID: 42, Order: "o1"}, http.StatusNotFound},
				{"/resources/cancel", CancelRequest{Key: "charge:o1", Order: "o1"}, http.StatusBadRequest},
				{"/resources", charge, http.StatusCreated},
				{"/resources/cancel", CancelRequest{ID: 1, Order: "o1"}, http.StatusOK},
				{"/resources/cancel", CancelRequest{ID: 1, Order: "o1"}, http.StatusConflict},
			},
			want: []string{"cancel/not-found", "cancel/not-found", "create/created", "cancel/cancelled", "cancel/already-cancelled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := OpenDB(filepath.Join(t.TempDir(), "payments.db"))
			require.NoError(t, err)
			defer db.Close()
			n := NewNode(Payments, db, &clockRuntime{now: time.Unix(0, 0)}, context.Background(), func(string) string { return "" })
			h, err := NewResourceService(Payments, tt.cfg, 1, 0).Start(n)
			require.NoError(t, err)
			for _, c := range tt.calls {
				b, err := json.Marshal(c.body)
				require.NoError(t, err)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, c.path, bytes.NewReader(b)))
				require.Equal(t, c.code, rec.Code, "%s %s: %s", c.path, b, rec.Body)
			}
			rows, err := db.Query(`SELECT op, outcome FROM log ORDER BY seq`)
			require.NoError(t, err)
			defer rows.Close()
			var got []string
			for rows.Next() {
				var op, outcome string
				require.NoError(t, rows.Scan(&op, &outcome))
				got = append(got, op+"/"+outcome)
			}
			require.NoError(t, rows.Err())
			require.Equal(t, tt.want, got)
			var active int
			require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM resources WHERE state = ?`, ResourceActive).Scan(&active))
			require.Equal(t, tt.active, active, "a refusal writes nothing but its log row")
		})
	}
}
