#!/usr/bin/env bash
# The convergence ledger of issue 6 (the draft's §3 leaves convergence "for future study"):
# runs the 3-PE lab (tests/topology/core_vxlan_test.sh) RUNS times and prints, per failure
# case, the median and the range of the outage (ms lost at 1000 pps over 64 flows through two
# PEs) and of the event-log intervals. Usage: bench/convergence.sh [RUNS] (default 5).
set -u
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LEDGER=$(mktemp /tmp/tandem-ledger.XXXXXX)
trap 'rm -f "$LEDGER"' EXIT
for i in $(seq "$RUNS"); do
  if LEDGER_OUT=$LEDGER bash "$ROOT/tests/topology/core_vxlan_test.sh" >/tmp/tandem-convergence-run.log 2>&1; then
    echo "run $i/$RUNS done"
  else
    echo "run $i/$RUNS had failures (see /tmp/tandem-convergence-run.log); its numbers are kept"
  fi
done
python3 - "$LEDGER" "$RUNS" <<'PY'
import sys, statistics, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    name, _, value = line.strip().rpartition(" ")
    try:
        rows.setdefault(name, []).append(float(value))
    except ValueError:
        pass
print(f"convergence ledger, {sys.argv[2]} runs (median [min-max])")
for name, v in rows.items():
    print(f"  {name:<80} {statistics.median(v):9.2f}  [{min(v):.2f}-{max(v):.2f}]  n={len(v)}")
PY
