#!/usr/bin/env bash
# Test description: the L3VPN core (issue 6), EVPN IP-VRF-to-IP-VRF over VXLAN (RFC 9136) with
# a remote PE nobody here wrote. A CE (Open vSwitch, LACP bond) is dual-homed to two tandem PEs
# in all-active mode (VRF red, L3 VNI 5000, VLAN 10); PE3 is FRR 8.4 with the Linux kernel's
# VXLAN in netns-VRF mode; a remote host rh sits behind PE3. All three PEs share one core
# subnet (the underlay: VTEPs are the core addresses) and a full mesh of BGP sessions.
#  1. FRR installs the CE subnet with two next hops (PE1 and PE2: ECMP), with each PE's router
#     MAC as the neighbour of its VTEP; tandem installs rh's subnet through PE3's tunnel.
#  2. rh reaches the CE hosts, and a spread of UDP flows from rh is decapsulated by both PEs
#     (both VXLAN counters grow): remote PEs load-balance over the two PEs of the segment.
#  3. PE1's ES member goes down under a sequenced stream from rh to h1: PE1 repairs locally
#     (its ES subnet follows the overlay route through PE2) and withdraws its RT-5; FRR drops
#     PE1 from the group; the stream's loss is reported as the outage in ms.
#  4. PE3 becomes a third tandem, and PE1/PE2 advertise with IP aliasing (RT-5 with the ESI,
#     IP A-D per EVI + A-D per ES): PE3 resolves the CE subnet to a group over both PEs and
#     spreads flows over them; failures under a 1000 pps stream (outage = lost packets at
#     1000 pps): PE1's member down (mass withdraw: PE3 rewrites one group, no FIB rebuild),
#     PE1's core link down, PE1 killed (both seen by PE3 through its BGP hold time, 3 s).
. "$(dirname "$0")/lib.sh"
[ -x /usr/lib/frr/zebra ] || { echo "FRR missing (apt-get install frr)"; exit 1; }
lab_init
log "CE (OVS LACP bond) on an ES across PE1 and PE2 (tandem); PE3 = FRR + kernel VXLAN; rh behind PE3"
for ns in ce pe1 pe2 pe3 pe3red core rh h1 h2 h3 h4; do netns_add $ns; done
veth ce l1a pe1 l1b
veth ce l2a pe2 l2b
ip -n "$P-core" link add br0 type bridge
ip -n "$P-core" link set br0 up
veth pe1 c1 core k1
veth pe2 c2 core k2
veth pe3 c3 core k3
for k in k1 k2 k3; do ip -n "$P-core" link set $k master br0; done
ce_hosts
ESI="00:11:22:33:44:55:00:00:00:06"

# flows SRC: 4 hosts x 64 source ports x 5 rounds = 1280 datagrams over 256 flows.
flows() {
  nsx "$1" python3 -c '
import socket, time
socks = []
for p in range(42000, 42064):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", p)); socks.append(s)
for _ in range(5):
    for s in socks:
        for h in range(11, 15): s.sendto(b"x" * 64, ("192.0.2.%d" % h, 9))
    time.sleep(0.2)'
  sleep 1
}
# outage NAME SRC CMD...: a 1000 pps stream from host SRC to h1 over 64 flows; CMD at 2 s;
# prints and records the loss (= ms of outage for the flows that crossed the failed PE).
outage() {
  local name=$1 src=$2; shift 2
  rm -f "$LAB/seq.h1"
  nsx h1 timeout 60 python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 7000)); s.settimeout(3)
with open(sys.argv[1], "w") as f:
    while True:
        try: d, _ = s.recvfrom(64)
        except socket.timeout: break
        f.write("%d\n" % struct.unpack("!I", d[:4])[0]); f.flush()' "$LAB/seq.h1" &
  local rx=$!
  sleep 0.5
  nsx "$src" python3 -c '
import socket, struct, sys, time
socks = []
for p in range(43000, 43064):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", p)); socks.append(s)
rate, secs = 1000, 9.0
t0 = time.perf_counter(); n = int(rate * secs)
for i in range(n):
    while time.perf_counter() < t0 + i / rate: pass
    socks[i % 64].sendto(struct.pack("!I", i) + b"x" * 60, ("192.0.2.11", 7000))
print(n)' >"$LAB/seq.sent" &
  local tx=$!
  sleep 2
  "$@"
  wait "$tx"; wait "$rx" 2>/dev/null
  local sent got
  sent=$(cat "$LAB/seq.sent"); got=$(sort -un "$LAB/seq.h1" | wc -l)
  LOST=$((sent - got))
  note "$name: sent $sent, received $got: $LOST ms of outage at 1000 pps"
  echo "$name $LOST" >>"$LAB/ledger"
}

# pe_conf NAME MEMBER CORE-IF ADDR PORT_BASE PEER
pe_conf() {
  cat >"$LAB/$1.yaml" <<YAML
name: ${P}$1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: m0, devargs: "net_af_packet0,iface=$2" }
  - { name: core, devargs: "net_af_packet1,iface=$3", vrf: core, addresses: [$4/24] }
bundles:
  - name: ce1
    members: [m0]
    mac: "02:00:00:00:aa:aa"
    lacp: { mode: active, rate: fast, system-id: "02:00:00:00:aa:06", system-priority: 100, key: 9, port-number-base: $5 }
    es: { esi: "$ESI", df-wait-ms: 500 }
interfaces:
  - { name: ce1.10, parent: ce1, vlan: 10, vrf: red, addresses: [192.0.2.1/24] }
vrfs:
  - { name: core }
  - name: red
    vni: 5000
    ip-aliasing: ${8:-false}
    route-targets: { import: ["65000:5000", "65003:5000"], export: ["65000:5000"] }
    # Sync routes carry the ES-Import RT + EVI-RT only: remote PEs see the subnet (ECMP over
    # both PEs), not per-host routes through whichever PE heard each host.
    sync-rt: es-import
    # A prefix of this PE alone: FRR 8.4's zebra keeps a remote VTEP's router MAC only while
    # a single-path route uses it (FRRouting/frr#14108: with ECMP routes only, the MAC of
    # all but the last VTEP is dropped and the kernel gets a 00:00:00:00:00:00 neighbour).
    routes: [{ prefix: 10.255.0.$7/32, blackhole: true }]
neighbors: { reachable-s: 30, stale-s: 10, retry-ms: 500 }
bgp:
  asn: 65000
  router-id: $4
  vrf: core
  neighbors:
    - { address: $6, remote-as: 65000, hold-time: 9, connect-retry-s: 1 }
    - { address: 10.99.0.3, remote-as: 65003, hold-time: 9, connect-retry-s: 1 }
vxlan: { source: $4 }
api: { socket: $LAB/$1.sock }
YAML
}
pe_conf pe1 l1b c1 10.99.0.1 0x0101 10.99.0.2 1
pe_conf pe2 l2b c2 10.99.0.2 0x0201 10.99.0.1 2

log "PE3: FRR 8.4 (zebra --vrfwnetns + bgpd), L3 VNI 5000 in VRF netns red"
ip -n "$P-pe3" addr add 10.99.0.3/24 dev c3
ip -n "$P-pe3" link add vx5000 type vxlan id 5000 dstport 4789 local 10.99.0.3 nolearning
ip -n "$P-pe3" link set vx5000 netns "$P-pe3red"
ip -n "$P-pe3red" link add br5000 type bridge
ip -n "$P-pe3red" link set br5000 address 02:00:00:00:03:03
ip -n "$P-pe3red" link set vx5000 master br5000 addrgenmode none
ip -n "$P-pe3red" link set vx5000 up
ip -n "$P-pe3red" link set br5000 up
nsx pe3red sysctl -qw net.ipv4.ip_forward=1
nsx pe3red sysctl -qw net.ipv4.fib_multipath_hash_policy=1   # ECMP on the 5-tuple
veth pe3red r3 rh eth0
ip -n "$P-pe3red" addr add 198.51.100.1/24 dev r3
host_addr rh 198.51.100.10/24 198.51.100.1
D=$LAB/frr
mkdir -p "$D/run" "$D/netns"
touch "$D/netns/red"
chmod o+x "$LAB"
cat >"$D/zebra.conf" <<CONF
vrf red
 vni 5000
exit-vrf
CONF
cat >"$D/bgpd.conf" <<CONF
router bgp 65003
 bgp router-id 10.99.0.3
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 10.99.0.1 remote-as 65000
 neighbor 10.99.0.1 timers 3 9
 neighbor 10.99.0.1 timers connect 1
 neighbor 10.99.0.2 remote-as 65000
 neighbor 10.99.0.2 timers 3 9
 neighbor 10.99.0.2 timers connect 1
 address-family l2vpn evpn
  neighbor 10.99.0.1 activate
  neighbor 10.99.0.2 activate
  advertise-all-vni
 exit-address-family
router bgp 65003 vrf red
 bgp router-id 10.99.0.3
 no bgp ebgp-requires-policy
 address-family ipv4 unicast
  redistribute connected
  maximum-paths 8
 exit-address-family
 address-family l2vpn evpn
  advertise ipv4 unicast
  route-target import 65000:5000
  route-target export 65003:5000
 exit-address-family
CONF
chown -R frr:frr "$D"
# zebra and bgpd see only the VRF netns, under the VRF's name (lab-recipes.md §5.2).
for d in zebra bgpd; do
  extra=""; [ $d = zebra ] && extra="--vrfwnetns"
  nsx pe3 sh -c "mount --bind /run/netns/$P-pe3red $D/netns/red && mount --rbind $D/netns /run/netns && \
    exec /usr/lib/frr/$d $extra -d -u frr -g frr -f $D/$d.conf -i $D/run/$d.pid -z $D/run/zserv.api \
    --vty_socket $D/run -A 127.0.0.1 -P 0 --log file:$D/$d.log"
  wait_until 10 test -s "$D/run/$d.pid"
  PIDS+=("$(cat "$D/run/$d.pid")")
done
vty() { nsx pe3 vtysh --vty_socket "$D/run" -c "$@"; }

log "PE1 and PE2 (tandem) start; sessions come up"
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || { FAILED=1; lab_summary; exit 1; }
tandemd_start pe2 pe2 "$LAB/pe2.yaml" || { FAILED=1; lab_summary; exit 1; }
established() { ctl_jq "$1" '[.neighbors[] | select(.state == "Established")] | length == 2' bgp summary; }
check "PE1 has both sessions Established (PE2 iBGP, FRR eBGP)" wait_until 60 established pe1
check "PE2 has both sessions Established" wait_until 30 established pe2
frr_up() { vty 'show bgp summary json' | jq -e '[.l2VpnEvpn.peers[] | select(.state == "Established")] | length == 2' >/dev/null; }
check "FRR has both sessions Established in l2vpn evpn" wait_until 30 frr_up
check "the CE's LAG uses both PEs" wait_until 30 ovs_members_are ce lag0 enabled enabled

log "1. routes: ECMP at PE3 (FRR, kernel), PE3's subnet in tandem's VRF red"
frr_ecmp() {
  vty 'show ip route vrf red 192.0.2.0/24 json' >"$LAB/frr-route.json"
  json_true "$LAB/frr-route.json" '[.["192.0.2.0/24"][0].nexthops[] | select(.fib == true) | .ip] | sort == ["10.99.0.1", "10.99.0.2"]'
}
check "FRR installs 192.0.2.0/24 in VRF red with next hops PE1 and PE2" wait_until 30 frr_ecmp
nsx pe3red ip route show vrf red 2>/dev/null || nsx pe3red ip route show 192.0.2.0/24
check "the kernel of PE3 holds the route with two next hops" bash -c "ip -n $P-pe3red route show 192.0.2.0/24 | grep -c 'nexthop via' | grep -qx 2"
rmac1=$(ctl pe1 --json show evpn core | jq -r '.local[0]."router-mac"')
rmac2=$(ctl pe2 --json show evpn core | jq -r '.local[0]."router-mac"')
note "router MACs: PE1 $rmac1, PE2 $rmac2"
check "PE3's kernel uses PE1's router MAC for its VTEP (from the Router's MAC EC)" \
  bash -c "ip -n $P-pe3red neigh show 10.99.0.1 | grep -qi '$rmac1'"
check "PE3's kernel uses PE2's router MAC for its VTEP" \
  bash -c "ip -n $P-pe3red neigh show 10.99.0.2 | grep -qi '$rmac2'"
core_has_rh() { ctl_jq "$1" '.vrfs.red[] | select(.prefix == "198.51.100.0/24") | .tunnels == [{"vtep": "10.99.0.3", "vni": 5000, "router-mac": "02:00:00:00:03:03"}]' evpn core; }
check "PE1 installs 198.51.100.0/24 through PE3's tunnel (VTEP, VNI, router MAC)" wait_until 20 core_has_rh pe1
check "PE2 does too" wait_until 20 core_has_rh pe2
ctl pe1 show evpn core

log "2. traffic: rh <-> CE hosts across the VXLAN core, spread over PE1 and PE2"
for i in 1 2 3 4; do check "rh reaches h$i (192.0.2.1$i)" ping_ok rh 192.0.2.1$i 5; done
decap() { ctl "$1" --json show counters | jq '.vxlan.decapsulated'; }
d1=$(decap pe1); d2=$(decap pe2)
flows rh
e1=$(( $(decap pe1) - d1 )); e2=$(( $(decap pe2) - d2 ))
note "1280 datagrams from rh: PE1 decapsulated $e1, PE2 $e2"
check "both PEs carry a share of PE3's traffic (each > 20 %)" test "$e1" -gt 256 -a "$e2" -gt 256
check "together they carry all of it" test $((e1 + e2)) -ge 1280

log "3. failure: PE1's ES member goes down under a 1000 pps stream from rh to h1"
# member_down: PE1's member goes down; notes when PE1 repaired and when FRR converged.
member_down() {
  local t0; t0=$(date +%s%N)
  since() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
  ip -n "$P-pe1" link set l1b down
  if time_until 20 ctl_jq pe1 '."down-interfaces" == ["ce1.10"]' evpn core >/dev/null; then ms=$(since); else ms=timeout; fi
  note "PE1 repaired locally (ES interface out of its FIB, RT-5 withdrawn) ${ms} ms after its member went down"
  if time_until 20 bash -c "! ip -n $P-pe3red route show 192.0.2.0/24 | grep -q 10.99.0.1" >/dev/null; then ms=$(since); else ms=timeout; fi
  note "PE3's kernel dropped PE1 from the ECMP route ${ms} ms after the failure"
}
outage "FRR PE3, member down" rh member_down
check "the stream survived the failure (outage under 1 s)" test "$LOST" -lt 1000
check "FRR's route now has PE2 only" bash -c "ip -n $P-pe3red route show 192.0.2.0/24 | grep -q 10.99.0.2 && ! ip -n $P-pe3red route show 192.0.2.0/24 | grep -q 10.99.0.1"
for i in 1 2 3 4; do check "rh still reaches h$i" ping_ok rh 192.0.2.1$i 5; done

log "4. PE3 = tandem; PE1 and PE2 with IP aliasing"
for pid in $(cat "$D/run/bgpd.pid" "$D/run/zebra.pid"); do kill "$pid" 2>/dev/null || true; done
ip -n "$P-pe1" link set l1b up
ip -n "$P-pe3" addr del 10.99.0.3/24 dev c3
netns_add rt
veth pe3 r3t rt eth0
host_addr rt 198.51.100.10/24 198.51.100.1
cat >"$LAB/pe3.yaml" <<YAML
name: ${P}pe3
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: core, devargs: "net_af_packet0,iface=c3", vrf: core, addresses: [10.99.0.3/24] }
  - { name: acc, devargs: "net_af_packet1,iface=r3t", vrf: red, addresses: [198.51.100.1/24] }
vrfs:
  - { name: core }
  - name: red
    vni: 5000
    router-mac: "02:00:00:00:03:03"
    route-targets: { import: ["65000:5000"], export: ["65003:5000"] }
bgp:
  asn: 65003
  router-id: 10.99.0.3
  vrf: core
  neighbors:
    - { address: 10.99.0.1, remote-as: 65000, hold-time: 3, connect-retry-s: 1 }
    - { address: 10.99.0.2, remote-as: 65000, hold-time: 3, connect-retry-s: 1 }
vxlan: { source: 10.99.0.3 }
api: { socket: $LAB/pe3.sock }
YAML
for n in pe1 pe2; do eval "kill \$PID_$n"; eval "wait \$PID_$n" 2>/dev/null; done
pe_conf pe1 l1b c1 10.99.0.1 0x0101 10.99.0.2 1 true
pe_conf pe2 l2b c2 10.99.0.2 0x0201 10.99.0.1 2 true
tandemd_start pe1 pe1 "$LAB/pe1.yaml" && tandemd_start pe2 pe2 "$LAB/pe2.yaml" && tandemd_start pe3 pe3 "$LAB/pe3.yaml" || { FAILED=1; lab_summary; exit 1; }
check "PE3 (tandem) has both sessions Established" wait_until 60 established pe3
check "the CE's LAG uses both PEs again" wait_until 30 ovs_members_are ce lag0 enabled enabled
both() { ctl_jq pe3 '.vrfs.red[] | select(.prefix == "192.0.2.0/24") | (.esi == ["'$ESI'"]) and ([.tunnels[].vtep] == ["10.99.0.1", "10.99.0.2"])' evpn core; }
check "PE3 resolves 192.0.2.0/24 (ESI overlay index) to both PEs through their A-D routes" wait_until 30 both
check "PE3 knows the segment from both PEs' A-D per-ES routes" ctl_jq pe3 '.segments[] | select(.esi == "'$ESI'") | .pes == ["10.99.0.1", "10.99.0.2"]' evpn core
ctl pe3 show evpn core
for i in 1 2 3 4; do check "rt reaches h$i through tandem PE3" ping_ok rt 192.0.2.1$i 5; done
d1=$(decap pe1); d2=$(decap pe2)
flows rt
e1=$(( $(decap pe1) - d1 )); e2=$(( $(decap pe2) - d2 ))
note "1280 datagrams from rt: PE1 decapsulated $e1, PE2 $e2"
check "tandem PE3 spreads the flows over both PEs (each > 20 %)" test "$e1" -gt 256 -a "$e2" -gt 256

fib1=$(ctl pe3 --json show counters | jq '.control.fib_builds')
outage "tandem PE3, member down (mass withdraw)" rt ip -n "$P-pe1" link set l1b down
check "PE3 counted a mass withdraw" ctl_jq pe3 '.stats.mass_withdraws >= 1' evpn core
check "PE3's group now holds PE2 only" ctl_jq pe3 '.vrfs.red[] | select(.prefix == "192.0.2.0/24") | [.tunnels[].vtep] == ["10.99.0.2"]' evpn core
fib2=$(ctl pe3 --json show counters | jq '.control.fib_builds')
check "PE3 rewrote the segment's group only: no FIB rebuild ($fib1 -> $fib2)" test "$fib1" = "$fib2"
check "the member-down outage stays under 500 ms" test "$LOST" -lt 500
ctl pe1 --json show es ce1 events >"$LAB/ev1.json"
ctl pe3 --json show es "$ESI" events >"$LAB/ev3.json"
ctl pe1 show es ce1 events | tail -6
ctl pe3 show es "$ESI" events | tail -3
# ev FILE WHAT: the time (unix µs) of the last event WHAT.
ev() { jq "[.events[] | select(.what == \"$2\")] | last | .unix_us" "$1"; }
check "PE1 logged member-down, redirect, es-down and routes-withdrawn, in that order" json_true "$LAB/ev1.json" \
  '[.events[] | .what] | (map(select(. == "member-down" or . == "es-down" or . == "redirect" or . == "routes-withdrawn")) | .[-4:]) == ["member-down", "redirect", "es-down", "routes-withdrawn"]'
check "PE1's redirect names the overlay route through PE2" json_true "$LAB/ev1.json" \
  '[.events[] | select(.what == "redirect")] | last | .detail == "ce1.10: 192.0.2.0/24 via 10.99.0.2"'
check "PE3 logged the withdrawal it received and the group rewrite after it" json_true "$LAB/ev3.json" \
  '[.events[] | select(.what == "withdraw-received" or .what == "fib-updated") | .what] | .[-2:] == ["withdraw-received", "fib-updated"]'
down=$(ev "$LAB/ev1.json" member-down); redir=$(ev "$LAB/ev1.json" redirect); sent=$(ev "$LAB/ev1.json" routes-withdrawn)
recv=$(ev "$LAB/ev3.json" withdraw-received); fib=$(ev "$LAB/ev3.json" fib-updated)
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
note "timeline (ms after PE1 saw its member down): redirect $(ms "$down" "$redir"), withdraw sent $(ms "$down" "$sent"), received by PE3 $(ms "$down" "$recv"), PE3's groups published $(ms "$down" "$fib")"
echo "tandem PE3, member down: PE3 groups published after the withdrawal left PE1 (ms) $(ms "$sent" "$fib")" >>"$LAB/ledger"
echo "tandem PE3, member down: PE1 redirect after member down (ms) $(ms "$down" "$redir")" >>"$LAB/ledger"
check "PE3 converged within 50 ms of PE1's withdrawal" test $(( fib - sent )) -lt 50000
ip -n "$P-pe1" link set l1b up
check "PE1 back in PE3's group" wait_until 30 both

outage "tandem PE3, core link down" rt ip -n "$P-core" link set k1 down
check "PE3 dropped PE1 after its hold time" ctl_jq pe3 '.vrfs.red[] | select(.prefix == "192.0.2.0/24") | [.tunnels[].vtep] == ["10.99.0.2"]' evpn core
ip -n "$P-core" link set k1 up
check "PE1 back in PE3's group" wait_until 60 both

outage "tandem PE3, PE1 killed" rt kill -9 "$PID_pe1"
check "PE3 dropped PE1" ctl_jq pe3 '.vrfs.red[] | select(.prefix == "192.0.2.0/24") | [.tunnels[].vtep] == ["10.99.0.2"]' evpn core
for i in 1 2 3 4; do check "rt still reaches h$i" ping_ok rt 192.0.2.1$i 5; done
log "convergence ledger (ms of outage at 1000 pps, 64 flows over 2 PEs)"
cat "$LAB/ledger"
[ -n "${LEDGER_OUT:-}" ] && cat "$LAB/ledger" >>"$LEDGER_OUT"
lab_summary
