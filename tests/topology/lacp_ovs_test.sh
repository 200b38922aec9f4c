#!/usr/bin/env bash
# Test description: two tandem PEs present ONE LACP partner to an Open vSwitch bond (the
# MC-LAG half of the draft). OVS aggregates both links; flows from the CE hosts reach both
# PEs; killing PE2 removes its member within the fast timeout and PE1 keeps forwarding; PE2
# comes back; port-active (one PE forced standby) makes the CE use only the active PE, and
# flipping it moves the traffic. A different system id on PE2 splits the LAG (the test can
# fail). Times are measured and reported, not asserted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lacp.sh"
lab_init
log "CE bond over PE1 + PE2"
lacp_up || { echo "set-up failed"; FAILED=1; lab_summary; exit 1; }

ms=$(time_until 30 ovs_members_are ce lag0 enabled enabled) || ms=timeout
note "both members enabled after ${ms} ms"
check "OVS: one negotiated LAG with both members enabled" ovs_members_are ce lag0 enabled enabled
check "OVS lacp/show: both members current attached" bash -c "[ \$(ovs-appctl -t $LAB/ovs-ce/vswitchd.ctl lacp/show lag0 | grep -c 'current attached') -eq 2 ]"
appctl ce lacp/show lag0 | sed -n '/member: l1a/,+8p' | sed 's/^/   /' | head -9
ctl pe1 show bundles
for pe in pe1 pe2; do
  check "$pe: member distributing, partner is the CE (02:00:00:00:ce:01, key 1)" \
    ctl_jq $pe '.[0].members[0].distributing and .[0].members[0].partner.system == "02:00:00:00:ce:01" and .[0].aggregator_partner.system_priority == 100' bundles
done

log "flows from four hosts spread over both PEs"
fl=()
for i in 1 2 3 4; do udp_flows h$i 5 & fl+=($!); done
wait "${fl[@]}"
rx1=$(ctl pe1 --json show interfaces | jq '.[] | select(.name=="ce1.10") | .rx_packets')
rx2=$(ctl pe2 --json show interfaces | jq '.[] | select(.name=="ce1.10") | .rx_packets')
note "ce1.10 received: PE1 $rx1, PE2 $rx2 packets (160 UDP flows for 5 s + ARP)"
check "PE1 received part of the flows" test "${rx1:-0}" -gt 10
check "PE2 received part of the flows" test "${rx2:-0}" -gt 10

log "failover: kill -9 PE2 (no goodbye: the CE must time it out)"
kill -9 "$PID_pe2"
ms=$(time_until 15 ovs_members_are ce lag0 enabled disabled) || ms=timeout
note "OVS disabled l2a ${ms} ms after PE2 was killed (fast LACP timeout is 3 s)"
check "l2a disabled, l1a still enabled" ovs_members_are ce lag0 enabled disabled
for i in 1 2 3 4; do check "h$i still reaches the gateway through PE1" ping_ok h$i 192.0.2.1 3; done

log "PE2 comes back"
lacp_pe pe2 l2b 0x0201 02:00:00:00:aa:01
ms=$(time_until 30 ovs_members_are ce lag0 enabled enabled) || ms=timeout
note "both members enabled again ${ms} ms after PE2 restarted"
check "both members enabled again" ovs_members_are ce lag0 enabled enabled

log "port-active: PE2 standby (actor synchronization 0)"
ctl pe2 set bundle ce1 standby
ms=$(time_until 15 ovs_members_are ce lag0 enabled disabled) || ms=timeout
note "CE stopped using l2a ${ms} ms after PE2 went standby"
check "only PE1's link is in the CE's LAG" ovs_members_are ce lag0 enabled disabled
check "PE2 still exchanges LACPDUs with sync off" ctl_jq pe2 '.[0].members[0].lacpdus_rx > 0 and (.[0].members[0].actor_state_bits | index("synchronization") | not)' bundles
log "port-active: flip (PE2 active, then PE1 standby) under a 1000 pps sequenced UDP stream"
r1=$(seq_rx pe1 7000 "$LAB/seq.pe1"); r2=$(seq_rx pe2 7000 "$LAB/seq.pe2")
sleep 0.5
seq_tx h1 1000 4 7000 >"$LAB/seq.sent" &
tx=$!
sleep 1.5
ctl pe2 set bundle ce1 active
ctl pe1 set bundle ce1 standby
ms=$(time_until 15 ovs_members_are ce lag0 disabled enabled) || ms=timeout
wait "$tx"; wait "$r1" "$r2" 2>/dev/null
sent=$(cat "$LAB/seq.sent")
got=$(sort -un "$LAB/seq.pe1" "$LAB/seq.pe2" | wc -l)
n1=$(wc -l <"$LAB/seq.pe1"); n2=$(wc -l <"$LAB/seq.pe2")
lost=$((sent - got))
note "the CE moved to l2a ${ms} ms after the flip"
note "stream: sent $sent, received $got (PE1 $n1 before, PE2 $n2 after): $lost lost = ${lost} ms of outage at 1000 pps"
check "the stream crossed both PEs (PE1 before, PE2 after the flip)" test "$n1" -gt 100 -a "$n2" -gt 100
check "switch-over lost less than 1 s of traffic" test "$lost" -lt 1000
check "only PE2's link is in the CE's LAG" ovs_members_are ce lag0 disabled enabled
for i in 1 2; do check "h$i reaches the gateway through PE2" ping_ok h$i 192.0.2.1 3; done
ctl pe1 set bundle ce1 auto
ctl pe2 set bundle ce1 auto
time_until 30 ovs_members_are ce lag0 enabled enabled >/dev/null
check "auto: both active again" ovs_members_are ce lag0 enabled enabled

log "malformed LACPDUs are counted and ignored"
nsx ce python3 - <<'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("l1a", 0))
hdr = bytes.fromhex("0180c2000002" "020000000bad" "8809")
for body in [b"\x01\x01\x01\x13" + b"\x00" * 106,       # actor TLV length 19
             b"\x01\x01" + b"\x00" * 20,                 # truncated
             b"\x01\x01\x01\x14" + b"\x00" * 18 + b"\x07\x14" + b"\x00" * 88]:  # partner TLV type 7
    for _ in range(3):
        s.send(hdr + body)
PY
sleep 0.5
check "PE1 counted 9 malformed LACPDUs" ctl_jq pe1 '.[0].lacpdus_malformed == 9' bundles
check "PE1's member still distributing" ctl_jq pe1 '.[0].members[0].distributing' bundles
check "the CE still has both members" ovs_members_are ce lag0 enabled enabled

log "negative: PE2 with another system id splits the LAG"
kill "$PID_pe2"; wait "$PID_pe2" 2>/dev/null
lacp_pe pe2 l2b 0x0201 02:00:00:00:aa:02
sleep 6
appctl ce lacp/show lag0 | grep -E '^member|status' | sed 's/^/   /'
check "OVS keeps l2a out: only one member enabled" ovs_members_are ce lag0 enabled disabled
check "OVS reports l2a as detached" bash -c "ovs-appctl -t $LAB/ovs-ce/vswitchd.ctl lacp/show lag0 | sed -n '/member: l2a/,+1p' | grep -q detached"

lab_summary
