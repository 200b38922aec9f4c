#!/usr/bin/env bash
# Test description: two tandem PEs on one Ethernet Segment peer with each other (iBGP) over
# their DPDK core ports. Both connect and both listen, so the session survives a connection
# collision; each PE then holds the other's RT-4 (same ESI, the other's originator and DF
# preference), RT-1 per ES and RT-1 per EVI (IP A-D for its VRF): the route-level half of ES
# peer discovery.
. "$(dirname "$0")/lib.sh"
lab_init
log "PE1 and PE2 (tandem, AS 65000) share ESI 01:02:00:00:00:aa:01:00:01:00"
for ns in pe1 pe2 ce; do netns_add $ns; done
veth pe1 c1 pe2 c2
veth pe1 e0 ce l1
veth pe2 e0 ce l2
pe_conf() {   # NAME CORE-IF ADDR PEER PREF
  cat >"$LAB/$1.yaml" <<YAML
name: ${P}$1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: core, devargs: "net_af_packet0,iface=$2", vrf: core, addresses: [$3/30] }
  - { name: e0, devargs: "net_af_packet1,iface=e0" }
bundles:
  - name: ce1
    members: [e0]
    es: { esi: "01:02:00:00:00:aa:01:00:01:00", df-algorithm: preference, df-preference: $5 }
interfaces:
  - { name: ce1.10, parent: ce1, vlan: 10, vrf: cust, addresses: [192.0.2.1/24] }
vrfs:
  - { name: core }
  - { name: cust, route-targets: { import: ["65000:10"], export: ["65000:10"] } }
bgp:
  asn: 65000
  router-id: $3
  vrf: core
  neighbors:
    - { address: $4, remote-as: 65000, hold-time: 9, connect-retry-s: 1 }
api: { socket: $LAB/$1.sock }
YAML
}
pe_conf pe1 c1 10.0.3.1 10.0.3.2 200
pe_conf pe2 c2 10.0.3.2 10.0.3.1 100
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || { FAILED=1; lab_summary; exit 1; }
tandemd_start pe2 pe2 "$LAB/pe2.yaml" || { FAILED=1; lab_summary; exit 1; }

both_up() { ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary && ctl_jq pe2 '.neighbors[0].state == "Established"' bgp summary; }
ms=$(time_until 60 both_up) || ms=timeout
note "iBGP session between the PEs Established after ${ms} ms"
check "PE1 <-> PE2 Established on both sides" both_up
wait_until 10 ctl_jq pe1 'length == 3' evpn routes >/dev/null
wait_until 10 ctl_jq pe2 'length == 3' evpn routes >/dev/null
ctl pe1 show evpn routes
ESI='"01:02:00:00:00:aa:01:00:01:00"'
check "PE1 holds PE2's RT-4: same ESI, originator 10.0.3.2, ES-Import RT, DF preference 100" ctl_jq pe1 \
  "any(.[]; .type == 4 and .esi == $ESI and .originator == \"10.0.3.2\" and .rd == \"10.0.3.2:0\" and (.communities | index(\"es-import:02:00:00:00:aa:01\")) and (.communities | index(\"df-election:alg=2,bitmap=0x0000,pref=100\")))" evpn routes
check "PE2 holds PE1's RT-4 with DF preference 200" ctl_jq pe2 \
  "any(.[]; .type == 4 and .esi == $ESI and .originator == \"10.0.3.1\" and (.communities | index(\"df-election:alg=2,bitmap=0x0000,pref=200\")))" evpn routes
check "PE1 holds PE2's RT-1 A-D per ES with RT 65000:10 and the ESI label" ctl_jq pe1 \
  "any(.[]; .type == 1 and .esi == $ESI and .tag == 4294967295 and .next_hop == \"10.0.3.2\" and (.communities | index(\"rt:65000:10\")) and (.communities | index(\"esi-label:all-active:0\")))" evpn routes
check "PE1 holds PE2's IP A-D per EVI for VRF cust: RD 10.0.3.2:101, tag 0, RT 65000:10" ctl_jq pe1 \
  "any(.[]; .type == 1 and .esi == $ESI and .tag == 0 and .rd == \"10.0.3.2:101\" and (.communities | index(\"rt:65000:10\")))" evpn routes
check "exactly one session each (no duplicate from the collision)" bash -c "
  [ \"\$('$BIN/tandemctl' --socket '$LAB/pe1.sock' --json show bgp summary | jq '.neighbors | length')\" = 1 ]"

log "PE2 stops"
kill "$PID_pe2"
ms=$(time_until 20 ctl_jq pe1 '.neighbors[0].state != "Established" and .neighbors[0].evpn_routes == 0' bgp summary) || ms=timeout
note "PE1 dropped the session and PE2's routes ${ms} ms later"
check "PE1: session down, PE2's ES routes gone" ctl_jq pe1 'length == 0' evpn routes

lab_summary
