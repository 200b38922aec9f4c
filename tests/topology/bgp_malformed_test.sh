#!/usr/bin/env bash
# Test description: RFC 7606 over a real session. A scripted BGP speaker (Python, raw
# sockets) peers with tandemd through its DPDK port and sends, one by one, UPDATEs that
# are well-formed, then malformed in the ways RFC 7606 classifies: treat-as-withdraw (bad
# ORIGIN, EXT_COMMUNITIES length not a multiple of 8, missing AS_PATH), attribute-discard
# (ATOMIC_AGGREGATE with a length), an invalid EVPN route beside a good one, an unknown EVPN
# route type, an unknown optional transitive attribute. After each, tandem's routes and
# session state are read with tandemctl: the session must stay Established and only the
# named routes change. Last, an attribute length that overruns the message must reset the
# session with NOTIFICATION 3/1 (UPDATE Message Error / Malformed Attribute List), which the
# speaker reads back.
. "$(dirname "$0")/lib.sh"
lab_init
log "PE1 (tandem, AS 65000) <-> a scripted speaker (AS 65000) over PE1's DPDK port"
for ns in pe1 sp; do netns_add $ns; done
veth pe1 p1 sp eth0
ip -n "$P-sp" addr add 10.0.0.2/30 dev eth0
cat >"$LAB/pe1.yaml" <<YAML
name: ${P}pe1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: p1, devargs: "net_af_packet0,iface=p1", vrf: core, addresses: [10.0.0.1/30] }
vrfs: [{ name: core }]
bgp:
  asn: 65000
  router-id: 10.0.0.1
  vrf: core
  neighbors:
    - { address: 10.0.0.2, remote-as: 65000, hold-time: 90, connect-retry-s: 1 }
api: { socket: $LAB/pe1.sock }
YAML
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || { FAILED=1; lab_summary; exit 1; }

nsx sp timeout 60 python3 - "$BIN/tandemctl" "$LAB/pe1.sock" "$LAB/results.json" <<'PY'
import json, socket, struct, subprocess, sys, time
ctl, sock_path, out = sys.argv[1:4]

def msg(t, body): return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body
def attr(flags, code, v):
    if flags & 0x10: return struct.pack("!BBH", flags, code, len(v)) + v
    return struct.pack("!BBB", flags, code, len(v)) + v
def rt4(n):   # RT-4: RD 10.0.0.2:n, ESI 00:..:n, originator 10.0.0.2
    v = bytes([0, 1, 10, 0, 0, 2, 0, n]) + bytes(9) + bytes([n]) + bytes([32, 10, 0, 0, 2])
    return bytes([4, len(v)]) + v
def rt2_bad():  # RT-2 with IP length 24: invalid, framing intact
    v = bytes([0, 1, 10, 0, 0, 2, 0, 99]) + bytes(10) + bytes(4) + bytes([48]) + bytes(6) + bytes([24, 1, 2, 3]) + bytes(3)
    return bytes([2, len(v)]) + v
def mp_reach(nlri): return attr(0x90, 14, struct.pack("!HBB", 25, 70, 4) + bytes([10, 0, 0, 2]) + b"\x00" + nlri)
ORIGIN, ASPATH, LP = attr(0x40, 1, b"\x00"), attr(0x40, 2, b""), attr(0x40, 5, struct.pack("!I", 100))
ESIMP = attr(0xc0, 16, bytes([6, 2, 0, 0, 0, 0, 0, 1]))
def update(attrs): return msg(2, struct.pack("!H", 0) + struct.pack("!H", len(attrs)) + attrs)

s = socket.create_connection(("10.0.0.1", 179), timeout=10)
caps = bytes([1, 4, 0, 25, 0, 70]) + bytes([65, 4]) + struct.pack("!I", 65000)
opt = bytes([2, len(caps)]) + caps
s.sendall(msg(1, struct.pack("!BHH4sB", 4, 65000, 90, bytes([10, 0, 0, 2]), len(opt)) + opt))
buf = b""
def read_msg(timeout=5):
    global buf
    s.settimeout(timeout)
    while True:
        if len(buf) >= 19:
            n = struct.unpack("!H", buf[16:18])[0]
            if len(buf) >= n:
                m, buf = buf[:n], buf[n:]
                return m[18], m[19:]
        d = s.recv(65536)
        if not d: return None, b""
        buf += d
t, _ = read_msg(); assert t == 1, "expected OPEN"
s.sendall(msg(4, b""))
while True:
    t, body = read_msg()
    if t == 4: break
results = {}
def snap(name):
    time.sleep(0.4)
    j = lambda *a: json.loads(subprocess.check_output([ctl, "--socket", sock_path, "--json", "show", *a]))
    n = j("bgp", "summary")["neighbors"][0]
    results[name] = {"state": n["state"], "withdrawn_by_error": n["withdrawn_by_error"], "refresh": n["route_refresh_rx"],
                     "rds": sorted(r["rd"] for r in j("evpn", "routes"))}
good = ORIGIN + ASPATH + LP + ESIMP
s.sendall(update(mp_reach(rt4(1) + rt4(2)) + good)); snap("two good routes")
s.sendall(update(mp_reach(rt4(1)) + attr(0x40, 1, b"\x03") + ASPATH + LP + ESIMP)); snap("ORIGIN 3")
s.sendall(update(mp_reach(rt4(1)) + good)); snap("route 1 again")
s.sendall(update(mp_reach(rt4(2)) + ORIGIN + ASPATH + LP + attr(0xc0, 16, bytes(7)))); snap("EXT_COMMUNITIES length 7")
s.sendall(update(mp_reach(rt4(3)) + ORIGIN + LP + ESIMP)); snap("missing AS_PATH")
s.sendall(update(mp_reach(rt4(4)) + good + attr(0x40, 6, b"\x00"))); snap("ATOMIC_AGGREGATE length 1")
s.sendall(update(mp_reach(rt4(5) + rt2_bad()) + good)); snap("invalid RT-2 beside RT-4")
s.sendall(update(mp_reach(rt4(6) + bytes([11, 3, 1, 2, 3])) + good)); snap("unknown route type 11")
s.sendall(update(mp_reach(rt4(7)) + good + attr(0xc0, 99, b"\x2a"))); snap("unknown optional transitive")
# ROUTE-REFRESH for L2VPN/EVPN (RFC 2918): tandem re-sends its Adj-RIB-Out (here only End-of-RIB).
buf = b""
s.settimeout(0.3)
try:
    while True: buf += s.recv(65536) or b""
except socket.timeout: pass
buf = b""
s.sendall(msg(5, struct.pack("!HBB", 25, 0, 70)))
t = 0
while t not in (2, None): t, body = read_msg()
results["refresh_answer"] = body.hex() if t == 2 else None
snap("after refresh")
# The attribute-list length claims more than the message holds: malformed attribute list.
bad = bytearray(update(mp_reach(rt4(8)) + good)); bad[21] += 40
s.sendall(bytes(bad))
t = 0
while t not in (3, None):   # skip our End-of-RIB and KEEPALIVEs
    t, body = read_msg()
results["notification"] = list(body[:2]) if t == 3 else None
snap("after overrun")
json.dump(results, open(out, "w"), indent=1)
PY
R="$LAB/results.json"
cat "$R" | jq -c 'to_entries[] | {(.key): .value}' | sed 's/^/   /'
rd() { printf '"10.0.0.2:%s"' "$1"; }
check "two good RT-4s installed" json_true "$R" ".\"two good routes\".rds == [$(rd 1),$(rd 2)] and .\"two good routes\".state == \"Established\""
check "ORIGIN 3: treat-as-withdraw removes route 1, session up" json_true "$R" '."ORIGIN 3".rds == ["10.0.0.2:2"] and ."ORIGIN 3".withdrawn_by_error == 1 and ."ORIGIN 3".state == "Established"'
check "route 1 re-advertised" json_true "$R" '."route 1 again".rds | length == 2'
check "EXT_COMMUNITIES length 7: treat-as-withdraw removes route 2" json_true "$R" '."EXT_COMMUNITIES length 7".rds == ["10.0.0.2:1"] and ."EXT_COMMUNITIES length 7".state == "Established"'
check "missing AS_PATH: route 3 not installed, session up" json_true "$R" '."missing AS_PATH".rds == ["10.0.0.2:1"] and ."missing AS_PATH".state == "Established"'
check "ATOMIC_AGGREGATE length 1: attribute discarded, route 4 installed" json_true "$R" '."ATOMIC_AGGREGATE length 1".rds == ["10.0.0.2:1","10.0.0.2:4"]'
check "invalid RT-2 dropped alone: the RT-4 beside it installed" json_true "$R" '."invalid RT-2 beside RT-4".rds == ["10.0.0.2:1","10.0.0.2:4","10.0.0.2:5"]'
check "unknown EVPN route type ignored, its neighbour installed" json_true "$R" '."unknown route type 11".rds | index("10.0.0.2:6") != null'
check "unknown optional transitive attribute: route 7 installed" json_true "$R" '(."unknown optional transitive".rds | index("10.0.0.2:7") != null) and ."unknown optional transitive".state == "Established"'
check "ROUTE-REFRESH answered (End-of-RIB for L2VPN/EVPN) and counted" json_true "$R" '.refresh_answer == "00000006800f03001946" and ."after refresh".state == "Established" and ."after refresh".refresh == 1'
check "attribute overrun: NOTIFICATION 3/1 received by the speaker" json_true "$R" '.notification == [3, 1]'
check "attribute overrun: session reset and the speaker's routes flushed" json_true "$R" '."after overrun".state != "Established" and ."after overrun".rds == []'
check "tandem says why" ctl_jq pe1 '.neighbors[0].last_error | test("NOTIFICATION")' bgp summary
lab_summary
