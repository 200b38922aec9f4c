#!/usr/bin/env bash
# BGP-EVPN import benchmark: the same stream of N packed EVPN routes (bgp_feed) is sent to
# tandemd, GoBGP and FRR's bgpd, each alone on one network namespace pair; the time from the
# first UPDATE to the receiver holding all N routes (polled every 20 ms through its CLI) gives
# NLRI/s. Medians of RUNS runs; ratios against GoBGP and FRR; a receiver that has not got
# every route after 120 s is reported as `fail` (GoBGP with many RT-2s). tandemd receives through its real
# path (DPDK port, TAP exception path, kernel TCP); GoBGP and FRR on a plain veth.
#
#   bench/bgp_import.sh [ROUTES] [RUNS]         (as root; results in bench-out/bgp_import.json)
set -u
. "$(dirname "$0")/../tests/topology/lib.sh"
N=${1:-500000}
RUNS=${2:-3}
OUT=$ROOT/bench-out
mkdir -p "$OUT"
lab_init
FEED=$BIN/bgp_feed
[ -x "$FEED" ] || { echo "build first: cargo build --release -p tandem-bench"; exit 1; }

# One namespace pair per receiver run: rx (receiver, 10.0.9.1) and fd (feeder, 10.0.9.2).
setup() {
  for ns in rx fd; do ip netns del "$P-$ns" 2>/dev/null || true; done
  NETNS=()
  netns_add rx; netns_add fd
  veth rx r0 fd f0
  ip -n "$P-fd" addr add 10.0.9.2/24 dev f0
}
count_tandem() { ctl rx --json show bgp summary 2>/dev/null | jq '.neighbors[0].evpn_routes // 0'; }
count_gobgp() { nsx rx gobgp -u 127.0.0.1 -p 50051 neighbor 10.0.9.2 -j 2>/dev/null | jq '[.afi_safis[]? | .state.received // 0] | add // 0'; }
count_frr() { nsx rx vtysh --vty_socket "$LAB/frr/run" -c 'show bgp l2vpn evpn summary json' 2>/dev/null | jq '.peers["10.0.9.2"].pfxRcd // 0'; }

start_tandem() {
  cat >"$LAB/rx.yaml" <<YAML
name: ${P}rx
eal: { lcores: "0", hugepages: auto, memory-mb: 512 }
ports:
  - { name: p0, devargs: "net_af_packet0,iface=r0", vrf: core, addresses: [10.0.9.1/24] }
vrfs: [{ name: core }]
bgp:
  asn: 65001
  router-id: 10.0.9.1
  vrf: core
  neighbors:
    - { address: 10.0.9.2, remote-as: 65002, hold-time: 90, connect-retry-s: 30 }
api: { socket: $LAB/rx.sock }
YAML
  tandemd_start rx rx "$LAB/rx.yaml" >/dev/null
  RXPID=$PID_rx
  # The exception path must answer before the feeder connects.
  wait_until 20 nsx fd ping -c1 -W1 10.0.9.1 >/dev/null
}
start_gobgp() {
  ip -n "$P-rx" addr add 10.0.9.1/24 dev r0
  cat >"$LAB/gobgpd.toml" <<TOML
[global.config]
  as = 65001
  router-id = "10.0.9.1"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.9.2"
    peer-as = 65002
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l2vpn-evpn"
TOML
  ip netns exec "$P-rx" gobgpd -f "$LAB/gobgpd.toml" -t toml --api-hosts 127.0.0.1:50051 --pprof-disable -l warn >"$LAB/gobgpd.log" 2>&1 &
  RXPID=$!; PIDS+=("$RXPID")
  wait_until 20 nsx rx gobgp -u 127.0.0.1 -p 50051 neighbor >/dev/null
}
start_frr() {
  ip -n "$P-rx" addr add 10.0.9.1/24 dev r0
  local D=$LAB/frr
  rm -rf "$D"; mkdir -p "$D/run"; chmod o+x "$LAB"
  cat >"$D/bgpd.conf" <<CONF
router bgp 65001
 bgp router-id 10.0.9.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 10.0.9.2 remote-as 65002
 neighbor 10.0.9.2 passive
 address-family l2vpn evpn
  neighbor 10.0.9.2 activate
 exit-address-family
CONF
  chown -R frr:frr "$D"
  ip netns exec "$P-rx" /usr/lib/frr/bgpd -d -u frr -g frr -Z -P 0 -f "$D/bgpd.conf" -i "$D/run/bgpd.pid" \
    -z "$D/run/zserv.api" --vty_socket "$D/run" --log "file:$D/bgpd.log" >/dev/null 2>&1
  wait_until 10 test -s "$D/run/bgpd.pid"
  RXPID=$(cat "$D/run/bgpd.pid"); PIDS+=("$RXPID")
  wait_until 10 nsx rx vtysh --vty_socket "$D/run" -c 'show bgp summary' >/dev/null
}
stop_rx() {
  kill "$RXPID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$RXPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$RXPID" 2>/dev/null || true
}

# run RECEIVER KIND: one measurement; prints seconds, or "fail".
run() {
  local rx=$1 kind=$2
  setup
  "start_$rx" || { echo fail; return; }
  nsx fd "$FEED" --connect 10.0.9.1 --local-as 65002 --peer-as 65001 --router-id 10.0.9.2 \
    --routes "$N" --kind "$kind" --hold-s 120 >"$LAB/feed.out" 2>"$LAB/feed.err" &
  local feed=$!
  wait_until 20 grep -q start_unix_ns "$LAB/feed.out" || { echo fail; kill "$feed"; stop_rx; return; }
  local t0 c end=$((SECONDS + 120))
  t0=$(jq -s '.[0].start_unix_ns' "$LAB/feed.out")
  while [ "$SECONDS" -lt "$end" ]; do
    c=$("count_$rx")
    [ "${c:-0}" -ge "$N" ] && break
    sleep 0.02
  done
  local t1; t1=$(date +%s%N)
  kill "$feed" 2>/dev/null; wait "$feed" 2>/dev/null
  stop_rx
  if [ "${c:-0}" -ge "$N" ]; then echo "scale=3; ($t1 - $t0) / 1000000000" | bc; else echo fail; fi
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
echo "{" >"$OUT/bgp_import.json"
first=1
for kind in rt2 rt5; do
  for rx in tandem gobgp frr; do
    ts=()
    for i in $(seq "$RUNS"); do
      ts+=("$(run "$rx" "$kind")")
      [ "${ts[-1]}" = fail ] && break   # a receiver that cannot finish in 120 s once will not
    done
    med=$(printf '%s\n' "${ts[@]}" | grep -v fail | median)
    rate=$(echo "scale=0; $N / $med" | bc 2>/dev/null || echo 0)
    eval "RATE_${rx}_${kind}=$rate"
    printf '%-4s %-7s runs: %-26s median %6ss  %8s NLRI/s\n' "$kind" "$rx" "${ts[*]}" "$med" "$rate"
    [ $first = 1 ] || echo "," >>"$OUT/bgp_import.json"; first=0
    printf '"%s_%s": {"routes": %s, "runs_s": "%s", "median_s": %s, "nlri_per_s": %s}' \
      "$kind" "$rx" "$N" "${ts[*]}" "$med" "$rate" >>"$OUT/bgp_import.json"
  done
  t=$(eval echo "\$RATE_tandem_$kind"); g=$(eval echo "\$RATE_gobgp_$kind"); f=$(eval echo "\$RATE_frr_$kind")
  printf '%-4s tandem/GoBGP %s  tandem/FRR %s\n' "$kind" "$(echo "scale=2; $t / $g" | bc 2>/dev/null)" "$(echo "scale=2; $t / $f" | bc 2>/dev/null)"
done
echo "}" >>"$OUT/bgp_import.json"
