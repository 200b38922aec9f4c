#!/usr/bin/env bash
# Installs what building and testing tandem needs on Debian 12, skipping what is present.
# Open vSwitch is unpacked into /opt/tandem/ovs (dpkg -x) instead of installed, so its init
# scripts never start system-wide daemons: the lab runs its own ovsdb/vswitchd per namespace.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in libdpdk-dev dpdk dpdk-dev clang libclang-dev pkg-config iproute2 ethtool iputils-ping \
         netcat-openbsd tcpdump jq procps libbpf1 libcap-ng0 libnuma1 libssl3 libunbound8 \
         libxdp1 uuid-runtime python3 gobgpd frr tshark; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  for i in 1 2 3 4 5; do apt-get update -qq && break || sleep 5; done
  for i in 1 2 3 4 5; do apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null && break || sleep 5; done
fi

OVS=/opt/tandem/ovs
if [ ! -x "$OVS/usr/lib/openvswitch-switch/ovs-vswitchd" ]; then
  echo "deps: unpacking Open vSwitch into $OVS"
  tmp=$(mktemp -d)
  (cd "$tmp" && for i in 1 2 3; do apt-get download openvswitch-switch openvswitch-common >/dev/null 2>&1 && break || { apt-get update -qq; sleep 3; }; done)
  mkdir -p "$OVS"
  for d in "$tmp"/openvswitch-*.deb; do dpkg -x "$d" "$OVS"; done
  rm -rf "$tmp"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "deps: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi

# Hugepages when the kernel allows it; tandemd falls back to --no-huge otherwise.
if [ -w /proc/sys/vm/nr_hugepages ] && [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 256 ]; then
  echo 256 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
fi
mountpoint -q /dev/hugepages 2>/dev/null || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true; }
exit 0
