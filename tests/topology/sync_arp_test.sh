#!/usr/bin/env bash
# Test description: the draft's problem 1.1 and its fix, ARP/ND sync with RT-2. A CE (Open
# vSwitch, LACP bond hashing by source MAC, so each host's frames reach one PE only) is
# dual-homed to two tandem PEs in all-active mode; CUST1 (VLAN 10) and CUST2 (VLAN 20) both
# use 192.0.2.0/24 and 2001:db8:1::/64 behind the same ES. A remote host "rs" reaches the
# customer subnet through the PE that does NOT hear the host (the "far" PE).
#  1. Without BGP between the PEs the far PE cannot resolve the host: pings from rs fail.
#  2. With BGP, the PE that hears the host sends RT-2 (ESI, Ethernet Tag = VLAN, MAC, IP);
#     the far PE installs the neighbour in the right VRF on the right sub-interface and the
#     same pings cross, IPv4 and IPv6; CUST1 and CUST2 entries do not leak into each other.
#  3. CE-route sync (RT-5, the draft's problem 1.3): 203.0.113.0/24 behind the CE is a static
#     route on the PE that hears the CE only; the other PE installs it from RT-5, gateway-based
#     in CUST1 (GW IP = the CE) and ESI-based in CUST2, and rs reaches it through that PE.
#  4. IGMP/MLD sync (RT-7/RT-8, problem 1.2's control half): h1 joins 239.1.1.1 with IGMPv2
#     and ff0e::1:1 with MLDv2, h2 joins 239.2.2.2 with IGMPv3; their reports reach one PE; the other holds the same
#     memberships on the right sub-interfaces from RT-7 (tshark decodes them on the core link);
#     h1 leaves: RT-8, then the RT-7 is withdrawn and both PEs drop the membership.
#  5. The host goes silent: both PEs drop it within the neighbour timers.
#  6. Multicast to the CE exactly once (problem 1.2): rs sends a sequenced 239.1.1.1 stream into
#     both PEs (each PE's "rem" interface is a static multicast upstream); h1 is a member behind
#     the ES; only the DF of (ES, VLAN 10) forwards, so h1 gets every packet once, and still
#     once after the DF is stopped and the other PE takes over.
. "$(dirname "$0")/lib.sh"
lab_init
log "CE (OVS balance-slb bond) dual-homed to PE1 and PE2; remote host rs behind both PEs"
for ns in ce pe1 pe2 h1 h2 h3 rs; do netns_add $ns; done
veth ce l1a pe1 l1b
veth ce l2a pe2 l2b
veth pe1 c1 pe2 c2            # core link: iBGP between the PEs
veth pe1 x1 rs r1             # remote side, CUST1
veth pe2 x2 rs r2
veth ce sw-h1 h1 eth0
veth ce sw-h2 h2 eth0
veth ce sw-h3 h3 eth0         # a second host on VLAN 10 (group-specific query check)
ip -n "$P-h1" link set eth0 address 02:00:00:00:01:11
ip -n "$P-h2" link set eth0 address 02:00:00:00:02:11
host_addr h1 192.0.2.11/24 192.0.2.1
host_addr h2 192.0.2.11/24 192.0.2.1
host_addr h3 192.0.2.13/24 192.0.2.1
for h in h1 h2; do ip -n "$P-$h" addr add 203.0.113.1/32 dev lo; done   # the CEs' own prefix
for h in h1 h2; do
  ip -n "$P-$h" addr add 2001:db8:1::11/64 dev eth0 nodad
  ip -n "$P-$h" -6 route add default via 2001:db8:1::1
done
ip -n "$P-rs" addr add 10.1.1.2/30 dev r1
ip -n "$P-rs" addr add 10.1.2.2/30 dev r2
ip -n "$P-rs" addr add fd00:1::2/64 dev r1 nodad
ip -n "$P-rs" addr add fd00:2::2/64 dev r2 nodad
ip -n "$P-rs" addr add 198.51.100.10/32 dev lo
ip -n "$P-rs" addr add 2001:db8:99::10/128 dev lo
ovs_ce_lag balance-slb 10,20 other_config:bond-rebalance-interval=0
vsctl ce add-port br0 sw-h1 tag=10
vsctl ce add-port br0 sw-h2 tag=20
vsctl ce add-port br0 sw-h3 tag=10
ESI="00:11:22:33:44:55:00:00:00:02"

# pe_conf NAME MEMBER CORE ADDR PEER PORT_BASE REMOTE_IF REMOTE_NET NEIGHBORS
pe_conf() {
  cat >"$LAB/$1.yaml" <<YAML
name: ${P}$1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: m0, devargs: "net_af_packet0,iface=$2" }
  - { name: core, devargs: "net_af_packet1,iface=$3", vrf: core, addresses: [$4/30] }
  - { name: rem, devargs: "net_af_packet2,iface=$7", vrf: CUST1, addresses: [$8.1/30, "fd00:${8##*.}::1/64"] }
bundles:
  - name: ce1
    members: [m0]
    mac: "02:00:00:00:aa:aa"
    lacp: { mode: active, rate: fast, system-id: "02:00:00:00:aa:02", system-priority: 100, key: 9, port-number-base: $6 }
    es: { esi: "$ESI", df-wait-ms: 500 }
interfaces:
  - { name: ce1.10, parent: ce1, vlan: 10, vrf: CUST1, addresses: [192.0.2.1/24, "2001:db8:1::1/64"] }
  - { name: ce1.20, parent: ce1, vlan: 20, vrf: CUST2, addresses: [192.0.2.1/24, "2001:db8:1::1/64"] }
vrfs:
  - { name: core }
  - name: CUST1
    route-targets: { import: ["65000:1"], export: ["65000:1"] }
    routes: [{ prefix: 198.51.100.10/32, via: $8.2 }, { prefix: "2001:db8:99::10/128", via: "fd00:${8##*.}::2" }$(ce_route "$1")]
    multicast-upstream: [rem]
  - name: CUST2
    route-targets: { import: ["65000:2"], export: ["65000:2"] }
    sync-rt: es-import
    ce-route-sync: esi
    routes: [$(ce_route "$1" | cut -c3-)]
neighbors: { reachable-s: 6, stale-s: 3, retry-ms: 1000 }
bgp:
  asn: 65000
  router-id: $4
  vrf: core
  neighbors: [$9]
api: { socket: $LAB/$1.sock }
YAML
}
# ce_route NAME: the static route toward the CE's prefix, on the PE that hears the CE only.
ce_route() { [ "$1" = "${STATIC_ON:-}" ] && echo ", { prefix: 203.0.113.0/24, via: 192.0.2.11 }"; }
# pes WITH_BGP(0|1): (re)start both PEs.
pes() {
  for n in pe1 pe2; do
    eval "pid=\${PID_$n:-}"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null; fi
  done
  local n1="" n2=""
  if [ "$1" = 1 ]; then
    n1="{ address: 10.0.3.2, remote-as: 65000, hold-time: 9, connect-retry-s: 1 }"
    n2="{ address: 10.0.3.1, remote-as: 65000, hold-time: 9, connect-retry-s: 1 }"
  fi
  pe_conf pe1 l1b c1 10.0.3.1 10.0.3.2 0x0101 x1 10.1.1 "$n1"
  pe_conf pe2 l2b c2 10.0.3.2 10.0.3.1 0x0201 x2 10.1.2 "$n2"
  tandemd_start pe1 pe1 "$LAB/pe1.yaml" && tandemd_start pe2 pe2 "$LAB/pe2.yaml" &&
    wait_until 30 ovs_members_are ce lag0 enabled enabled
}
# learner: which PE hears h1 (its ARP for the gateway reaches one link only).
origin_of() { ctl "$1" --json show neighbors CUST1 | jq -r --arg ip "$2" '.[] | select(.ip == $ip) | .origin'; }

log "1. no BGP between the PEs (no sync)"
pes 0 || { FAILED=1; lab_summary; exit 1; }
nsx h1 ping -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null; nsx h2 ping -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null
nsx h1 ping -6 -c 2 -i 0.3 -W 1 2001:db8:1::1 >/dev/null
if [ "$(origin_of pe1 192.0.2.11)" = local ]; then LEARNER=pe1 FAR=pe2 FARNET=10.1.2.1 FARNET6=fd00:2::1
else LEARNER=pe2 FAR=pe1 FARNET=10.1.1.1 FARNET6=fd00:1::1; fi
note "h1's frames reach $LEARNER only; rs sends to the customer subnet through $FAR"
check "$LEARNER learnt h1 locally, $FAR did not" bash -c "[ \"\$('$BIN/tandemctl' --socket '$LAB/$LEARNER.sock' --json show neighbors CUST1 | jq -r '.[] | select(.ip==\"192.0.2.11\") | .origin')\" = local ] && [ -z \"\$('$BIN/tandemctl' --socket '$LAB/$FAR.sock' --json show neighbors CUST1 | jq -r '.[] | select(.ip==\"192.0.2.11\") | .origin')\" ]"
ip -n "$P-rs" route replace 192.0.2.0/24 via "$FARNET"
ip -n "$P-rs" -6 route replace 2001:db8:1::/64 via "$FARNET6"
nsx rs ping -c 1 -W 1 "$FARNET" >/dev/null 2>&1   # resolve rs on the far PE first
nsx rs ping -c 5 -i 0.3 -W 1 -I 198.51.100.10 192.0.2.11 >"$LAB/nosync.ping" 2>&1
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB/nosync.ping")
note "rs -> h1 via $FAR without sync: ${rx:-0}/5 answered"
check "without sync, $FAR cannot deliver to h1 (0 of 5 answered)" test "${rx:-0}" -eq 0
check "$FAR tried to resolve h1 (its ARP replies went to $LEARNER)" ctl_jq "$FAR" '.control.solicits_sent > 0' counters

log "2. with BGP: ARP/ND sync"
STATIC_ON=$LEARNER
pes 1 || { FAILED=1; lab_summary; exit 1; }
both_up() { ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary && ctl_jq pe2 '.neighbors[0].state == "Established"' bgp summary; }
wait_until 30 both_up >/dev/null
nsx h1 ping -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null; nsx h2 ping -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null
nsx h1 ping -6 -c 2 -i 0.3 -W 1 2001:db8:1::1 >/dev/null; nsx h2 ping -6 -c 2 -i 0.3 -W 1 2001:db8:1::1 >/dev/null
synced() { ctl_jq "$FAR" "any(.[]; .ip == \"$2\" and .mac == \"$3\" and .interface == \"$4\" and (.origin | startswith(\"synced\")))" neighbors "$1"; }
ms=$(time_until 20 synced CUST1 192.0.2.11 02:00:00:00:01:11 ce1.10) || ms=timeout
note "h1 synced to $FAR ${ms} ms after h1's pings"
ctl "$FAR" show neighbors
check "$FAR: h1 in CUST1 on ce1.10 with h1's MAC, synced from $LEARNER" synced CUST1 192.0.2.11 02:00:00:00:01:11 ce1.10
check "$FAR: h2 in CUST2 on ce1.20 with h2's MAC (same IP, other VRF)" wait_until 10 synced CUST2 192.0.2.11 02:00:00:00:02:11 ce1.20
check "$FAR: h1's IPv6 address synced in CUST1 (ND)" wait_until 10 synced CUST1 2001:db8:1::11 02:00:00:00:01:11 ce1.10
check "nothing leaks: no h2 MAC in CUST1, no h1 MAC in CUST2" bash -c "
  ! '$BIN/tandemctl' --socket '$LAB/$FAR.sock' --json show neighbors CUST1 | jq -e 'any(.[]; .mac == \"02:00:00:00:02:11\")' >/dev/null &&
  ! '$BIN/tandemctl' --socket '$LAB/$FAR.sock' --json show neighbors CUST2 | jq -e 'any(.[]; .mac == \"02:00:00:00:01:11\")' >/dev/null"
ctl "$LEARNER" show sync
check "$LEARNER sent RT-2 for h1: ESI, tag 10, RT 65000:1" ctl_jq "$LEARNER" \
  "any(.segments[0].sent[]; .ip == \"192.0.2.11\" and .tag == 10 and .mac == \"02:00:00:00:01:11\" and (.communities | index(\"rt:65000:1\")))" sync
check "$LEARNER sent RT-2 for h2 with the ES-Import RT + EVI-RT (sync-rt: es-import), tag 20" ctl_jq "$LEARNER" \
  "any(.segments[0].sent[]; .ip == \"192.0.2.11\" and .tag == 20 and (.communities | index(\"es-import:11:22:33:44:55:00\")) and (.communities | any(startswith(\"evi-rt:\"))))" sync
check "$FAR lists what it received and from whom" ctl_jq "$FAR" \
  "[.segments[0].received[] | select(.ip == \"192.0.2.11\")] | length == 2 and all(.[]; .from != null)" sync
nsx rs ping -c 1 -W 1 "$FARNET" >/dev/null 2>&1
nsx rs ping -c 5 -i 0.3 -W 1 -I 198.51.100.10 192.0.2.11 >"$LAB/sync.ping" 2>&1
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB/sync.ping")
note "rs -> h1 via $FAR with sync: ${rx:-0}/5 answered"
check "rs -> h1 (IPv4) through $FAR now crosses (at least 4 of 5)" test "${rx:-0}" -ge 4
nsx rs ping -6 -c 5 -i 0.3 -W 1 -I 2001:db8:99::10 2001:db8:1::11 >"$LAB/sync6.ping" 2>&1
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB/sync6.ping")
note "rs -> h1 (IPv6) via $FAR with sync: ${rx:-0}/5 answered"
check "rs -> h1 (IPv6) through $FAR crosses (at least 4 of 5)" test "${rx:-0}" -ge 4
check "replies came back through $LEARNER (h1's frames still reach one PE only)" bash -c "[ -z \"\$('$BIN/tandemctl' --socket '$LAB/$FAR.sock' --json show neighbors CUST1 | jq -r '.[] | select(.ip==\"192.0.2.11\") | .origin | select(startswith(\"local\"))')\" ]"

log "3. CE-route sync: 203.0.113.0/24 is a static route on $LEARNER only"
rt5() { ctl_jq "$FAR" "any(.[]; .prefix == \"203.0.113.0/24\" and .nexthop == \"192.0.2.11\" and .interface == \"$2\" and (.source | startswith(\"evpn-sync\")))" routes "$1"; }
ms=$(time_until 15 rt5 CUST1 ce1.10) || ms=timeout
note "$FAR installed the CUST1 route ${ms} ms later"
ctl "$FAR" show routes CUST1 | grep -E "prefix|203.0.113" | sed 's/^/   /'
check "$FAR: 203.0.113.0/24 via 192.0.2.11 on ce1.10 in CUST1 (gateway-based RT-5)" rt5 CUST1 ce1.10
check "$FAR: 203.0.113.0/24 via 192.0.2.11 on ce1.20 in CUST2 (ESI-based RT-5, next hop = the CE known there)" wait_until 10 rt5 CUST2 ce1.20
check "$LEARNER sent both: gateway-based (GW 192.0.2.11, tag 10) and ESI-based (tag 20)" ctl_jq "$LEARNER" \
  '[.segments[0].sent[] | select(.type == 5)] | (any(.[]; .gw == "192.0.2.11" and .tag == 10 and (.esi_based | not)) and any(.[]; .tag == 20 and .esi_based))' sync
ip -n "$P-rs" route replace 203.0.113.0/24 via "$FARNET"
nsx rs ping -c 5 -i 0.3 -W 1 -I 198.51.100.10 203.0.113.1 >"$LAB/rt5.ping" 2>&1
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB/rt5.ping")
note "rs -> 203.0.113.1 via $FAR: ${rx:-0}/5 answered"
check "rs reaches the CE's prefix through $FAR, which has no static route for it" test "${rx:-0}" -ge 4

log "4. IGMP sync: h1 joins 239.1.1.1 (IGMPv2), h2 joins 239.2.2.2 (IGMPv3)"
# Capture where the far PE receives (a DPDK af_packet port's own transmissions are not seen
# by other sockets on its interface).
if [ "$FAR" = pe2 ]; then CAPNS=pe2 CAPIF=c2; else CAPNS=pe1 CAPIF=c1; fi
ip netns exec "$P-$CAPNS" tshark -i "$CAPIF" -f "tcp port 179" -w "$LAB/core.pcap" -q >"$LAB/tshark.log" 2>&1 &
TSHARK=$!; PIDS+=("$TSHARK")
wait_until 10 test -s "$LAB/core.pcap"
nsx h1 sysctl -qw net.ipv4.conf.eth0.force_igmp_version=2
nsx h3 sysctl -qw net.ipv4.conf.eth0.force_igmp_version=2
# IGMPv2 hosts send a Leave only if they sent the last report (RFC 2236 §3): repeat unsolicited
# reports within 100 ms so the order of joins below decides who that is.
for h in h1 h3; do nsx $h sysctl -qw net.ipv4.conf.eth0.igmpv2_unsolicited_report_interval=100; done
join() {   # NS GROUP [ADDR]: a receiver that stays joined until killed
  ip netns exec "$P-$1" python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])))
time.sleep(120)' "$2" "${3:-192.0.2.11}" >/dev/null 2>&1 &
  echo $!
}
J1=$(join h1 239.1.1.1); J2=$(join h2 239.2.2.2)
PIDS+=("$J1" "$J2")
member() {  # PE VRF IFACE GROUP ORIGIN-PREFIX
  ctl_jq "$1" "any(.memberships[]; .vrf == \"$2\" and .interface == \"$3\" and .group == \"$4\" and .source == null and $5)" multicast
}
ms=$(time_until 15 member "$FAR" CUST1 ce1.10 239.1.1.1 '.synced_from != null') || ms=timeout
note "$FAR holds h1's membership ${ms} ms after the join"
ctl "$LEARNER" show multicast; ctl "$FAR" show multicast
check "$LEARNER: (*,239.1.1.1) on ce1.10 in CUST1, local, IGMPv2" member "$LEARNER" CUST1 ce1.10 239.1.1.1 '.local and .version == 2'
check "$FAR: (*,239.1.1.1) on ce1.10 in CUST1 from RT-7, not local" member "$FAR" CUST1 ce1.10 239.1.1.1 '(.local | not) and .synced_from != null'
check "$FAR: (*,239.2.2.2) on ce1.20 in CUST2 from RT-7 (IGMPv3, ES-Import RT + EVI-RT)" wait_until 10 member "$FAR" CUST2 ce1.20 239.2.2.2 '.synced_from != null and .version == 3'
J6=$(ip netns exec "$P-h1" python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff0e::1:1") + struct.pack("@I", socket.if_nametoindex("eth0")))
time.sleep(120)' >/dev/null 2>&1 & echo $!)
PIDS+=("$J6")
check "$FAR: (*,ff0e::1:1) on ce1.10 in CUST1 from RT-7 (MLDv2 join heard by $LEARNER)" wait_until 15 member "$FAR" CUST1 ce1.10 ff0e::1:1 '.synced_from != null and .version == 2'
check "nothing leaks: 239.1.1.1 not in CUST2, 239.2.2.2 not in CUST1" bash -c "
  ! '$BIN/tandemctl' --socket '$LAB/$FAR.sock' --json show multicast | jq -e 'any(.memberships[]; (.group == \"239.1.1.1\" and .vrf == \"CUST2\") or (.group == \"239.2.2.2\" and .vrf == \"CUST1\"))' >/dev/null"
log "h1 leaves 239.1.1.1"
kill "$J1"
ms=$(time_until 15 bash -c "! '$BIN/tandemctl' --socket '$LAB/$FAR.sock' --json show multicast | jq -e 'any(.memberships[]; .group == \"239.1.1.1\")' >/dev/null") || ms=timeout
note "$FAR dropped (*,239.1.1.1) ${ms} ms after h1 left (last member query time 2 s)"
check "both PEs dropped (*,239.1.1.1)" bash -c "for pe in pe1 pe2; do ! '$BIN/tandemctl' --socket '$LAB/'\$pe'.sock' --json show multicast | jq -e 'any(.memberships[]; .group == \"239.1.1.1\")' >/dev/null || exit 1; done"
check "h2's membership stays" member "$FAR" CUST2 ce1.20 239.2.2.2 '.synced_from != null'
log "two members of 239.3.3.3 on VLAN 10 (h1, h3); h1 leaves: the group-specific query keeps h3's"
K3=$(join h3 239.3.3.3 192.0.2.13); sleep 1; K1=$(join h1 239.3.3.3); sleep 1   # h1 reports last
PIDS+=("$K1" "$K3")
has33() { ctl_jq "$1" 'any(.memberships[]; .group == "239.3.3.3" and .interface == "ce1.10")' multicast; }
check "both PEs hold (*,239.3.3.3) on ce1.10" wait_until 15 bash -c "$(declare -f ctl ctl_jq has33); BIN='$BIN' LAB='$LAB'; has33 pe1 && has33 pe2"
kill "$K1"
sleep 4
check "4 s after h1's leave (last member query time 2 s) both PEs still hold it: h3 answered the query" bash -c "$(declare -f ctl ctl_jq has33); BIN='$BIN' LAB='$LAB'; has33 pe1 && has33 pe2"
check "a PE sent the group-specific query" bash -c "[ \$(( \$('$BIN/tandemctl' --socket '$LAB/pe1.sock' --json show multicast | jq .igmp.queries_sent) + \$('$BIN/tandemctl' --socket '$LAB/pe2.sock' --json show multicast | jq .igmp.queries_sent) )) -ge 1 ]"
kill "$K3"
gone33() { ! has33 pe1 && ! has33 pe2; }
ms=$(time_until 15 gone33) || ms=timeout
note "(*,239.3.3.3) gone from both PEs ${ms} ms after the last member left"
check "the last member left: gone from both PEs" gone33
sleep 0.5; kill -INT "$TSHARK"; wait "$TSHARK" 2>/dev/null
tshark -r "$LAB/core.pcap" -Y 'bgp.evpn.nlri.rt == 7 || bgp.evpn.nlri.rt == 8' -T fields -e bgp.evpn.nlri.rt -e bgp.evpn.nlri.etag >"$LAB/mc.fields" 2>/dev/null
note "tshark, RT-7/RT-8 on the core link (type, Ethernet Tag): $(sort -u "$LAB/mc.fields" | tr '\t\n' ' ,')"
check "tshark decodes RT-7 (tag 10 and 20) and sees an RT-8 (tag 10) from tandem" bash -c "
  grep -Pq '^7\t10' '$LAB/mc.fields' && grep -Pq '^7\t20' '$LAB/mc.fields' && grep -Pq '^8(,|\t).*10' '$LAB/mc.fields'"
# Wireshark dissects RT-8 like RT-7 and misses RFC 9251's Reserved/Max Response Time octets
# (evpn-routes.md §3.8), so frames with an RT-8 are left out of the malformed check.
malformed=$(tshark -r "$LAB/core.pcap" -Y 'bgp && !(bgp.evpn.nlri.rt == 8) && (_ws.malformed || _ws.expert.severity == error)' 2>/dev/null | wc -l)
check "tshark: no malformed BGP frame on the core link apart from RT-8's known dissector gap ($malformed)" test "$malformed" -eq 0

log "5. h1 goes silent: both PEs drop it within the neighbour timers (6 s + 3 s)"
ip -n "$P-h1" addr flush dev eth0
t0=$(date +%s%N)
gone() { ! ctl "$1" --json show neighbors CUST1 | jq -e 'any(.[]; .ip == "192.0.2.11")' >/dev/null; }
ms=$(time_until 30 gone "$LEARNER") || ms=timeout
note "$LEARNER dropped h1 ${ms} ms after h1 went silent"
ms2=$(time_until 30 gone "$FAR") || ms2=timeout
note "$FAR dropped it $(( ($(date +%s%N) - t0) / 1000000 )) ms after"
check "$LEARNER removed h1" gone "$LEARNER"
check "$FAR removed h1 (RT-2 withdrawn)" gone "$FAR"
check "h2 is still there on $FAR" synced CUST2 192.0.2.11 02:00:00:00:02:11 ce1.20
log "6. multicast 239.1.1.1 from rs into both PEs; h1 (behind the ES) must get each packet once"
ip -n "$P-h1" addr add 192.0.2.11/24 dev eth0
ip -n "$P-h1" route replace default via 192.0.2.1
ip netns exec "$P-h1" python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 5000))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.1.1.1"), socket.inet_aton("192.0.2.11")))
s.settimeout(15)
with open(sys.argv[1], "w") as f:
    while True:
        try: d, _ = s.recvfrom(64)
        except socket.timeout: break
        f.write("%d\n" % struct.unpack("!I", d[:4])[0]); f.flush()' "$LAB/mc.rx" >/dev/null 2>&1 &
RX=$!; PIDS+=("$RX")
check "both PEs hold (*,239.1.1.1) on ce1.10 (one local, one synced)" wait_until 15 bash -c "
  '$BIN/tandemctl' --socket '$LAB/pe1.sock' --json show multicast | jq -e 'any(.memberships[]; .group == \"239.1.1.1\")' >/dev/null &&
  '$BIN/tandemctl' --socket '$LAB/pe2.sock' --json show multicast | jq -e 'any(.memberships[]; .group == \"239.1.1.1\")' >/dev/null"
log "IPv6: ff0e::1:1 (h1's MLDv2 membership from step 4) from rs into both PEs"
ip -n "$P-h1" addr add 2001:db8:1::11/64 dev eth0 nodad 2>/dev/null
ip netns exec "$P-h1" python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", 5001))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff0e::1:1") + struct.pack("@I", socket.if_nametoindex("eth0")))
s.settimeout(4)
with open(sys.argv[1], "w") as f:
    while True:
        try: d, _ = s.recvfrom(64)
        except socket.timeout: break
        f.write("%d\n" % struct.unpack("!I", d[:4])[0]); f.flush()' "$LAB/mc6.rx" >/dev/null 2>&1 &
RX6=$!; PIDS+=("$RX6")
sleep 0.5
ip netns exec "$P-rs" python3 -c '
import socket, struct, time
socks = []
for ifn in ("r1", "r2"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifn))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 8)
    socks.append(s)
t0 = time.perf_counter()
for i in range(300):
    while time.perf_counter() < t0 + i / 300: pass
    for s in socks: s.sendto(struct.pack("!I", i) + b"6" * 60, ("ff0e::1:1", 5001))'
sleep 1
total6=$(wc -l <"$LAB/mc6.rx"); uniq6=$(sort -un "$LAB/mc6.rx" | wc -l)
note "IPv6 stream: sent 300, h1 received $total6 ($uniq6 distinct)"
check "IPv6 multicast reaches h1 once per packet (>= 95 %, no duplicate)" test "$total6" -eq "$uniq6" -a "$uniq6" -ge 285
DFPE=$(ctl pe1 --json show es | jq -r '.[0].df[] | select(.vlan == 10) | .df')
if [ "$DFPE" = 10.0.3.1 ]; then DF=pe1 NONDF=pe2; else DF=pe2 NONDF=pe1; fi
note "DF of (ES, VLAN 10): $DF ($DFPE)"
rem_rx() { ctl "$1" --json show interfaces | jq '.[] | select(.name == "rem") | .rx_packets'; }
a1=$(rem_rx pe1); a2=$(rem_rx pe2)
ip netns exec "$P-rs" python3 -c '
import socket, struct, sys, time
socks = []
for ifaddr in ("10.1.1.2", "10.1.2.2"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    socks.append(s)
n = int(sys.argv[1]); t0 = time.perf_counter()
for i in range(n):
    while time.perf_counter() < t0 + i / 300: pass
    for s in socks: s.sendto(struct.pack("!I", i) + b"m" * 60, ("239.1.1.1", 5000))
print(n)' 1800 >"$LAB/mc.sent" &
TX=$!
sleep 3
b1=$(rem_rx pe1); b2=$(rem_rx pe2)
note "in 3 s each PE received the stream on its upstream: pe1 +$((b1 - a1)), pe2 +$((b2 - a2)) packets"
check "both PEs receive every packet from rs (without the DF rule the CE would get two copies)" \
  test $((b1 - a1)) -gt 500 -a $((b2 - a2)) -gt 500
log "stop the DF ($DF) mid-stream"
kill "$(eval echo "\$PID_$DF")"
wait "$TX"
sent=$(cat "$LAB/mc.sent")
sleep 1
total=$(wc -l <"$LAB/mc.rx"); uniq=$(sort -un "$LAB/mc.rx" | wc -l)
note "sent $sent, h1 received $total ($uniq distinct): $((total - uniq)) duplicates, $((sent - uniq)) lost across the DF change"
check "h1 got no packet twice" test "$total" -eq "$uniq"
check "h1 got the stream before and after the DF change (>= 90 %)" test "$uniq" -ge $((sent * 9 / 10))
check "$NONDF is now DF for VLAN 10" ctl_jq "$NONDF" 'any(.[0].df[]; .vlan == 10 and .local_is_df)' es
lab_summary
