#!/usr/bin/env bash
# Test description: tandemd and FRR's bgpd (8.4, `-Z`: no zebra) establish an eBGP session
# with the L2VPN/EVPN family over tandem's DPDK port; FRR reports the session Established and
# the EVPN family negotiated in both directions; FRR holds tandem's RT-4 and RT-1 per ES with
# their communities, and the RT-2 (ARP sync route) tandem sends when a host on the segment
# speaks; tshark, a third decoder, reads the same routes from the wire with nothing
# malformed. The session runs with TCP-MD5 (RFC 2385) and GTSM (RFC 5082) on both sides, which
# tshark sees on tandem's segments; a wrong key keeps the session down. When FRR's bgpd stops,
# tandem's session goes down.
. "$(dirname "$0")/lib.sh"
[ -x /usr/lib/frr/bgpd ] || { echo "FRR missing (apt-get install frr)"; exit 1; }
lab_init
log "PE1 (tandem, AS 65001) <-> FRR bgpd (AS 65003)"
for ns in pe1 fr; do netns_add $ns; done
veth pe1 p1 fr eth0
veth pe1 p0 fr eth1          # PE1's link toward a CE (the Ethernet Segment, main interface)
ip -n "$P-fr" link set eth1 address 02:00:00:00:05:50
ip -n "$P-fr" addr add 192.0.2.50/24 dev eth1
ip -n "$P-fr" addr add 10.0.1.2/30 dev eth0
KEY=tandem-frr-md5
pe1_conf() {
cat >"$LAB/pe1.yaml" <<YAML
name: ${P}pe1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: p1, devargs: "net_af_packet0,iface=p1", vrf: core, addresses: [10.0.1.1/30] }
  - { name: p0, devargs: "net_af_packet1,iface=p0" }
bundles:
  - name: ce1
    members: [p0]
    vrf: cust
    addresses: [192.0.2.1/24]
    es: { esi: "01:02:00:00:00:aa:01:00:01:00", df-algorithm: preference, df-preference: 200 }
interfaces:
  - { name: ce1.10, parent: ce1, vlan: 10, vrf: cust, addresses: [198.51.100.1/24] }
vrfs:
  - { name: core }
  - name: cust
    route-targets: { export: ["65001:10"] }
    routes: [{ prefix: 203.0.113.0/24, via: 192.0.2.50 }]   # a CE route: synced with RT-5
bgp:
  asn: 65001
  router-id: 10.0.1.1
  vrf: core
  neighbors:
    - { address: 10.0.1.2, remote-as: 65003, hold-time: 9, connect-retry-s: 1, password: "$KEY", ttl-security-hops: 1, source-address: 10.0.1.1, address-families: [l2vpn-evpn, ipv4-unicast] }
api: { socket: $LAB/pe1.sock }
YAML
}
pe1_conf
D=$LAB/frr
mkdir -p "$D/run"
chmod o+x "$LAB"   # bgpd runs as user frr: it must reach its directory
cat >"$D/bgpd.conf" <<CONF
router bgp 65003
 bgp router-id 10.0.1.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 10.0.1.1 remote-as 65001
 neighbor 10.0.1.1 timers 3 9
 neighbor 10.0.1.1 password tandem-frr-md5
 neighbor 10.0.1.1 ttl-security hops 1
 address-family ipv4 unicast
  neighbor 10.0.1.1 activate
 exit-address-family
 address-family l2vpn evpn
  neighbor 10.0.1.1 activate
 exit-address-family
CONF
chown -R frr:frr "$D"
ip netns exec "$P-fr" /usr/lib/frr/bgpd -d -u frr -g frr -Z -P 0 -f "$D/bgpd.conf" -i "$D/run/bgpd.pid" \
  -z "$D/run/zserv.api" --vty_socket "$D/run" --log "file:$D/bgpd.log"
wait_until 10 test -s "$D/run/bgpd.pid"
PIDS+=("$(cat "$D/run/bgpd.pid")")
# tshark as an independent decoder of what tandem sends (and FRR answers).
command -v tshark >/dev/null || { echo "tshark missing (apt-get install tshark)"; FAILED=1; lab_summary; exit 1; }
ip netns exec "$P-fr" tshark -i eth0 -f "tcp port 179" -w "$LAB/bgp.pcap" -q >"$LAB/tshark.log" 2>&1 &
TSHARK=$!
PIDS+=("$TSHARK")
wait_until 10 test -s "$LAB/bgp.pcap"
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || { FAILED=1; lab_summary; exit 1; }
V() { ip netns exec "$P-fr" vtysh --vty_socket "$D/run" -c "$1"; }

ms=$(time_until 60 ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary) || ms=timeout
note "session Established ${ms} ms after tandemd came up"
ctl pe1 show bgp summary
check "tandem: Established with 10.0.1.2 (router id 10.0.1.2)" ctl_jq pe1 '.neighbors[0].state == "Established" and .neighbors[0].peer_router_id == "10.0.1.2"' bgp summary
V 'show bgp neighbors 10.0.1.1 json' >"$LAB/frr-nbr.json"
check "FRR: neighbor 10.0.1.1 Established, remote AS 65001" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"] | .bgpState == "Established" and .remoteAs == 65001'
check "FRR: L2VPN/EVPN negotiated both ways" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"].neighborCapabilities.multiprotocolExtensions.l2VpnEvpn | (.advertised == true and .received == true) or (.advertisedAndReceived == true)'
check "FRR: IPv4 unicast negotiated too (address-families), session from source 10.0.1.1" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"] | (.neighborCapabilities.multiprotocolExtensions.ipv4Unicast | (.advertised == true and .received == true) or (.advertisedAndReceived == true)) and .hostForeign == "10.0.1.1"'
check "FRR: hold time 9 s negotiated" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"].bgpTimerHoldTimeMsecs == 9000'
V 'show bgp l2vpn evpn summary' | sed 's/^/   /' | head -12

log "tandem's Ethernet Segment routes as FRR sees them"
V 'show bgp l2vpn evpn json' >"$LAB/frr-evpn.json"
V 'show bgp l2vpn evpn' | sed 's/^/   /' | head -30
ESI=01:02:00:00:00:aa:01:00:01:00
check "FRR holds tandem's RT-4 [4]:[ESI]:[32]:[10.0.1.1] from 10.0.1.1" grep -q "\[4\]:\[$ESI\]:\[32\]:\[10.0.1.1\]" "$LAB/frr-evpn.json"
check "FRR holds tandem's RT-1 A-D per ES [1]:[4294967295]:[ESI]" grep -q "\\[1\\]:\\[4294967295\\]:\\[$ESI\\]" "$LAB/frr-evpn.json"
check "FRR holds tandem's IP A-D per EVI [1]:[0]:[ESI] (RD 10.0.1.1:101)" grep -q "\\[1\\]:\\[0\\]:\\[$ESI\\]" "$LAB/frr-evpn.json"
V 'show bgp l2vpn evpn route type es' >"$LAB/frr-es.txt"
check "RT-4 carries the ES-Import RT 02:00:00:00:aa:01 and DF preference 200" bash -c "grep -q 'ES-Import-Rt:02:00:00:00:aa:01' '$LAB/frr-es.txt' && grep -qi 'pref: 200' '$LAB/frr-es.txt'"
V 'show bgp l2vpn evpn route type ead' >"$LAB/frr-ead.txt"
check "RT-1 carries RT 65001:10, the ESI label EC and VXLAN encapsulation" bash -c "grep -q 'RT:65001:10' '$LAB/frr-ead.txt' && grep -q 'ESI-label-Rt:AA' '$LAB/frr-ead.txt' && grep -q 'ET:8' '$LAB/frr-ead.txt'"

log "ARP/ND sync route: a CE host on the ES main interface speaks, tandem sends RT-2"
nsx fr ping -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null
rt2() { V 'show bgp l2vpn evpn route type macip' | grep -q '\[2\]:\[0\]:\[48\]:\[02:00:00:00:05:50\]:\[32\]:\[192.0.2.50\]'; }
ms=$(time_until 10 rt2) || ms=timeout
note "FRR holds the RT-2 ${ms} ms after the host's ping"
V 'show bgp l2vpn evpn route type macip' >"$LAB/frr-macip.txt"
sed -n '/192.0.2.50/,/^$/p' "$LAB/frr-macip.txt" | head -12 | sed 's/^/   /'
check "FRR holds RT-2 [2]:[0]:[48]:[02:00:00:00:05:50]:[32]:[192.0.2.50] (tag 0: main interface)" rt2
check "RT-2 RD 10.0.1.1:101 (auto, VRF cust), ESI of the segment, RT 65001:10" bash -c "
  grep -q 'Route Distinguisher: 10.0.1.1:101' '$LAB/frr-macip.txt' &&
  grep -q 'ESI:$ESI' '$LAB/frr-macip.txt' && grep -q 'RT:65001:10' '$LAB/frr-macip.txt'"

V 'show bgp l2vpn evpn route type prefix json' >"$LAB/frr-prefix.json"
check "FRR holds tandem's RT-5 [5]:[0]:[24]:[203.0.113.0] (CE-route sync) with RT 65001:10" json_true "$LAB/frr-prefix.json" \
  '.["10.0.1.1:101"]["[5]:[0]:[24]:[203.0.113.0]"].paths[0][0] | .ip == "203.0.113.0" and .ethTag == 0 and (.extendedCommunity.string | test("RT:65001:10"))'

log "RT-7 to FRR: a host on the segment joins 239.7.7.7; FRR drops type 7 silently, the session stays"
ip netns exec "$P-fr" python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.7.7.7"), socket.inet_aton("192.0.2.50")))
time.sleep(4)' &
JFR=$!
wait_until 10 ctl_jq pe1 'any(.memberships[]; .group == "239.7.7.7" and .local)' multicast >/dev/null
sleep 1
check "tandem holds the membership and advertised its RT-7 to FRR" ctl_jq pe1 'any(.memberships[]; .group == "239.7.7.7" and .local)' multicast
check "FRR keeps the session Established after the RT-7" bash -c "ip netns exec '$P-fr' vtysh --vty_socket '$D/run' -c 'show bgp neighbors 10.0.1.1 json' | jq -e '.[\"10.0.1.1\"].bgpState == \"Established\" and .[\"10.0.1.1\"].connectionsEstablished == 1' >/dev/null"
wait "$JFR" 2>/dev/null

log "tshark decodes tandem's UPDATEs"
sleep 1
kill -INT "$TSHARK"; wait "$TSHARK" 2>/dev/null
types=$(tshark -r "$LAB/bgp.pcap" -Y 'bgp.evpn.nlri && ip.src == 10.0.1.1' -T fields -e bgp.evpn.nlri.rt 2>/dev/null | tr ',' '\n' | sort -u | tr '\n' ' ')
note "EVPN route types tandem sent, per tshark: $types"
check "tshark sees tandem's RT-1, RT-2, RT-4 and RT-5" bash -c "echo '$types' | grep -qw 1 && echo '$types' | grep -qw 2 && echo '$types' | grep -qw 4 && echo '$types' | grep -qw 5"
tshark -r "$LAB/bgp.pcap" -Y 'bgp.evpn.nlri.rt == 2 && ip.src == 10.0.1.1' -T fields -e bgp.evpn.nlri.mac_addr \
  -e bgp.evpn.nlri.ip.addr -e bgp.evpn.nlri.etag >"$LAB/rt2.fields" 2>/dev/null
note "tshark, RT-2 (MAC, IPv4, Ethernet Tag): $(head -1 "$LAB/rt2.fields" | tr '\t' ' ')"
check "tshark: RT-2 with MAC 02:00:00:00:05:50, IP 192.0.2.50, tag 0" \
  bash -c "grep -q '02:00:00:00:05:50' '$LAB/rt2.fields' && grep -q '192.0.2.50' '$LAB/rt2.fields'"
tshark -r "$LAB/bgp.pcap" -Y 'bgp.evpn.nlri.rt == 4 && ip.src == 10.0.1.1' -T fields -e bgp.evpn.nlri.esi.type \
  -e bgp.evpn.nlri.esi.lacp_mac -e bgp.evpn.nlri.esi.lacp_portkey -e bgp.evpn.nlri.ip.addr >"$LAB/rt4.fields" 2>/dev/null
note "tshark, RT-4 frame (ESI type, CE LACP MAC, key, originator): $(head -1 "$LAB/rt4.fields")"
check "tshark: tandem's RT-4 has ESI type 1, LACP MAC 02:00:00:00:aa:01, key 1, originator 10.0.1.1" \
  bash -c "grep -q '02:00:00:00:aa:01' '$LAB/rt4.fields' && grep -q '10.0.1.1' '$LAB/rt4.fields' && cut -f1 '$LAB/rt4.fields' | grep -q '^1' && cut -f3 '$LAB/rt4.fields' | grep -q '^1'"
tshark -r "$LAB/bgp.pcap" -Y 'bgp.evpn.nlri.rt == 5 && ip.src == 10.0.1.1' -T fields -e bgp.evpn.nlri.prefix_len \
  -e bgp.evpn.nlri.ip.addr -e bgp.evpn.nlri.ipv4.gtw_addr >"$LAB/rt5.fields" 2>/dev/null
note "tshark, RT-5 (length, prefix, GW IP): $(head -1 "$LAB/rt5.fields" | tr '\t' ' ')"
check "tshark: RT-5 203.0.113.0/24 with GW IP 192.0.2.50 (gateway-based)" \
  bash -c "grep -q '203.0.113.0' '$LAB/rt5.fields' && grep -q '192.0.2.50' '$LAB/rt5.fields'"
check "tshark sees the RT-7 tandem sent to FRR" bash -c "echo '$types' | grep -qw 7"
# Wireshark misses RFC 9251's Reserved/Max Response Time octets of RT-8 (evpn-routes.md §3.8).
malformed=$(tshark -r "$LAB/bgp.pcap" -Y 'bgp && !(bgp.evpn.nlri.rt == 8) && (_ws.malformed || _ws.expert.severity == error)' 2>/dev/null | wc -l)
check "tshark: no malformed or error-flagged BGP frame in the session, RT-8 frames aside ($malformed)" test "$malformed" -eq 0
tshark -r "$LAB/bgp.pcap" -Y 'ip.src == 10.0.1.1 && tcp.len > 0' -T fields -e ip.ttl -e tcp.option_kind >"$LAB/sec.fields" 2>/dev/null
note "tandem's data segments (TTL, TCP option kinds): $(sort -u "$LAB/sec.fields" | head -2 | tr '\t\n' ' ;')"
check "every data segment from tandem has TTL 255 (GTSM) and the MD5 option (kind 19)" \
  bash -c "[ -s '$LAB/sec.fields' ] && ! awk -F'\t' '\$1 != 255 || \$2 !~ /(^|,)19(,|\$)/' '$LAB/sec.fields' | grep -q ."

log "a wrong TCP-MD5 key keeps the session down"
kill "$PID_pe1"; wait "$PID_pe1" 2>/dev/null
KEY=wrong-key pe1_conf
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || FAILED=1
sleep 6
check "no session with the wrong key after 6 s" ctl_jq pe1 '.neighbors[0].state != "Established" and .neighbors[0].established_count == 0' bgp summary
kill "$PID_pe1"; wait "$PID_pe1" 2>/dev/null
pe1_conf
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || FAILED=1
ms=$(time_until 30 ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary) || ms=timeout
check "the right key again: Established (${ms} ms)" ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary

log "FRR's bgpd stops"
kill "$(cat "$D/run/bgpd.pid")"
ms=$(time_until 20 ctl_jq pe1 '.neighbors[0].state != "Established"' bgp summary) || ms=timeout
note "tandem's session left Established ${ms} ms after bgpd stopped"
check "session down" ctl_jq pe1 '.neighbors[0].state != "Established" and .neighbors[0].last_error != null' bgp summary

lab_summary
