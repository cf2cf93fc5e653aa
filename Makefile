# remedy's build, tests and labs. Lab targets need root: they create network
# namespaces, and the VM lab's bridges, taps and images.

GO       ?= go
BIN      := bin/remedy
HOSTS    ?= 6
HIDDEN   ?= 0
PROFILES ?= nftables,iptables-legacy,iptables-nft,firewalld,ufw,none
LABDIR   ?= /tmp/remedy-lab
FUZZTIME ?= 50000x
BENCH_HOSTS ?= 20 100 500
BENCH_RUNS  ?= 3
VM_PROFILES ?= nftables,iptables,firewalld,ufw,selinux,ssh-socket
VMLABDIR    ?= /tmp/remedy-vmlab
VMBUILDLOG  ?= /tmp/remedy-vmlab-build.log
FUZZLOG     ?= /tmp/remedy-fuzz.log
PREFIX   ?= /usr/local
# The version and commit remedy --version and every report name, from git.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# A Debian version starts with a digit: a tagless describe becomes 0~gitHASH.
DEB_VERSION ?= $(shell echo '$(VERSION)' | sed -E 's/^v([0-9]+\.)/\1/; /^[0-9]+\./!s/^/0~git/; s/-/./g')
DEB_ARCH    ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)

.PHONY: all build install deb deps lint test test-quick quick-tier unit fuzz lab-up lab-down lab-status vm-images vm-up vm-down vm-status demo bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/remedy

# install puts remedy, its man pages and its bash completion under
# DESTDIR$(PREFIX).
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/remedy
	$(BIN) man --dir $(DESTDIR)$(PREFIX)/share/man/man1 >/dev/null
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/remedy

# deb builds bin/remedy_VERSION_ARCH.deb with dpkg-deb: what install puts
# under /usr, nothing fetched.
deb:
	rm -rf bin/deb
	$(MAKE) install DESTDIR=$(CURDIR)/bin/deb PREFIX=/usr
	mkdir -p bin/deb/DEBIAN
	printf '%s\n' 'Package: remedy' 'Version: $(DEB_VERSION)' 'Architecture: $(DEB_ARCH)' \
		'Maintainer: remedy developers <remedy@localhost>' 'Section: admin' 'Priority: optional' \
		'Recommends: openssh-client' \
		'Description: agentless remediation of sshd and host firewalls, with Lua playbooks' \
		' remedy reads an Ansible inventory, connects to each host over SSH and runs' \
		' Lua playbooks that audit and fix sshd and the host firewall.' > bin/deb/DEBIAN/control
	dpkg-deb --root-owner-group --build bin/deb bin/remedy_$(DEB_VERSION)_$(DEB_ARCH).deb

# deps installs the system packages the lab and tests use, when missing.
deps:
	@tests/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test runs everything CI runs: lint, the quick tier, then the VM tier
# (tests named TestVM*, on booted Debian VMs; tests/vmlab/README.md). The
# VM images build beside the quick tier, at low priority; a build whose
# recipe has not changed is a cache hit and takes a second.
test: deps lint
	@echo "make test: building the VM images in the background (log: $(VMBUILDLOG))"
	@nice -n 19 ionice -c 3 $(GO) run ./tests/vmlab build >$(VMBUILDLOG) 2>&1 & build=$$!; \
	quick=0; $(MAKE) --no-print-directory quick-tier || quick=$$?; \
	if ! wait $$build; then echo "VM image build failed:"; tail -40 $(VMBUILDLOG); exit 1; fi; \
	cat $(VMBUILDLOG); \
	[ $$quick -eq 0 ] || exit $$quick; \
	$(GO) test -count=1 -timeout 24m -parallel 3 -run '^TestVM' ./...

# test-quick runs everything but the VM tier: lint, unit and namespace-lab
# tests, a short fuzz. The inner loop.
test-quick: deps lint quick-tier

# The fuzz runs beside the tests, at low priority: the tests package's lab
# tests mostly wait (timeouts, reloads, probes of dropped packets), and
# run after them the fuzz's two minutes were the quick tier's last.
quick-tier:
	@echo "make: fuzzing beside the tests (log: $(FUZZLOG))"
	@FUZZTIME=$(FUZZTIME) nice -n 10 tests/fuzz.sh >$(FUZZLOG) 2>&1 & fuzz=$$!; \
	rc=0; $(GO) test -count=1 -timeout 14m -skip '^TestVM' ./... || rc=$$?; \
	if ! wait $$fuzz; then echo "fuzz failed:"; tail -60 $(FUZZLOG); exit 1; fi; \
	grep -E '^(fuzz|ok|FAIL|---)' $(FUZZLOG); exit $$rc

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

# The VM lab (tests/vmlab/README.md): booted Debian VMs, one per profile.
vm-images: deps
	$(GO) run ./tests/vmlab build --profiles $(VM_PROFILES)

vm-up: deps
	$(GO) run ./tests/vmlab up --profiles $(VM_PROFILES) --dir $(VMLABDIR)

vm-down:
	$(GO) run ./tests/vmlab down --dir $(VMLABDIR)

vm-status:
	$(GO) run ./tests/vmlab status --dir $(VMLABDIR)

demo: deps build
	@BIN=$(BIN) GO=$(GO) tests/demo.sh

# bench times remedy, ansible-playbook and the OpenSSH floor on labs of
# BENCH_HOSTS hosts, then remedy on fake fleets of up to 5000 in-process SSH
# servers, and writes the tables into docs/benchmarks.md. Not part of
# test: it takes half an hour.
bench: deps
	BENCH_HOSTS="$(BENCH_HOSTS)" BENCH_RUNS=$(BENCH_RUNS) GO=$(GO) bench/run.sh

clean:
	rm -rf bin
