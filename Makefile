# txchaos — everyday targets. `make test` is what CI and the README run.

GO        ?= go
BENCHTIME ?= 500ms
# The runtime-discipline check: patterns (recursively), the services of
# sim (non-recursively: sim/live is the runtime itself) and the example
# pattern written outside patterns/.
LINT_PATHS ?= ./patterns/... ./sim ./examples/...

.PHONY: all build test test-live demo bench lint fmt clean

all: lint test build

build:
	$(GO) build -o bin/txchaos ./cmd/txchaos

# The det runtime's suites (scenarios, explore, and the demo's in cmd/txchaos) run
# SQLite (C translated to Go) ten times slower under -race, where they run
# a sample; they run in full once more without.
# The live expectation matrix runs a sample of its cells here, every
# service an OS process (every pattern, scenario and fault kind), and all
# of them in-process in test-live. The live
# runtime slows its clock down on a busy machine, so a loaded machine takes
# longer: go test's default 10-minute limit per package is too tight.
# go test starts packages in the order given: the longest first, so that
# the others run beside it rather than before it.
test:
	$(GO) test -race -count=1 -timeout 40m ./scenarios ./cmd/txchaos ./...
	$(GO) test -count=1 -timeout 20m -run '^TestDet' ./cmd/txchaos ./scenarios ./explore

# Every cell of the live expectation matrix (110 live runs, many minutes
# on two idle cores).
test-live:
	$(GO) test -race -count=1 -timeout 90m -run '^TestMatrix$$' ./scenarios -full-matrix

demo:
	$(GO) run ./cmd/txchaos demo

# BenchmarkDetScale runs 100,000 orders (minutes): past go test's default
# 10-minute limit on a busy machine.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$(BENCHTIME) -timeout 60m ./...

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./internal/lint/cmd/runtimelint $(LINT_PATHS)

fmt:
	gofmt -w .

clean:
	rm -rf bin
