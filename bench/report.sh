#!/usr/bin/env bash
# The standard benchmark set, as a markdown report (default bench-report.md): the FIB
# micro-benchmark (trie, poptrie vs rte_lpm / rte_lpm6), forwarding tandemd vs l3fwd on
# ipv4-64b, ipv6-64b, imix, vlan-vrf-mix, vxlan and fib-1m (the last three against l3fwd's
# plain IPv4: it has no VLANs, VXLAN or room for 1M routes) and latency-50
# (interleaved, RUNS pairs), EVPN import vs FRR and GoBGP. Ratios, never asserts.
# Usage: bench/report.sh [OUT.md] [RUNS]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUTMD=${1:-$ROOT/bench-report.md}
RUNS=${2:-5}
BIN=${TANDEM_BIN:-$ROOT/target/release}
{
  echo "# tandem benchmark report"
  echo
  echo "$(date -u +%FT%TZ), $(nproc) vCPU, $(lscpu | sed -n 's/^Model name: *//p'), commit $(git -C "$ROOT" rev-parse --short HEAD)"
  echo
  echo "## FIB: LPM lookups on one core (median of $RUNS)"
  echo
  echo '```'
  "$BIN/tandem-bench" fib --runs "$RUNS" 2>&1 | grep -v '^EAL'
  echo '```'
  for p in ipv4-64b ipv6-64b imix vlan-vrf-mix vxlan fib-1m latency-50; do
    echo
    echo "## Forwarding, profile $p: tandemd vs DPDK l3fwd over memif zero-copy ($RUNS interleaved pairs)"
    echo
    echo '```'
    # latency-50 runs both DUTs at 5 Mpps (50 % of 10 Mpps); the others are unpaced.
    MAX_PPS=$([ "$p" = latency-50 ] && echo 10000000) \
      bash "$ROOT/bench/forward.sh" compare "$ROOT/bench/profiles/$p.yaml" 5 "$RUNS" 2>&1 | tail -4
    echo '```'
  done
  echo
  echo "## EVPN import: tandemd vs FRR vs GoBGP (100k routes)"
  echo
  echo '```'
  bash "$ROOT/bench/bgp_import.sh" 100000 3 2>&1 | tail -8
  echo '```'
} >"$OUTMD"
echo "report written to $OUTMD"
