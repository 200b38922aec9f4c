#!/usr/bin/env bash
# Test description: tandemd and FRR's bgpd (8.4, `-Z`: no zebra) establish an eBGP session
# with the L2VPN/EVPN family over tandem's DPDK port; FRR reports the session Established and
# the EVPN family negotiated in both directions; when FRR's bgpd stops, tandem's session goes
# down.
. "$(dirname "$0")/lib.sh"
[ -x /usr/lib/frr/bgpd ] || { echo "FRR missing (apt-get install frr)"; exit 1; }
lab_init
log "PE1 (tandem, AS 65001) <-> FRR bgpd (AS 65003)"
for ns in pe1 fr; do netns_add $ns; done
veth pe1 p1 fr eth0
ip -n "$P-fr" addr add 10.0.1.2/30 dev eth0
cat >"$LAB/pe1.yaml" <<YAML
name: ${P}pe1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: p1, devargs: "net_af_packet0,iface=p1", vrf: core, addresses: [10.0.1.1/30] }
vrfs: [{ name: core }]
bgp:
  asn: 65001
  router-id: 10.0.1.1
  vrf: core
  neighbors:
    - { address: 10.0.1.2, remote-as: 65003, hold-time: 9, connect-retry-s: 1 }
api: { socket: $LAB/pe1.sock }
YAML
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
 neighbor 10.0.1.1 disable-connected-check
 address-family l2vpn evpn
  neighbor 10.0.1.1 activate
 exit-address-family
CONF
chown -R frr:frr "$D"
ip netns exec "$P-fr" /usr/lib/frr/bgpd -d -u frr -g frr -Z -P 0 -f "$D/bgpd.conf" -i "$D/run/bgpd.pid" \
  -z "$D/run/zserv.api" --vty_socket "$D/run" --log "file:$D/bgpd.log"
wait_until 10 test -s "$D/run/bgpd.pid"
PIDS+=("$(cat "$D/run/bgpd.pid")")
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || { FAILED=1; lab_summary; exit 1; }
V() { ip netns exec "$P-fr" vtysh --vty_socket "$D/run" -c "$1"; }

ms=$(time_until 60 ctl_jq pe1 '.neighbors[0].state == "Established"' bgp summary) || ms=timeout
note "session Established ${ms} ms after tandemd came up"
ctl pe1 show bgp summary
check "tandem: Established with 10.0.1.2 (router id 10.0.1.2)" ctl_jq pe1 '.neighbors[0].state == "Established" and .neighbors[0].peer_router_id == "10.0.1.2"' bgp summary
V 'show bgp neighbors 10.0.1.1 json' >"$LAB/frr-nbr.json"
check "FRR: neighbor 10.0.1.1 Established, remote AS 65001" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"] | .bgpState == "Established" and .remoteAs == 65001'
check "FRR: L2VPN/EVPN negotiated both ways" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"].neighborCapabilities.multiprotocolExtensions.l2VpnEvpn | (.advertised == true and .received == true) or (.advertisedAndReceived == true)'
check "FRR: hold time 9 s negotiated" json_true "$LAB/frr-nbr.json" '.["10.0.1.1"].bgpTimerHoldTimeMsecs == 9000'
V 'show bgp l2vpn evpn summary' | sed 's/^/   /' | head -12

log "FRR's bgpd stops"
kill "$(cat "$D/run/bgpd.pid")"
ms=$(time_until 20 ctl_jq pe1 '.neighbors[0].state != "Established"' bgp summary) || ms=timeout
note "tandem's session left Established ${ms} ms after bgpd stopped"
check "session down" ctl_jq pe1 '.neighbors[0].state != "Established" and .neighbors[0].last_error != null' bgp summary

lab_summary
