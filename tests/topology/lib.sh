# tandem topology test library: namespaces, veths, Open vSwitch (userspace datapath) and
# tandemd instances, all torn down on exit, even on failure. Source it; then call lab_init.
#
# Conventions: every namespace is "$P-<name>" ($P is unique per run), every daemon's PID is
# recorded and stopped by that PID, every wait is bounded.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${TANDEM_BIN:-$ROOT/target/release}
OVS=${TANDEM_OVS:-/opt/tandem/ovs}
VSWITCHD=$OVS/usr/lib/openvswitch-switch/ovs-vswitchd
export PATH=$OVS/usr/bin:$OVS/usr/sbin:$PATH

PASSED=0
FAILED=0
PIDS=()
NETNS=()

log() { printf '\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }

lab_init() {
  P=${LAB_PREFIX:-tl$$}
  LAB=$(mktemp -d "/tmp/tandem-lab.XXXXXX")
  trap lab_cleanup EXIT
  trap 'exit 130' INT TERM
}

lab_cleanup() {
  local rc=$?
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do
    kill "${PIDS[$i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  for ns in "${NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  # Host namespaces a killed tandemd could not remove.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    mkdir -p "$ROOT/lab-out"; cp -r "$LAB" "$ROOT/lab-out/" 2>/dev/null || true
    echo "logs kept in $ROOT/lab-out/$(basename "$LAB")"
  fi
  rm -rf "$LAB"
}

netns_add() { ip netns add "$P-$1"; NETNS+=("$P-$1"); ip -n "$P-$1" link set lo up; }
nsx() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# veth NS_A IF_A NS_B IF_B: a veth pair with checksum and segmentation offloads off, so
# af_packet ports never see partial checksums.
veth() {
  ip link add "$2" netns "$P-$1" type veth peer name "$4" netns "$P-$3"
  for side in "$1 $2" "$3 $4"; do
    set -- $side
    ip -n "$P-$1" link set "$2" up
    nsx "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
}

# host NS ADDR4/LEN GW4 [ADDR6/LEN GW6]: a host namespace behind interface eth0.
host_addr() {
  local ns=$1 a4=$2 gw4=$3 a6=${4:-} gw6=${5:-}
  ip -n "$P-$ns" addr add "$a4" dev eth0
  ip -n "$P-$ns" route add default via "$gw4"
  if [ -n "$a6" ]; then
    nsx "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
    ip -n "$P-$ns" -6 addr add "$a6" dev eth0 nodad
    ip -n "$P-$ns" -6 route add default via "$gw6"
  fi
}

# ovs_start NS: ovsdb-server + ovs-vswitchd (userspace datapath) inside namespace NS.
ovs_start() {
  local ns=$1 d=$LAB/ovs-$1
  mkdir -p "$d"
  ovsdb-tool create "$d/conf.db" "$OVS/usr/share/openvswitch/vswitch.ovsschema"
  nsx "$ns" ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --pidfile="$d/ovsdb.pid" \
      --unixctl="$d/ovsdb.ctl" --log-file="$d/ovsdb.log" --detach --no-chdir 2>>"$d/console.log"
  PIDS+=("$(cat "$d/ovsdb.pid")")
  ovs-vsctl --db="unix:$d/db.sock" --no-wait init
  nsx "$ns" "$VSWITCHD" "unix:$d/db.sock" --pidfile="$d/vswitchd.pid" --unixctl="$d/vswitchd.ctl" \
      --log-file="$d/vswitchd.log" --detach --no-chdir 2>>"$d/console.log"
  PIDS+=("$(cat "$d/vswitchd.pid")")
}
vsctl() { local ns=$1; shift; ovs-vsctl --db="unix:$LAB/ovs-$ns/db.sock" "$@"; }
# ovs_ce_lag BOND_MODE TRUNKS [OTHER_CONFIG...]: Open vSwitch in namespace "ce" as a
# multi-homed CE: bridge br0 with bond lag0 = l1a + l2a, LACP active/fast, system id
# 02:00:00:00:ce:01 priority 100, trunking TRUNKS (host ports are added by the caller).
ovs_ce_lag() {
  local mode=$1 trunks=$2; shift 2
  ovs_start ce
  vsctl ce add-br br0 -- set bridge br0 datapath_type=netdev
  vsctl ce add-bond br0 lag0 l1a l2a lacp=active bond_mode="$mode" vlan_mode=trunk trunks="$trunks" \
    other_config:lacp-time=fast other_config:lacp-system-id=02:00:00:00:ce:01 \
    other_config:lacp-system-priority=100 "$@"
}
# ce_hosts: the CE of ovs_ce_lag (balance-tcp, VLAN 10) with hosts h1..h4 (192.0.2.11-14/24,
# gateway 192.0.2.1) on access ports of VLAN 10. Namespaces ce and h1..h4 must exist.
ce_hosts() {
  local i
  for i in 1 2 3 4; do
    veth ce sw-h$i h$i eth0
    host_addr h$i 192.0.2.1$i/24 192.0.2.1
  done
  ovs_ce_lag balance-tcp 10 other_config:bond-rebalance-interval=1000
  for i in 1 2 3 4; do vsctl ce add-port br0 sw-h$i tag=10; done
}
appctl() { local ns=$1; shift; ovs-appctl -t "$LAB/ovs-$ns/vswitchd.ctl" "$@"; }

# tandemd NAME NS CONFIG: start an appliance in namespace NS and wait for its API.
tandemd_start() {
  local name=$1 ns=$2 cfg=$3
  "$BIN/tandemd" --check-config "$cfg" >/dev/null || { echo "invalid config $cfg"; "$BIN/tandemd" --check-config "$cfg"; return 1; }
  # nsenter, not `ip netns exec`: the latter gives the daemon a private mount namespace, and
  # the VRF host namespaces it creates (/run/netns bind mounts) would be invisible outside.
  nsenter --net="/run/netns/$P-$ns" "$BIN/tandemd" --config "$cfg" >"$LAB/$name.log" 2>&1 &
  PIDS+=("$!")
  eval "PID_$name=$!"
  wait_until 30 ctl "$name" show version >/dev/null || { echo "tandemd $name did not come up:"; tail -30 "$LAB/$name.log"; return 1; }
}
ctl() { local name=$1; shift; "$BIN/tandemctl" --socket "$LAB/$name.sock" "$@"; }
# ctl_jq NAME 'JQ-EXPR' SHOW-ARGS...: the JSON of `tandemctl show ARGS` satisfies JQ-EXPR.
ctl_jq() {
  local name=$1 expr=$2; shift 2
  local out; out=$(ctl "$name" --json show "$@") || return 1
  [ -n "$out" ] || return 1
  echo "$out" | jq -e "$expr" >/dev/null || { echo "jq '$expr' failed on:"; echo "$out" | head -40; return 1; }
}
# json_true FILE 'JQ-EXPR': FILE holds JSON and the expression is exactly true (jq -e alone
# succeeds on an empty file).
json_true() {
  [ -s "$1" ] || { echo "$1 is empty or missing"; return 1; }
  local v; v=$(jq -c "$2" "$1" 2>&1)
  [ "$v" = "true" ] || { echo "jq '$2' gave: $v"; head -c 2000 "$1"; return 1; }
}
# rx_packets NS IF: the kernel's receive counter of an interface (a number, or failure).
rx_packets() { local n; n=$(nsx "$1" cat "/sys/class/net/$2/statistics/rx_packets") || return 1; echo "$n"; }

# wait_until SECONDS CMD...: retry CMD every 0.2 s until it succeeds or time runs out.
wait_until() {
  local t=$1; shift
  local end=$((SECONDS + t))
  while [ "$SECONDS" -lt "$end" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@"
}

# check DESCRIPTION CMD...: an assertion; counts and prints the outcome.
check() {
  local what=$1; shift
  if "$@" >"$LAB/last.out" 2>&1; then
    PASSED=$((PASSED + 1)); printf '   \033[32mok\033[0m   %s\n' "$what"
  else
    FAILED=$((FAILED + 1)); printf '   \033[31mFAIL\033[0m %s\n' "$what"; sed 's/^/        /' "$LAB/last.out" | tail -15
  fi
}
# refute DESCRIPTION CMD...: CMD must fail.
refute() { local what=$1; shift; check "$what" bash -c '! "$@"' _ "$@"; }

# ping_ok NS DST [COUNT]: at least COUNT-1 of COUNT pings answered (the first may be spent resolving).
ping_ok() {
  local ns=$1 dst=$2 n=${3:-5}
  local out; out=$(nsx "$ns" ping -c "$n" -i 0.2 -W 1 "$dst" 2>&1) || true
  local rx; rx=$(echo "$out" | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
  echo "$out" | tail -2
  [ "${rx:-0}" -ge $((n - 1)) ]
}
# icmp_echo_count NS IF SECONDS CMD...: echo requests seen on IF while CMD runs.
icmp_echo_count() {
  local ns=$1 ifc=$2 t=$3; shift 3
  nsx "$ns" timeout "$t" tcpdump -nli "$ifc" 'icmp[0] == 8 or (icmp6 and ip6[40] == 128)' >"$LAB/cap.$ns" 2>/dev/null &
  local cap=$!
  sleep 1
  "$@" >/dev/null 2>&1 || true
  wait $cap 2>/dev/null
  grep -c 'echo request' "$LAB/cap.$ns" || true
}
ping_none_host() { ! ip netns exec "$1" ping -c 3 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }
ping_none() {
  local ns=$1 dst=$2
  ! nsx "$ns" ping -c 3 -i 0.2 -W 1 "$dst" >/dev/null 2>&1
}

lab_summary() {
  echo
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# ovs_member NS BOND MEMBER: prints "enabled" or "disabled" from bond/show.
ovs_member() { appctl "$1" bond/show "$2" 2>/dev/null | sed -n "s/^member $3: \(enabled\|disabled\).*/\1/p"; }
# ovs_members_are NS BOND STATE1 STATE2: the two members l1a and l2a are in these states.
ovs_members_are() { [ "$(ovs_member "$1" "$2" l1a)" = "$3" ] && [ "$(ovs_member "$1" "$2" l2a)" = "$4" ]; }
# time_until SECONDS CMD...: prints the milliseconds until CMD first succeeds (polled every
# 50 ms), or fails after SECONDS.
time_until() {
  local t=$1; shift
  local t0; t0=$(date +%s%N)
  local end=$((SECONDS + t))
  while [ "$SECONDS" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then echo $(( ($(date +%s%N) - t0) / 1000000 )); return 0; fi
    sleep 0.05
  done
  return 1
}
