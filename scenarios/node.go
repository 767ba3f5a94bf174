package scenarios

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// NodeMain serves a node and exits when this process was started as one
// by a run with isolation process (Config.Isolation); otherwise it
// returns at once. Such a run starts each service as its own binary again
// (os.Executable), so a binary that runs with isolation process calls
// NodeMain first thing in main, and a test package that does calls it
// first thing in TestMain:
//
//	func TestMain(m *testing.M) {
//		scenarios.NodeMain(mypattern.Spec())
//		os.Exit(m.Run())
//	}
//
// The node process builds the run's world again from the pattern's name
// and the world's configuration: registered patterns are found by name,
// and specs lists the caller's own, unregistered ones (those it passes to
// ExecuteSpec or Run).
func NodeMain(specs ...patterns.Spec) {
	if !live.IsNode() {
		return
	}
	os.Exit(live.ServeNode(func(b []byte) (sim.World, error) { return nodeWorld(b, specs) }))
}

// nodeWorld is the world a run described as b (describeWorld), its
// pattern registered or one of specs.
func nodeWorld(b []byte, specs []patterns.Spec) (sim.World, error) {
	var d worldDesc
	if err := json.Unmarshal(b, &d); err != nil {
		return sim.World{}, fmt.Errorf("the run's world: %w", err)
	}
	for _, s := range specs {
		if s.Name == d.Pattern {
			return s.World(d.World), nil
		}
	}
	spec, err := patterns.Lookup(d.Pattern)
	if err != nil {
		return sim.World{}, fmt.Errorf("%w, nor given to scenarios.NodeMain", err)
	}
	return spec.World(d.World), nil
}

// worldDesc is how a run describes its world to its node processes.
type worldDesc struct {
	Pattern string     `json:"pattern"`
	World   sim.Config `json:"world"`
}

func describeWorld(pattern string, cfg sim.Config) []byte {
	b, err := json.Marshal(worldDesc{Pattern: pattern, World: cfg})
	if err != nil {
		panic(fmt.Sprintf("scenarios: encoding the world: %v", err)) // a sim.Config always encodes
	}
	return b
}
