# tandem: the two commands of the README, plus the pieces they are made of.
#   make lab    install what is missing, build, run the demo lab (Figure 3 in small)
#   make test   install what is missing, build, run every test tier
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:/opt/tandem/ovs/usr/bin:/opt/tandem/ovs/usr/sbin:$(PATH)
CARGO ?= cargo

.PHONY: all deps build lab test unit loom fuzz topology bench bench-bgp bench-convergence bench-forward clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	$(CARGO) build --release --workspace --locked

lab: build
	bash scripts/lab.sh

test: build
	bash scripts/test.sh

unit: deps
	$(CARGO) test --workspace --locked

loom: deps
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom $(CARGO) test --release --locked -p tandem-dataplane --test snapshot_loom

fuzz: deps
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} bash scripts/fuzz.sh

topology: build
	@for t in tests/topology/*_test.sh; do bash $$t || exit 1; done

# The standard set as a markdown report (bench-report.md; RUNS pairs/runs each).
bench: build
	bash bench/report.sh bench-report.md $${RUNS:-5}

# Forwarding: tandemd vs DPDK l3fwd on the same generator and memif links, interleaved
# (PROFILE, SECS, RUNS; the median and the ratios are printed).
bench-forward: build
	bash bench/forward.sh compare $${PROFILE:-bench/profiles/ipv4-64b.yaml} $${SECS:-5} $${RUNS:-5}

# Outage per failure case in the 3-PE EVPN core lab, median of RUNS runs.
bench-convergence: build
	bash bench/convergence.sh $${RUNS:-5}

# EVPN import NLRI/s: tandemd vs GoBGP vs FRR on the same stream (ROUTES, RUNS).
bench-bgp: build
	bash bench/bgp_import.sh $${ROUTES:-500000} $${RUNS:-3}

clean:
	$(CARGO) clean
