#!/usr/bin/env bash
# tern's all-reduce against Gloo and OpenMPI over loopback TCP, in the same
# run (the machine is shared and noisy: only ratios measured together mean
# anything). Builds the tern CLI (unless TERN is given) and the baseline
# drivers in bench/baselines with g++/mpicxx into $BUILD, then for every
# world size and buffer size runs, one after the other:
#   tern (crc32c on every data frame: the default), tern --no-checksums,
#   Gloo AllreduceRingChunked, Gloo AllreduceHalvingDoubling (old-style
#   classes: Debian's new-style gloo::allreduce is pathologically slow),
#   OpenMPI MPI_Allreduce with --mca btl self,tcp on lo.
# Each prints the median time of REPS repetitions of ITERS all-reduces of
# fp32 sums; the table shows busbw = algbw * 2(n-1)/n in GB/s and
# tern / best baseline.
#
#   bench/compare_allreduce.sh                     # 2 and 4 ranks, 1/16/64/256 MiB
#   RANKS=2 SIZES_MIB="1 64" REPS=3 bench/compare_allreduce.sh
#   PRIO="chrt -r 10" bench/compare_allreduce.sh   # as if the machine were quiet
#
# PRIO prefixes every timed run (tern and baselines alike). On a machine
# shared with builds, the ranks otherwise wait for a CPU after every
# wake-up, which punishes busy-polling OpenMPI most; a real-time class
# (root only) measures what each library does on an idle machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
RANKS=${RANKS:-"2 4"}
SIZES_MIB=${SIZES_MIB:-"1 16 64 256"}
REPS=${REPS:-5}
STREAMS=${STREAMS:-2}
export PRIO=${PRIO:-}
OUT=${OUT:-$BUILD/compare_allreduce.jsonl}
PY=/usr/bin/python3

mkdir -p "$BUILD/baselines"
if [[ -z "${TERN:-}" ]]; then
  echo "building tern into $BUILD ..." >&2
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DTERN_BUILD_TORCH=OFF -DTERN_BUILD_TESTS=OFF \
    -DTERN_BUILD_BENCH=OFF >/dev/null
  cmake --build "$BUILD" --target tern_cli -j2 >/dev/null
  TERN="$BUILD/tools/tern/tern"
fi
echo "building baselines ..." >&2
g++ -O2 -std=c++17 "$ROOT/bench/baselines/gloo_allreduce.cc" -o "$BUILD/baselines/gloo_allreduce" \
  -lgloo -lpthread
mpicxx -O2 "$ROOT/bench/baselines/mpi_allreduce.cc" -o "$BUILD/baselines/mpi_allreduce"

iters_for() {  # enough all-reduces for ~256 MiB per repetition, 3..200
  local n=$(( 268435456 / $1 ))
  (( n < 3 )) && n=3
  (( n > 200 )) && n=200
  echo $n
}

run_gloo() {  # ranks bytes algo iters
  local store
  store=$(mktemp -d)
  local pids=()
  for (( r = 0; r < $1; r++ )); do
    $PRIO "$BUILD/baselines/gloo_allreduce" $r $1 $2 $3 "$store" $4 "$REPS" &
    pids+=($!)
  done
  local ok=1
  for p in "${pids[@]}"; do wait $p || ok=0; done
  rm -rf "$store"
  # A baseline that crashes (Gloo throws on a closed pair) is reported, not fatal.
  (( ok )) || echo "gloo $3 failed at $1 ranks, $2 bytes" >&2
}

run_mpi() {  # ranks bytes iters
  $PRIO mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo \
    -np $1 "$BUILD/baselines/mpi_allreduce" $2 $3 "$REPS" 2>/dev/null ||
    echo "mpi failed at $1 ranks, $2 bytes" >&2
}

: > "$OUT"
for n in $RANKS; do
  for mib in $SIZES_MIB; do
    bytes=$(( mib * 1048576 ))
    it=$(iters_for $bytes)
    echo "ranks $n, $mib MiB, $it all-reduces x $REPS ..." >&2
    $PRIO "$TERN" bench allreduce --ranks $n --bytes $bytes --reps "$REPS" --iters $it \
      --streams "$STREAMS" --json | sed 's/^{/{"lib": "tern", /' >> "$OUT"
    $PRIO "$TERN" bench allreduce --ranks $n --bytes $bytes --reps "$REPS" --iters $it \
      --streams "$STREAMS" --no-checksums --json | sed 's/^{/{"lib": "tern_nocrc", /' >> "$OUT"
    run_gloo $n $bytes ring_chunked $it >> "$OUT"
    run_gloo $n $bytes halving_doubling $it >> "$OUT"
    run_mpi $n $bytes $it >> "$OUT"
  done
done

"$PY" - "$OUT" <<'PYEOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    n, b = r["ranks"], r["bytes"]
    busbw = b / r["seconds"] / 1e9 * 2 * (n - 1) / n
    rows.setdefault((n, b), {})[r["lib"]] = (busbw, r["seconds"])
libs = ["tern", "tern_nocrc", "gloo_ring_chunked", "gloo_halving_doubling", "mpi"]
import os
print("busbw in GB/s (median time per all-reduce in ms); ratio = tern / best baseline; "
      "load average %s; PRIO '%s'" % (" ".join(open("/proc/loadavg").read().split()[:3]),
                                       os.environ.get("PRIO", "")))
print("%5s %8s | %16s %16s %16s %16s %16s | %6s %6s" % (
    "ranks", "MiB", "tern", "tern nocrc", "gloo ring_chk", "gloo halv_dbl", "openmpi tcp",
    "ratio", "nocrc"))
for (n, b), v in sorted(rows.items()):
    cells = []
    for lib in libs:
        cells.append("%7.3f (%6.2f)" % (v[lib][0], v[lib][1] * 1e3) if lib in v else "%16s" % "-")
    base = max([v[l][0] for l in libs[2:] if l in v] or [float("nan")])
    ratio = v["tern"][0] / base if "tern" in v else float("nan")
    ratio2 = v["tern_nocrc"][0] / base if "tern_nocrc" in v else float("nan")
    print("%5d %8.0f | %s | %6.2f %6.2f" % (n, b / 1048576, " ".join(cells), ratio, ratio2))
PYEOF
