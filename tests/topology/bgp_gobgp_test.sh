#!/usr/bin/env bash
# Test description: tandemd speaks BGP with GoBGP (a peer nobody here wrote) from its VRF
# host namespace, i.e. through the DPDK port and the exception path. The session reaches
# Established on both sides; EVPN routes GoBGP originates (RT-1 A-D per ES, RT-2 MAC/IP, RT-4
# ES, RT-5 IP prefix) are decoded by tandem field by field; a withdrawal removes one; killing
# GoBGP takes the session down and flushes its routes.
. "$(dirname "$0")/lib.sh"
command -v gobgpd >/dev/null || { echo "gobgpd missing (apt-get install gobgpd)"; exit 1; }
lab_init
log "PE1 (tandem, AS 65001) <-> GoBGP (AS 65002) over PE1's DPDK port p1"
for ns in pe1 gb; do netns_add $ns; done
veth pe1 p1 gb eth0
veth pe1 p0 gb eth1           # a CE host on PE1's Ethernet Segment (main interface)
ip -n "$P-gb" addr add 10.0.0.2/30 dev eth0
ip -n "$P-gb" link set eth1 address 02:00:00:00:06:60
ip -n "$P-gb" addr add 192.0.2.60/24 dev eth1
cat >"$LAB/pe1.yaml" <<YAML
name: ${P}pe1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: p1, devargs: "net_af_packet0,iface=p1", vrf: core, addresses: [10.0.0.1/30] }
  - { name: p0, devargs: "net_af_packet1,iface=p0" }
bundles:
  - name: ce1
    members: [p0]
    vrf: cust
    addresses: [192.0.2.1/24]
    es: { esi: "00:00:00:00:00:00:00:00:06:01" }
vrfs:
  - { name: core }
  - name: cust
    route-targets: { import: ["65001:60"], export: ["65001:60"] }
    routes: [{ prefix: 203.0.113.0/24, via: 192.0.2.60 }]   # a CE route: synced with RT-5
bgp:
  asn: 65001
  router-id: 10.0.0.1
  vrf: core
  neighbors:
    - { address: 10.0.0.2, remote-as: 65002, hold-time: 9, connect-retry-s: 1, max-prefix: 6, evpn-route-types: [1, 2, 3, 4, 5] }
api: { socket: $LAB/pe1.sock }
YAML
cat >"$LAB/gobgpd.toml" <<TOML
[global.config]
  as = 65002
  router-id = "10.0.0.2"
  local-address-list = ["10.0.0.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 65001
  [neighbors.transport.config]
    passive-mode = true
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l2vpn-evpn"
TOML
ip netns exec "$P-gb" gobgpd -f "$LAB/gobgpd.toml" -t toml --api-hosts 127.0.0.1:50051 --pprof-disable >"$LAB/gobgpd.log" 2>&1 &
GB=$!
PIDS+=("$GB")
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || { FAILED=1; lab_summary; exit 1; }
G() { nsx gb gobgp -u 127.0.0.1 -p 50051 "$@"; }

established() { ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary; }
ms=$(time_until 60 established) || ms=timeout
note "session Established ${ms} ms after tandemd came up"
ctl pe1 show bgp summary
check "tandem: session with 10.0.0.2 Established, peer router id 10.0.0.2, hold time 9" \
  ctl_jq pe1 '.neighbors[0].state == "Established" and .neighbors[0].peer_router_id == "10.0.0.2" and .neighbors[0].hold_time == 9' bgp summary
G -j neighbor 10.0.0.1 >"$LAB/gobgp-nbr.json" 2>&1
check "GoBGP: neighbor 10.0.0.1 established" json_true "$LAB/gobgp-nbr.json" '.state.session_state == 6 or .state.session_state == "established"'

log "GoBGP originates RT-1, RT-2, RT-4, RT-5"
G global rib -a evpn add macadv 02:00:00:00:00:33 172.16.100.33 etag 7 label 100 rd 10.0.0.2:100 rt 65002:100 encap vxlan
G global rib -a evpn add prefix 172.30.0.0/24 etag 0 label 5000 rd 10.0.0.2:5000 rt 65002:5000 encap vxlan router-mac 02:00:00:00:03:03
G global rib -a evpn add esi 10.0.0.2 esi LACP 02:00:00:00:aa:01 1 rd 10.0.0.2:0 rt 65002:1 encap vxlan
G global rib -a evpn add a-d esi LACP 02:00:00:00:aa:01 1 etag 4294967295 label 0 rd 10.0.0.2:0 rt 65002:100 encap vxlan esi-label 0
wait_until 10 ctl_jq pe1 'length == 4' evpn routes >/dev/null
ctl pe1 show evpn routes
ESI='"01:02:00:00:00:aa:01:00:01:00"'
check "RT-2: RD 10.0.0.2:100, tag 7, MAC, IP, VNI 100, RT 65002:100, VXLAN, next hop 10.0.0.2" ctl_jq pe1 \
  'any(.[]; .type == 2 and .rd == "10.0.0.2:100" and .tag == 7 and .mac == "02:00:00:00:00:33" and .ip == "172.16.100.33" and .label == 100 and .next_hop == "10.0.0.2" and (.communities | index("rt:65002:100")) and (.communities | index("encap:vxlan")))' evpn routes
check "RT-5: 172.30.0.0/24, VNI 5000, Router's MAC 02:00:00:00:03:03" ctl_jq pe1 \
  'any(.[]; .type == 5 and .rd == "10.0.0.2:5000" and .prefix == "172.30.0.0/24" and .label == 5000 and .gw == "0.0.0.0" and (.communities | index("router-mac:02:00:00:00:03:03")))' evpn routes
check "RT-4: ESI type 1 (LACP 02:00:00:00:aa:01 key 1), originator 10.0.0.2, ES-Import RT" ctl_jq pe1 \
  "any(.[]; .type == 4 and .esi == $ESI and .originator == \"10.0.0.2\" and (.communities | index(\"es-import:02:00:00:00:aa:01\")))" evpn routes
check "RT-1: A-D per ES (tag MAX-ET, label 0), ESI Label all-active" ctl_jq pe1 \
  "any(.[]; .type == 1 and .esi == $ESI and .tag == 4294967295 and .label == 0 and (.communities | index(\"esi-label:all-active:0\")))" evpn routes

check "show bgp neighbor: one best route of each type 1, 2, 4, 5 from GoBGP; max-prefix 6 configured" ctl_jq pe1 \
  '([.received_by_type[] | [.type, .routes, .best]] == [[1,1,1],[2,1,1],[4,1,1],[5,1,1]]) and .config.max_prefix == 6 and .state == "Established"' bgp neighbor 10.0.0.2

log "tandem's RT-2 (ARP sync route) as GoBGP decodes it"
nsx gb ping -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null
grt2() { G -j global rib -a evpn 2>/dev/null | jq -e '[.[][] | select(.nlri.type == 2 and .nlri.value.mac == "02:00:00:00:06:60")] | length == 1' >/dev/null; }
ms=$(time_until 10 grt2) || ms=timeout
note "GoBGP holds it ${ms} ms after the host's ping"
G -j global rib -a evpn >"$LAB/gobgp-rib.json" 2>&1
jq -c '.[][] | select(.nlri.type == 2 and .nlri.value.mac == "02:00:00:00:06:60") | .nlri.value' "$LAB/gobgp-rib.json" | sed 's/^/   /'
check "GoBGP: RT-2 RD 10.0.0.1:101, ESI 00:..:06:01, tag 0, MAC, IP 192.0.2.60, label 0" json_true "$LAB/gobgp-rib.json" \
  '[.[][] | select(.nlri.type == 2 and .nlri.value.mac == "02:00:00:00:06:60") | .nlri.value] | length == 1 and (.[0] | .rd.admin == "10.0.0.1" and .rd.assigned == 101 and .etag == 0 and .ip == "192.0.2.60" and .labels == [0] and (.esi | tostring | test("6:1|06:01")))'
check "GoBGP: RT-2 carries RT 65001:60" json_true "$LAB/gobgp-rib.json" \
  '[.[][] | select(.nlri.type == 2 and .nlri.value.mac == "02:00:00:00:06:60") | .attrs[] | select(.type == 16) | .value[] | select(.type == 0 and .subtype == 2)] | any(.value == "65001:60" or (.as == 65001 and .local_admin == 60))'

check "GoBGP: tandem's RT-5 203.0.113.0/24, GW IP 192.0.2.60 (the CE), tag 0, RD 10.0.0.1:101, RT 65001:60" json_true "$LAB/gobgp-rib.json" \
  '[.[][] | select(.nlri.type == 5 and .nlri.value.prefix == "203.0.113.0/24")] | length == 1 and (.[0] | .nlri.value.gateway == "192.0.2.60" and .nlri.value.etag == 0 and .nlri.value.rd.admin == "10.0.0.1" and .nlri.value.rd.assigned == 101 and ([.attrs[] | select(.type == 16) | .value[] | select(.type == 0 and .subtype == 2)] | any(.value == "65001:60" or (.as == 65001 and .local_admin == 60))))'

log "RT-7 kept from GoBGP (it resets sessions on types 7/8): evpn-route-types [1-5]"
ip netns exec "$P-gb" python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.7.7.7"), socket.inet_aton("192.0.2.60")))
time.sleep(4)' &
JGB=$!
check "tandem holds the membership (an RT-7 exists locally)" wait_until 10 ctl_jq pe1 'any(.memberships[]; .group == "239.7.7.7" and .local)' multicast
sleep 1
G -j global rib -a evpn >"$LAB/gobgp-rib2.json" 2>&1
check "GoBGP got no RT-7 and its session never reset" bash -c "
  jq -e '[.[][] | select(.nlri.type == 7)] | length == 0' '$LAB/gobgp-rib2.json' >/dev/null &&
  '$BIN/tandemctl' --socket '$LAB/pe1.sock' --json show bgp summary | jq -e '.neighbors[0].state == \"Established\" and .neighbors[0].established_count == 1' >/dev/null"
wait "$JGB" 2>/dev/null

log "withdrawal"
G global rib -a evpn del macadv 02:00:00:00:00:33 172.16.100.33 etag 7 label 100 rd 10.0.0.2:100
wait_until 10 ctl_jq pe1 'length == 3' evpn routes >/dev/null
check "RT-2 withdrawn, the other three kept" ctl_jq pe1 'length == 3 and all(.[]; .type != 2)' evpn routes

log "max-prefix 6: GoBGP adds four more RT-5s"
for i in 1 2 3 4; do
  G global rib -a evpn add prefix 172.31.$i.0/24 etag 0 label 5000 rd 10.0.0.2:5000 rt 65002:5000 encap vxlan
done
ms=$(time_until 20 ctl_jq pe1 '.neighbors[0].max_prefix_hits == 1 and .neighbors[0].state != "Established"' bgp summary) || ms=timeout
note "tandem ended the session ${ms} ms after the routes were added"
check "tandem sent a Cease for max-prefix and flushed GoBGP's routes" ctl_jq pe1 \
  '.neighbors[0].max_prefix_hits == 1 and (.neighbors[0].last_error | test("cease")) and .neighbors[0].evpn_routes == 0' bgp summary
G -j neighbor 10.0.0.1 >"$LAB/gobgp-nbr2.json" 2>&1
check "GoBGP received the NOTIFICATION" json_true "$LAB/gobgp-nbr2.json" '.state.messages.received.notification >= 1'
G global rib -a evpn del prefix 172.31.4.0/24 etag 0 rd 10.0.0.2:5000
G global rib -a evpn del prefix 172.31.3.0/24 etag 0 rd 10.0.0.2:5000
ms=$(time_until 30 ctl_jq pe1 '.neighbors[0].state == "Established" and .neighbors[0].evpn_routes == 5' bgp summary) || ms=timeout
note "back to Established with 5 routes ${ms} ms later (automatic retry after connect-retry-s)"
check "under the limit again: Established, 5 routes" ctl_jq pe1 '.neighbors[0].state == "Established" and .neighbors[0].evpn_routes == 5' bgp summary

log "GoBGP goes away"
kill "$GB"
ms=$(time_until 20 ctl_jq pe1 '.neighbors[0].state != "Established"' bgp summary) || ms=timeout
note "session left Established ${ms} ms after GoBGP was killed"
check "session down, routes flushed" ctl_jq pe1 '.neighbors[0].state != "Established" and .neighbors[0].evpn_routes == 0' bgp summary
check "no EVPN routes left" ctl_jq pe1 'length == 0' evpn routes

lab_summary
