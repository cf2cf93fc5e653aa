# remedy's build, tests and lab. Lab targets need root: they create network
# namespaces.

GO       ?= go
BIN      := bin/remedy
HOSTS    ?= 6
HIDDEN   ?= 0
PROFILES ?= nftables,iptables-legacy,iptables-nft,firewalld,ufw,none
LABDIR   ?= /tmp/remedy-lab
FUZZTIME ?= 50000x
BENCH_HOSTS ?= 20 100
BENCH_RUNS  ?= 3

.PHONY: all build deps lint test unit fuzz lab-up lab-down lab-status demo bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/remedy

# deps installs the system packages the lab and tests use, when missing.
deps:
	@tests/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test runs everything CI runs: lint, unit and lab tests, then a short fuzz.
test: deps lint
	$(GO) test -count=1 -timeout 14m ./...
	FUZZTIME=$(FUZZTIME) tests/fuzz.sh

unit:
	$(GO) test -count=1 -short ./...

fuzz:
	FUZZTIME=$(FUZZTIME) tests/fuzz.sh

lab-up: deps
	$(GO) run ./tests/lab up --hosts $(HOSTS) --profiles $(PROFILES) --hidden $(HIDDEN) --dir $(LABDIR)

lab-down:
	$(GO) run ./tests/lab down --dir $(LABDIR)

lab-status:
	$(GO) run ./tests/lab status --dir $(LABDIR)

demo: deps build
	@BIN=$(BIN) GO=$(GO) tests/demo.sh

# bench times remedy, ansible-playbook and the OpenSSH floor on labs of
# BENCH_HOSTS hosts (docs/benchmarks.md). Not part of test: it takes minutes.
bench: deps
	BENCH_HOSTS="$(BENCH_HOSTS)" BENCH_RUNS=$(BENCH_RUNS) GO=$(GO) bench/run.sh

clean:
	rm -rf bin
