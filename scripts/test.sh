#!/usr/bin/env bash
# Runs every test tier in order and reports each; exits non-zero if any failed.
#   unit + property + EAL   cargo test --workspace (EAL tests run with --no-huge and net_ring)
#   model check             loom over the snapshot publisher
#   config CLI              tandemd --check-config on good and bad files
#   fuzz                    each target for FUZZ_SECONDS (default 20)
#   topology                tests/topology/*_test.sh (namespaces, OVS, real pings)
set -u
cd "$(dirname "$0")/.."
export PATH=$HOME/.cargo/bin:$PATH
failed=()
stage() {
  local name=$1; shift
  echo; echo "######## $name"
  local t0=$SECONDS
  if "$@"; then echo "######## $name: ok ($((SECONDS - t0)) s)"; else echo "######## $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}

config_cli() {
  local ok=0
  for f in config/examples/*.yaml; do target/release/tandemd --check-config "$f" || ok=1; done
  local out
  out=$(target/release/tandemd --check-config config/tests/invalid/unreachable-nexthop.yaml 2>&1); local rc=$?
  echo "$out"
  [ "$rc" -eq 1 ] || { echo "expected exit 1, got $rc"; ok=1; }
  grep -q 'vrfs\[0\].routes\[0\].via: 203.0.113.1 is not in a connected subnet' <<<"$out" || ok=1
  grep -q 'nothing started' <<<"$out" || ok=1
  return $ok
}

topology() {
  local rc=0
  for t in tests/topology/*_test.sh; do
    echo "--- $t"
    timeout 600 bash "$t" || rc=1
  done
  return $rc
}

stage "lint (clippy -D warnings, rustfmt)" bash -c 'cargo clippy --workspace --all-targets --locked -- -D warnings && cargo fmt --all -- --check'
stage "unit, property and EAL tests" cargo test --workspace --locked
stage "loom model check of the snapshot publisher" make --no-print-directory loom
stage "config validation from the CLI" config_cli
stage "fuzzing (bounded)" env FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh
stage "topology tests" topology

echo
total=6
[ ${#failed[@]} -eq 0 ] || echo "failed tiers: ${failed[*]}"
echo "tiers: $((total - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
