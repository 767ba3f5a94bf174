package live

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// TestRestartOnANewPort takes a crashed node's port: the restart moves the
// node to a new port and points the link's proxies there.
func TestRestartOnANewPort(t *testing.T) {
	hello := sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }), nil
	})
	w := sim.World{Services: map[string]sim.Service{sim.Orders: hello}, Links: []sim.Link{{From: sim.Client, To: sim.Orders}}}
	r, err := Start(context.Background(), w, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Stop()) }()
	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against a hang
		defer cancel()
		c := r.Node(sim.Client)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(sim.Orders)+"/", nil)
		resp, err := c.HTTP(sim.Orders).Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	require.NoError(t, get())

	n := r.nodes[sim.Orders]
	old := n.addr
	require.NoError(t, r.Crash(sim.Orders, 0))
	_, err = net.Dial("tcp", old)
	require.Error(t, err, "a crashed node's address refuses connections")
	squatter, err := net.Listen("tcp", old)
	require.NoError(t, err)
	defer squatter.Close()

	require.NoError(t, r.Restart(context.Background(), sim.Orders))
	require.NotEqual(t, old, n.addr)
	require.NoError(t, get(), "the proxies follow the node to its new port")
}
