package results_test

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/txchaos/txchaos/results"
)

func Example() {
	dir, err := os.MkdirTemp("", "txchaos-results")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "outbox-42.json")

	started := time.Now()
	// ... the run ...
	rec := &results.Record{
		SchemaVersion: results.SchemaVersion,
		Tool:          results.Tool,
		Pattern:       "outbox",
		Runtime:       results.RuntimeDet,
		Seed:          42,
		Config:        json.RawMessage(`{"orders":100,"faults":"lost-response"}`),
		FaultsApplied: json.RawMessage(`[]`),
		Metrics:       json.RawMessage(`{"ops":100}`),
		Anomalies:     map[string]int{"lost-event": 0, "duplicate-charge": 0},
		Verdict:       results.VerdictClean,
		Host:          results.NewHost(started),
	}
	if err := results.Write(path, rec); err != nil {
		log.Fatal(err)
	}

	back, err := results.Read(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Pattern, back.Seed, back.Verdict, "exit", results.ExitCode(back.Verdict))
	a, _ := rec.Comparable()
	b, _ := back.Comparable()
	fmt.Println("same run:", string(a) == string(b))
	// Output:
	// outbox 42 clean exit 0
	// same run: true
}
