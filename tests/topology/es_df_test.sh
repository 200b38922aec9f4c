#!/usr/bin/env bash
# Test description: DF election between two tandem PEs on one Ethernet Segment, whose CE is
# an Open vSwitch LACP bond. The PEs find each other through RT-4 over an iBGP session that
# crosses their DPDK core ports. All-active with modulo and with HRW: both PEs publish the
# same DF for every (ES, VLAN), equal to what an independent computation gives (RFC 7432
# §8.5 ordinals; RFC 8584 §3.2 with Python's zlib CRC-32). A PE asking for another algorithm
# makes both fall back to modulo (RFC 8584 §2.2). Port-active with preference: only the DF's
# link is in the CE's LAG; killing the DF moves the CE to the other PE, measured under a
# sequenced UDP stream (reported, not asserted beyond "it moved").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lacp.sh"
lab_init
log "CE (OVS bond lag0 = l1a + l2a) dual-homed to PE1 (10.0.3.1) and PE2 (10.0.3.2)"
for ns in ce pe1 pe2 h1; do netns_add $ns; done
veth ce l1a pe1 l1b
veth ce l2a pe2 l2b
veth pe1 c1 pe2 c2
veth ce sw-h1 h1 eth0
host_addr h1 192.0.2.11/24 192.0.2.1
ovs_ce_lag balance-tcp 10,11,12,13
vsctl ce add-port br0 sw-h1 tag=10
ESI="00:11:22:33:44:55:00:00:00:01"

# pe_conf NAME MEMBER CORE ADDR PEER PORT_BASE REDUNDANCY ALGORITHM PREFERENCE
pe_conf() {
  cat >"$LAB/$1.yaml" <<YAML
name: ${P}$1
eal: { lcores: "0", hugepages: auto, memory-mb: 256 }
ports:
  - { name: m0, devargs: "net_af_packet0,iface=$2" }
  - { name: core, devargs: "net_af_packet1,iface=$3", vrf: core, addresses: [$4/30] }
bundles:
  - name: ce1
    members: [m0]
    mac: "02:00:00:00:aa:aa"
    lacp: { mode: active, rate: fast, system-id: "02:00:00:00:aa:01", system-priority: 100, key: 7, port-number-base: $6 }
    redundancy: $7
    es: { esi: "$ESI", df-algorithm: $8, df-preference: $9, df-wait-ms: 1000 }
interfaces:
  - { name: ce1.10, parent: ce1, vlan: 10, vrf: A, addresses: [192.0.2.1/24] }
  - { name: ce1.11, parent: ce1, vlan: 11, vrf: A, addresses: [198.51.100.1/24] }
  - { name: ce1.12, parent: ce1, vlan: 12, vrf: A, addresses: [203.0.113.1/24] }
  - { name: ce1.13, parent: ce1, vlan: 13, vrf: A, addresses: [100.64.0.1/24] }
vrfs:
  - { name: core }
  - { name: A, route-targets: { import: ["65000:10"], export: ["65000:10"] } }
bgp:
  asn: 65000
  router-id: $4
  vrf: core
  neighbors:
    - { address: $5, remote-as: 65000, hold-time: 3, connect-retry-s: 1 }
api: { socket: $LAB/$1.sock }
YAML
}
# pes REDUNDANCY ALG1 ALG2 [PREF1 PREF2]: (re)start both PEs.
pes() {
  for n in pe1 pe2; do
    eval "pid=\${PID_$n:-}"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null; fi
  done
  pe_conf pe1 l1b c1 10.0.3.1 10.0.3.2 0x0101 "$1" "$2" "${4:-100}"
  pe_conf pe2 l2b c2 10.0.3.2 10.0.3.1 0x0201 "$1" "$3" "${5:-100}"
  tandemd_start pe1 pe1 "$LAB/pe1.yaml" && tandemd_start pe2 pe2 "$LAB/pe2.yaml"
}
# both_jq 'JQ-EXPR' SHOW-ARGS...: ctl_jq on PE1 and on PE2.
both_jq() { ctl_jq pe1 "$@" && ctl_jq pe2 "$@"; }
elected() { ctl_jq "$1" '.[0].df_state == "df-done" and (.[0].peers | length) == 2' es; }
both_elected() { elected pe1 && elected pe2; }
# df_list NAME: "vlan=df ..." as the PE publishes it.
df_list() { ctl "$1" --json show es | jq -r '[.[0].df[] | "\(.vlan)=\(.df)"] | join(" ")'; }

log "all-active, modulo"
pes all-active modulo modulo || { FAILED=1; lab_summary; exit 1; }
ms=$(time_until 60 both_elected) || ms=timeout
note "both PEs elected ${ms} ms after start (LACP up, BGP up, RT-4 exchanged, 1 s DF wait)"
check "both PEs: ES up, two candidates, election done" both_elected
ctl pe1 show es; ctl pe1 show df
want="10=10.0.3.1 11=10.0.3.2 12=10.0.3.1 13=10.0.3.2"
check "PE1's DFs are VLAN mod 2 over the ordered PEs: $want" test "$(df_list pe1)" = "$want"
check "PE2 agrees" test "$(df_list pe2)" = "$want"
check "each PE is DF for exactly its two VLANs" ctl_jq pe2 '[.[0].df[] | select(.local_is_df) | .vlan] == [11, 13]' es
check "modulo is the algorithm in use on both" both_jq '.[0].df_algorithm_in_use.name == "modulo"' es

log "all-active, HRW"
pes all-active hrw hrw || { FAILED=1; lab_summary; exit 1; }
wait_until 60 both_elected >/dev/null
want=$(python3 - "$ESI" <<'PY'
import ipaddress, sys, zlib
esi = bytes.fromhex(sys.argv[1].replace(":", ""))
pes = ["10.0.3.1", "10.0.3.2"]
def w(v, pe):
    d = zlib.crc32(v.to_bytes(4, "big") + esi) & 0x7fffffff
    s = int(ipaddress.ip_address(pe)) & 0x7fffffff
    return (1103515245 * (((1103515245 * s + 12345) % 2**31) ^ d) + 12345) % 2**31
print(" ".join("%d=%s" % (v, max(pes, key=lambda p: (w(v, p), -int(ipaddress.ip_address(p)))))
               for v in (10, 11, 12, 13)))
PY
)
note "independent HRW (zlib CRC-32): $want"
check "PE1's HRW DFs match the independent computation" test "$(df_list pe1)" = "$want"
check "PE2 agrees" test "$(df_list pe2)" = "$want"
check "HRW is the algorithm in use" ctl_jq pe2 '.[0].df_algorithm_in_use.name == "hrw"' es

log "disagreement: PE1 asks for HRW, PE2 for modulo"
pes all-active hrw modulo || { FAILED=1; lab_summary; exit 1; }
wait_until 60 both_elected >/dev/null
check "PE1 falls back to modulo (RFC 8584 §2.2)" ctl_jq pe1 '.[0].df_algorithm_in_use.name == "modulo"' es
check "both publish the modulo result" test "$(df_list pe1)" = "10=10.0.3.1 11=10.0.3.2 12=10.0.3.1 13=10.0.3.2" -a "$(df_list pe2)" = "$(df_list pe1)"

log "port-active, preference: PE1 200, PE2 100; esi: auto (type 1 from the CE's LACP)"
ESI=auto
pes port-active preference preference 200 100 || { FAILED=1; lab_summary; exit 1; }
ms=$(time_until 60 ovs_members_are ce lag0 enabled disabled) || ms=timeout
note "the CE's LAG settled on PE1's link ${ms} ms after the PEs started"
check "both PEs see each other on the ES and elected" wait_until 30 both_elected
ctl pe2 show es
esi1=$(ctl pe1 --json show es | jq -r '.[0].esi'); esi2=$(ctl pe2 --json show es | jq -r '.[0].esi')
note "derived ESIs: PE1 $esi1, PE2 $esi2"
check "both PEs derived the same type-1 ESI from OVS's LACP system 02:00:00:00:ce:01" \
  bash -c "[ '$esi1' = '$esi2' ] && case '$esi1' in 01:02:00:00:00:ce:01:*) true;; *) false;; esac"
check "PE1 is DF for the ES and its bundle active" ctl_jq pe1 '.[0].df[0].local_is_df and .[0].bundle_role == "active"' es
check "PE2 is non-DF and its bundle standby" ctl_jq pe2 '(.[0].df[0].local_is_df | not) and .[0].bundle_role == "standby" and .[0].df[0].df == "10.0.3.1"' es
check "Port Mode capability advertised and agreed" ctl_jq pe2 '.[0].df_algorithm_in_use.bitmap == 1024 and .[0].df_algorithm_in_use.name == "preference"' es
check "only the DF's link is in the CE's LAG" ovs_members_are ce lag0 enabled disabled
check "h1 reaches the gateway through PE1" ping_ok h1 192.0.2.1 3

# switchover SIGNAL FROM TO L1A L2A PORT: send SIGNAL to tandemd FROM (the DF) under a 1000 pps sequenced
# UDP stream from h1 to the gateway; report when TO became DF, when the CE moved, and the loss.
switchover() {
  local sig=$1 from=$2 to=$3 port=$6
  rm -f "$LAB"/seq.*
  local tx t0
  seq_rx pe1 "$port" "$LAB/seq.pe1" 8 >/dev/null; seq_rx pe2 "$port" "$LAB/seq.pe2" 8 >/dev/null
  sleep 0.5
  seq_tx h1 1000 8 "$port" >"$LAB/seq.sent" &
  tx=$!
  sleep 1.5
  t0=$(date +%s%N)
  eval "kill -$sig \$PID_$from"
  ms=$(time_until 20 ctl_jq "$to" '.[0].df[0].local_is_df and .[0].bundle_role == "active"' es) || ms=timeout
  note "$to became DF and active ${ms} ms after SIG$sig to $from"
  time_until 20 ovs_members_are ce lag0 "$4" "$5" >/dev/null
  note "the CE's LAG moved to $to's link $(( ($(date +%s%N) - t0) / 1000000 )) ms after the signal"
  wait "$tx"; sleep 0.5
  sent=$(cat "$LAB/seq.sent"); got=$(sort -un "$LAB/seq.pe1" "$LAB/seq.pe2" | wc -l)
  nfrom=$(wc -l <"$LAB/seq.$from"); nto=$(wc -l <"$LAB/seq.$to")
  LOST=$((sent - got))
  note "stream: sent $sent, received $got ($from $nfrom, $to $nto): $LOST ms of outage at 1000 pps"
  check "the stream reached $from before and $to after" test "$nfrom" -gt 100 -a "$nto" -gt 100
}

log "failure: SIGKILL the DF (PE1); PE2 learns it from its BGP hold time (3 s)"
switchover KILL pe1 pe2 disabled enabled 7000
check "PE2 is DF and active, alone on the ES" ctl_jq pe2 '.[0].df[0].local_is_df and .[0].bundle_role == "active" and (.[0].peers | length) == 1' es
check "the CE uses PE2's link" ovs_members_are ce lag0 disabled enabled
check "h1 reaches the gateway through PE2" ping_ok h1 192.0.2.1 3
KILL_LOST=$LOST

log "PE1 returns with the higher preference and takes the DF back (revertive)"
tandemd_start pe1 pe1 "$LAB/pe1.yaml" || FAILED=1
ms=$(time_until 60 ovs_members_are ce lag0 enabled disabled) || ms=timeout
note "the CE is back on PE1's link ${ms} ms after PE1 restarted"
check "PE1 DF and active again" ctl_jq pe1 '.[0].bundle_role == "active"' es
check "PE2 non-DF and standby again" ctl_jq pe2 '.[0].bundle_role == "standby"' es

log "maintenance: SIGTERM the DF (PE1); it sends LACP out-of-sync and a BGP Cease first"
switchover TERM pe1 pe2 disabled enabled 7001
check "PE2 took over on PE1's Cease" ctl_jq pe2 '.[0].df[0].local_is_df and (.[0].peers | length) == 1' es
check "graceful switch-over lost less than the failure case ($KILL_LOST)" test "$LOST" -lt "$KILL_LOST"
lab_summary
