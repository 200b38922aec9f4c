#!/usr/bin/env bash
# The demo lab: the draft's Figure 3 in small, narrated. Two customers share 192.0.2.0/24 on
# VLAN 1 and VLAN 2 of one trunk from an Open vSwitch switch (userspace datapath); tandem keeps
# them apart in VRFs CUST1 and CUST2 and routes each to its own remote host.
# LAB_KEEP=1 keeps the lab up until you press Enter (commands to try are printed).
. "$(dirname "$0")/../tests/topology/lib.sh"
. "$(dirname "$0")/../tests/topology/fig3.sh"
lab_init
sed -n '2,9p' "$(dirname "$0")/../tests/topology/fig3.sh" | sed 's/^# \{0,1\}/   /'
log "starting namespaces, Open vSwitch (SW1) and tandemd (PE1)"
fig3_up || { echo "set-up failed; see $LAB"; FAILED=1; exit 1; }
note "PE1 runs in namespace $P-pe1; its config: $LAB/pe1.yaml"

log "tandemctl show interfaces"
ctl pe1 show interfaces
log "tandemctl show routes"
ctl pe1 show routes

say_ping() { local ns=$1 dst=$2 what=$3; printf '   %-44s ' "$what"; nsx "$ns" ping -c 3 -i 0.2 -W 1 "$dst" | sed -n 's/^\([0-9]* packets transmitted.*loss\).*/\1/p'; }
log "pings across the appliance, both customers using the same addresses"
say_ping c1 198.51.100.10 "CUST1 c1 192.0.2.10 -> r1 198.51.100.10"
say_ping c2 198.51.100.10 "CUST2 c2 192.0.2.10 -> r2 198.51.100.10"
say_ping c1 2001:db8:2::10 "CUST1 c1 -> r1 2001:db8:2::10"
say_ping c2 2001:db8:2::10 "CUST2 c2 -> r2 2001:db8:2::10"
say_ping c2 203.0.113.10 "CUST2 c2 -> 203.0.113.10 (static via r2)"
log "a ping that must fail: CUST1 has no route to CUST2's 203.0.113.0/24"
say_ping c1 203.0.113.10 "CUST1 c1 -> 203.0.113.10"

log "exception path: TCP from c2 to the appliance's own address lands in VRF CUST2's kernel"
ip netns exec "${P}pe1-CUST2" timeout 5 nc -l -p 2222 >"$LAB/nc.out" &
ncpid=$!
sleep 0.3
echo "hello through the DPDK port" | nsx c2 timeout 3 nc -q 1 192.0.2.1 2222 || true
wait $ncpid
note "listener in ${P}pe1-CUST2 received: $(cat "$LAB/nc.out")"

log "tandemctl show neighbors (learned by the dataplane, owned by control)"
ctl pe1 show neighbors
log "tandemctl show counters"
ctl pe1 show counters

if [ "${LAB_KEEP:-0}" = 1 ]; then
  log "the lab stays up; try:"
  note "ip netns exec $P-c1 ping 198.51.100.10"
  note "$BIN/tandemctl --socket $LAB/pe1.sock show neighbors --json"
  note "ovs-appctl -t $LAB/ovs-sw1/vswitchd.ctl fdb/show br0"
  read -r -p "   press Enter to tear it down " _ || true
fi
log "tearing down"

# Part 2: what the product is for. Two tandem PEs share one Ethernet Segment toward an OVS CE
# that hashes each host onto one PE; BGP-EVPN route sync fixes the draft's problems 1.1-1.3.
# The same script is a topology test, so every claim it narrates is also checked.
if [ "${LAB_PART2:-1}" = 1 ] || [ "${LAB_PART3:-1}" = 1 ]; then
  lab_cleanup; trap - EXIT
fi
if [ "${LAB_PART2:-1}" = 1 ]; then
  printf '\n\033[1m== part 2: EVPN multi-homing for L3 services, two PEs on one Ethernet Segment\033[0m\n'
  bash "$(dirname "$0")/../tests/topology/sync_arp_test.sh"
fi

# Part 3: the complete PE. The same Ethernet Segment reached from a remote PE over an EVPN
# IP-VRF-to-IP-VRF VXLAN core: FRR + the Linux kernel first, then a third tandem; ECMP over
# both PEs of the segment, a member failure with local repair and mass withdraw, and the
# convergence ledger (outage per failure case, and the event timeline across PEs).
if [ "${LAB_PART3:-1}" = 1 ]; then
  printf '\n\033[1m== part 3: the L3VPN core, a remote PE load-balancing over the segment and converging\033[0m\n'
  bash "$(dirname "$0")/../tests/topology/core_vxlan_test.sh"
fi
