package report_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/txchaos/txchaos/results/report"
)

func ExampleGenerate() {
	// A directory of records: here one fault-free run of the fixture.
	dir, err := os.MkdirTemp("", "txchaos-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	rec, err := os.ReadFile("testdata/sweep/cells/outbox_none_0_seed1/record.json")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "record.json"), rec, 0o644); err != nil {
		log.Fatal(err)
	}

	rep, err := report.Generate(dir, report.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Runs, "run")
	for _, c := range rep.Charts {
		fmt.Println(filepath.Base(c))
	}
	fmt.Println(filepath.Base(rep.HTML), filepath.Base(rep.Markdown))
	// Output:
	// 1 run
	// latency-no-faults
	// index.html report.md
}
