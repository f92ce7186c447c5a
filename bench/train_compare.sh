#!/usr/bin/env bash
# The benchmark of `tern train` (docs/train.md, "Benchmark"): the default
# CNN on Fashion-MNIST, 4 local workers, equal samples processed, DDP vs
# DiLoCo (H = 50, int8) vs Streaming DiLoCo (H = 100, fp4), once on
# loopback and once with every pair of workers behind an emulated
# 100 Mbit/s, 20 ms link. Prints each summary table and the targets:
#   DiLoCo            accuracy within 1.0 point of DDP, >= 100x fewer bytes
#   Streaming DiLoCo  accuracy within 1.5 points of DDP, >= 300x fewer bytes
#   emulated link     DiLoCo wall time >= 5x shorter than DDP's
# Reports (CSV, Markdown, JSON, PNG plots) go to $OUT/{lan,wan}.
#
#   bench/train_compare.sh                  # about 10 minutes on 2 cores
#   STEPS=300 OUT=/tmp/tc bench/train_compare.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TERN=${TERN:-$ROOT/build/tools/tern/tern}
OUT=${OUT:-$ROOT/reports/train_compare}
STEPS=${STEPS:-1000}
RATE_MBIT=${RATE_MBIT:-100}
DELAY_MS=${DELAY_MS:-20}
STRATEGIES=ddp,diloco,streaming-diloco
[[ -x "$TERN" ]] || { echo "train_compare.sh: build tern first (scripts/build.sh), or set TERN" >&2; exit 2; }
mkdir -p "$OUT"

"$TERN" train --compare $STRATEGIES --steps "$STEPS" --report-dir "$OUT/lan" --json "$OUT/lan.json"
"$TERN" train --compare $STRATEGIES --steps "$STEPS" --report-dir "$OUT/wan" --json "$OUT/wan.json" \
  --link-rate-mbit "$RATE_MBIT" --link-delay-ms "$DELAY_MS"

/usr/bin/python3 - "$OUT/lan.json" "$OUT/wan.json" "$RATE_MBIT" "$DELAY_MS" <<'PY'
import json, sys
lan = {r["strategy"]: r for r in json.load(open(sys.argv[1]))["runs"]}
wan = {r["strategy"]: r for r in json.load(open(sys.argv[2]))["runs"]}
rate, delay = sys.argv[3], sys.argv[4]
ok = True
def check(name, good, text):
    global ok
    ok = ok and good
    print("%-4s %s" % ("PASS" if good else "MISS", text))
print("\ntargets (loopback run; accuracy on the 10k test images):")
for s, pts, ratio in (("diloco", 1.0, 100), ("streaming-diloco", 1.5, 300)):
    d = 100 * (lan["ddp"]["test_accuracy"] - lan[s]["test_accuracy"])
    r = lan["ddp"]["bytes_per_worker"] / max(1, lan[s]["bytes_per_worker"])
    check(s, d <= pts, "%s accuracy %.4f vs ddp %.4f: %+.2f points (target >= -%.1f)"
          % (s, lan[s]["test_accuracy"], lan["ddp"]["test_accuracy"], -d, pts))
    check(s, r >= ratio, "%s sends %.0fx fewer bytes than ddp (target >= %dx)" % (s, r, ratio))
w = wan["ddp"]["wall_seconds"] / wan["diloco"]["wall_seconds"]
check("wan", w >= 5, "emulated %s Mbit/s, %s ms: ddp %.1f s, diloco %.1f s: %.1fx shorter (target >= 5x)"
      % (rate, delay, wan["ddp"]["wall_seconds"], wan["diloco"]["wall_seconds"], w))
sys.exit(0 if ok else 1)
PY
