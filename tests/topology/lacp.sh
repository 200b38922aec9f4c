# A multi-homed CE: Open vSwitch (userspace) bond lag0 = l1a + l2a with LACP active/fast, one
# member to PE1 and one to PE2; four hosts in VLAN 10 behind it. Both PEs present one LACP
# partner (same system id, priority and key; port numbers 0x0101 and 0x0201) and the same
# anycast gateway 192.0.2.1 / 02:00:00:00:aa:aa on sub-interface ce1.10.
#
#   h1..h4 ── [CE: OVS br0, lag0] ══ l1a ── l1b [PE1]
#                                 ══ l2a ── l2b [PE2]
lacp_up() {
  for ns in ce pe1 pe2 h1 h2 h3 h4; do netns_add $ns; done
  veth ce l1a pe1 l1b
  veth ce l2a pe2 l2b
  ce_hosts
  lacp_pe pe1 l1b 0x0101 02:00:00:00:aa:01
  lacp_pe pe2 l2b 0x0201 02:00:00:00:aa:01
}

# lacp_pe NAME IFACE PORT_BASE SYSTEM_ID [EXTRA-BUNDLE-YAML]: write the config and start tandemd.
lacp_pe() {
  local name=$1 ifc=$2 base=$3 sys=$4 extra=${5:-}
  cat >"$LAB/$name.yaml" <<YAML
name: ${P}${name}
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: m0, devargs: "net_af_packet0,iface=$ifc" }
bundles:
  - name: ce1
    members: [m0]
    mac: "02:00:00:00:aa:aa"
    lacp: { mode: active, rate: fast, system-id: "$sys", system-priority: 100, key: 7, port-number-base: $base }
    $extra
interfaces:
  - { name: ce1.10, parent: ce1, vlan: 10, vrf: A, addresses: [192.0.2.1/24] }
vrfs: [{ name: A }]
api: { socket: $LAB/$name.sock }
YAML
  tandemd_start "$name" "$name" "$LAB/$name.yaml"
}

# udp_flows NS SECONDS: 40 UDP flows (distinct source ports) toward the gateway, 10 rounds a
# second, so that OVS's bond rebalancing (every second here) spreads them over the members.
udp_flows() {
  nsx "$1" python3 -c '
import socket, sys, time
socks = []
for p in range(40000, 40040):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", p)); socks.append(s)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    for s in socks: s.sendto(b"x" * 100, ("192.0.2.1", 9))
    time.sleep(0.1)' "$2"
}

# seq_rx NAME PORT OUT [IDLE_S]: a UDP receiver in PE NAME's VRF-A host namespace (the
# exception path) writing every received sequence number to OUT; it ends after IDLE_S seconds
# (default 3) without a packet. Prints its PID.
seq_rx() {
  ip netns exec "${P}$1-A" timeout 60 python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.0.2.1", int(sys.argv[1])))
s.settimeout(float(sys.argv[3]))
with open(sys.argv[2], "w") as f:
    while True:
        try: d, _ = s.recvfrom(64)
        except socket.timeout: break
        f.write("%d\n" % struct.unpack("!I", d[:4])[0]); f.flush()' "$2" "$3" "${4:-3}" >/dev/null 2>"$3.err" &
  echo $!
}
# seq_tx NS RATE SECONDS PORT: a constant-rate UDP stream of sequence numbers to 192.0.2.1.
seq_tx() {
  nsx "$1" python3 -c '
import socket, struct, sys, time
rate, secs, port = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 41000))
t0 = time.perf_counter(); n = int(rate * secs)
for i in range(n):
    while time.perf_counter() < t0 + i / rate: pass
    s.sendto(struct.pack("!I", i) + b"x" * 60, ("192.0.2.1", port))
print(n)' "$2" "$3" "$4"
}
