#!/usr/bin/env bash
# Test description: DPDK's own 802.3ad implementation (net_bonding mode 4, driven by
# tandem-bench's bond_peer) is the CE: its bond of two af_packet slaves, one to PE1 and one to
# PE2, aggregates both links into one aggregator because both PEs present one partner; both
# PEs see the bond as their partner. Taking PE2's link down makes the bond distribute on PE1's
# link only, and bringing it up restores both. Times are measured and reported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lacp.sh"
lab_init
log "DPDK net_bonding (mode 4) as the CE, PE1 + PE2 as one partner"
for ns in ce pe1 pe2; do netns_add $ns; done
veth ce l1a pe1 l1b
veth ce l2a pe2 l2b
lacp_pe pe1 l1b 0x0101 02:00:00:00:aa:01 || { FAILED=1; lab_summary; exit 1; }
lacp_pe pe2 l2b 0x0201 02:00:00:00:aa:01 || { FAILED=1; lab_summary; exit 1; }
nsenter --net="/run/netns/$P-ce" "$BIN/bond_peer" -l 0 --no-huge -m 256 --no-shconf --no-pci --no-telemetry \
  --log-level=lib.eal:error --vdev=net_af_packet0,iface=l1a --vdev=net_af_packet1,iface=l2a \
  --vdev=net_bonding0,mode=4,slave=net_af_packet0,slave=net_af_packet1,mac=02:00:00:00:ce:02 \
  -- --secs 300 --timeout-ms 3000 --status "$LAB/bond.json" >"$LAB/bond_peer.log" 2>&1 &
PIDS+=("$!")

# The driver's own verdict: slaves whose actor state has Collecting and Distributing set.
bond_active() { jq -e --argjson want "$1" '.distributing == $want' "$LAB/bond.json" >/dev/null 2>&1; }
both='["net_af_packet0","net_af_packet1"]'
ms=$(time_until 40 bond_active "$both") || ms=timeout
note "the bond distributes on both slaves after ${ms} ms"
jq -c '.slaves[] | {slave, agg_port_id, partner_system, partner_key, partner_port, actor_state, partner_state}' "$LAB/bond.json" 2>/dev/null | sed 's/^/   /'
check "net_bonding: both slaves collecting and distributing" bond_active "$both"
check "net_bonding: both slaves in the same aggregator" json_true "$LAB/bond.json" '[.slaves[].agg_port_id] | unique | length == 1'
check "net_bonding: partner is tandem's shared identity (100, 02:00:00:00:aa:01, key 7), ports 0x0101 and 0x0201" \
  json_true "$LAB/bond.json" '[.slaves[] | select(.partner_system == "02:00:00:00:aa:01" and .partner_key == 7 and .partner_system_priority == 100) | .partner_port] | sort == [257, 513]'
for pe in pe1 pe2; do
  check "$pe: member distributing with the bond as partner (02:00:00:00:ce:02)" \
    ctl_jq $pe '.[0].members[0].distributing and .[0].members[0].partner.system == "02:00:00:00:ce:02"' bundles
done

log "PE2's link goes down"
ip -n "$P-pe2" link set l2b down
ms=$(time_until 15 bond_active '["net_af_packet0"]') || ms=timeout
note "the bond stopped distributing to PE2 ${ms} ms after its link went down (CE LACP timeout 3 s)"
check "net_bonding distributes on PE1's link only" bond_active '["net_af_packet0"]'
check "net_bonding: the slave toward PE1 kept distributing throughout" json_true "$LAB/bond.json" '.slaves[0].distributing'
check "PE1 still distributing" ctl_jq pe1 '.[0].members[0].distributing' bundles
# af_packet reports no carrier changes: PE2 notices by the LACP timeout, like the bond.
# PE2 heard the bond last a little later than the bond heard PE2: allow its own 3 s timeout.
wait_until 10 ctl_jq pe2 '(.[0].members[0].distributing | not)' bundles >/dev/null
check "PE2's member is out (partner expired)" ctl_jq pe2 '(.[0].members[0].distributing | not)' bundles

log "PE2's link comes back"
ip -n "$P-pe2" link set l2b up
ms=$(time_until 30 bond_active "$both") || ms=timeout
note "both slaves active again ${ms} ms after the link came up"
check "net_bonding: both slaves active again" bond_active "$both"

lab_summary
