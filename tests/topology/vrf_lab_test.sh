#!/usr/bin/env bash
# Test description: the Figure 3 lab. Two customers with the same subnets on VLAN 1 and 2 of
# one trunk (Open vSwitch, userspace datapath) reach their own remote host through tandem, in
# IPv4 and IPv6, at the same time; nothing crosses between the VRFs (the pings that must fail,
# fail); neighbours show up in tandemctl's JSON; a TCP exchange reaches the VRF's kernel host
# interface through the exception path; malformed frames become named drop counters.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fig3.sh"
lab_init
log "building the Figure 3 topology"
fig3_up || { echo "topology set-up failed"; FAILED=1; lab_summary; exit 1; }

log "forwarding within each VRF"
check "CUST1: c1 -> r1 (IPv4)" ping_ok c1 198.51.100.10
check "CUST2: c2 -> r2 (IPv4, same addresses as CUST1)" ping_ok c2 198.51.100.10
check "CUST1: c1 -> r1 (IPv6)" ping_ok c1 2001:db8:2::10
check "CUST2: c2 -> r2 (IPv6)" ping_ok c2 2001:db8:2::10
check "CUST2: static route to 203.0.113.10 via r2" ping_ok c2 203.0.113.10
check "CUST2: static route to 2001:db8:3::10 via r2" ping_ok c2 2001:db8:3::10
check "c1 pings its gateway 192.0.2.1 (answered by the dataplane)" ping_ok c1 192.0.2.1
check "c2 pings its gateway 2001:db8:1::1" ping_ok c2 2001:db8:1::1

log "both VRFs at once, and each reply came from the right host"
nsx c1 ping -c 20 -i 0.05 -W 1 198.51.100.10 >"$LAB/c1.ping" 2>&1 &
a=$!
nsx c2 ping -c 20 -i 0.05 -W 1 198.51.100.10 >"$LAB/c2.ping" 2>&1 &
b=$!
wait $a; ra=$?; wait $b; rb=$?
check "20 + 20 concurrent pings all answered" test "$ra$rb" = 00
note "r1 received $(rx_packets r1 eth0) packets, r2 received $(rx_packets r2 eth0)"

log "no leak between VRFs"
check "CUST1 has no route to 203.0.113.10 (must fail)" ping_none c1 203.0.113.10
check "CUST1 has no route to 2001:db8:3::10 (must fail)" ping_none c1 2001:db8:3::10
on_r2=$(icmp_echo_count r2 eth0 4 nsx c1 ping -c 5 -i 0.1 -W 1 198.51.100.10)
on_r1=$(icmp_echo_count r1 eth0 4 nsx c1 ping -c 5 -i 0.1 -W 1 198.51.100.10)
check "CUST1's 5 echo requests reach r1 (seen: $on_r1)" test "$on_r1" -ge 5
check "CUST1's echo requests never reach r2 in CUST2 (seen: $on_r2)" test "$on_r2" -eq 0
check "no-route drops counted" ctl_jq pe1 '.drops["no-route"] >= 6' counters

log "neighbours"
ctl pe1 show neighbors
m1=$(nsx c1 cat /sys/class/net/eth0/address)
m2=$(nsx c2 cat /sys/class/net/eth0/address)
check "c1 learned in CUST1 on p0.1 with c1's MAC" ctl_jq pe1 "any(.[]; .vrf==\"CUST1\" and .interface==\"p0.1\" and .ip==\"192.0.2.10\" and .mac==\"$m1\")" neighbors
check "c2 (same IP) learned in CUST2 on p0.2 with c2's MAC" ctl_jq pe1 "any(.[]; .vrf==\"CUST2\" and .interface==\"p0.2\" and .ip==\"192.0.2.10\" and .mac==\"$m2\")" neighbors
check "IPv6 neighbour r1 learned in CUST1 on p1" ctl_jq pe1 'any(.[]; .interface=="p1" and .ip=="2001:db8:2::10")' neighbors CUST1

log "exception path: TCP to the appliance's address reaches the VRF's kernel namespace"
HNS="${P}pe1-CUST2"
ip netns exec "$HNS" timeout 10 nc -l -p 7777 >"$LAB/nc.out" &
ncp=$!
sleep 0.5
echo "hello from c2" | nsx c2 timeout 5 nc -q 1 192.0.2.1 7777 || true
wait $ncp
check "the listener in VRF CUST2's namespace got the data" grep -q "hello from c2" "$LAB/nc.out"
ip netns exec "${P}pe1-CUST1" timeout 10 nc -6 -l -p 7777 >"$LAB/nc6.out" &
ncp=$!
sleep 0.5
echo "hello over v6" | nsx c1 timeout 5 nc -q 1 2001:db8:1::1 7777 || true
wait $ncp
check "and over IPv6 in CUST1" grep -q "hello over v6" "$LAB/nc6.out"
check "the kernel in CUST2's namespace reaches 203.0.113.10 (routed by the dataplane)" ip netns exec "$HNS" ping -c 3 -i 0.2 -W 1 203.0.113.10
check "the kernel in CUST1's namespace does not (must fail: no route in CUST1)" ping_none_host "${P}pe1-CUST1" 203.0.113.10

log "malformed frames are counted drops, not crashes"
nsx c1 python3 - <<'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = open("/sys/class/net/eth0/address").read().strip()
src = bytes.fromhex(mac.replace(":", ""))
bcast = b"\xff" * 6
ip = bytes.fromhex("4500001c0000000040010000c000020ac0000201")  # checksum left 0: invalid
icmp = bytes.fromhex("0800f7ff00000000")
for frame in [
    bcast + src + b"\x08\x06" + b"\x00\x01\x08\x00",          # truncated ARP
    bcast + src + b"\x08\x00" + ip + icmp,                   # bad IPv4 header checksum
    bcast + src + b"\x88\xb5" + b"\x00" * 46,                 # unknown ethertype
    bcast + src + b"\x08\x00" + b"\x45\x00\xff\xff" + b"\x00" * 42,  # IPv4 total length beyond frame
]:
    for _ in range(10):
        s.send(frame)
PY
sleep 0.5
ctl pe1 show counters | sed -n '/drops/,/control/p'
check "arp-malformed counted" ctl_jq pe1 '.drops["arp-malformed"] >= 10' counters
check "ipv4-bad-checksum counted" ctl_jq pe1 '.drops["ipv4-bad-checksum"] >= 10' counters
check "ipv4-malformed counted" ctl_jq pe1 '.drops["ipv4-malformed"] >= 10' counters
check "unsupported-ethertype counted" ctl_jq pe1 '.drops["unsupported-ethertype"] >= 10' counters
check "tandemd still alive and forwarding" ping_ok c1 198.51.100.10 3

log "idle CPU with adaptive polling"
pid=$PID_pe1
t0=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 3; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
cpu=$(( (t1 - t0) * 100 / (3 * $(getconf CLK_TCK)) ))
note "tandemd used ${cpu}% of one CPU while idle"
check "idle CPU <= 10 % (target 3 %)" test "$cpu" -le 10

lab_summary
