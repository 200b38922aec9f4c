#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS each (bounded, for CI) and fails on any crash.
# cargo-fuzz runs on the stable toolchain without a sanitizer (-s none): coverage-guided
# libFuzzer still finds panics, and the dataplane must never panic.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH=$HOME/.cargo/bin:$PATH
secs=${FUZZ_SECONDS:-20}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
cargo fuzz build -s none
for t in $(cargo fuzz list); do
  mkdir -p "corpus/$t"
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  echo "fuzz: $t for ${secs}s"
  cargo fuzz run -s none "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 2>&1 \
    | grep -E 'stat::number_of_executed_units|Done|ERROR|panicked|SUMMARY' || true
  # cargo fuzz exits non-zero and leaves an artifact on a crash
  if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then echo "fuzz: $t crashed"; ls "artifacts/$t"; exit 1; fi
done
