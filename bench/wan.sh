#!/usr/bin/env bash
# WAN rehearsal for tern's all-reduce: 4 "hosts" (network namespaces) on a
# bridge, each joined by a veth pair whose both directions are shaped by tc
# tbf to RATE_MBIT (the host's access link). Two setups:
#   A. tbf only (RATE_MBIT, sub-millisecond RTT);
#   B. tbf plus `tern linkem` in front of every host's listener, adding
#      DELAY_MS of one-way delay to each direction of every connection
#      (this kernel has no netem; linkem cannot emulate loss).
# In each: fp32 ring all-reduce (link utilization = busbw * 8 / rate, the
# share of the access link the algorithm keeps busy), then compressed
# all-reduce with every codec in CODECS; prints the time of each and the
# speed-up over fp32.
#
# Needs root (namespaces, tc). Everything is created under unique names and
# deleted on exit, also on failure or Ctrl-C. No traffic leaves the
# namespaces.
#
#   sudo bench/wan.sh                       # 256 MiB, 200 Mbit/s, 20 ms
#   BYTES=67108864 REPS=1 sudo bench/wan.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
RATE_MBIT=${RATE_MBIT:-200}
DELAY_MS=${DELAY_MS:-20}
BYTES=${BYTES:-268435456}
REPS=${REPS:-2}
CODECS=${CODECS:-"int8:block=256 fp4"}
SETUPS=${SETUPS:-"A B"}
N=4
NET=10.77.0                # host i is $NET.(i+1), private to the namespaces
RANK_PORT=29500            # rank listeners (inside each namespace)
PROXY_PORT=29600           # linkem listeners in setup B
P=tw$$                     # namespace prefix, unique per run
PY=/usr/bin/python3

[[ $(id -u) == 0 ]] || { echo "wan.sh: needs root (network namespaces, tc)" >&2; exit 2; }
if [[ -z "${TERN:-}" ]]; then
  echo "building tern into $BUILD ..." >&2
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DTERN_BUILD_TORCH=OFF -DTERN_BUILD_TESTS=OFF \
    -DTERN_BUILD_BENCH=OFF >/dev/null
  cmake --build "$BUILD" --target tern_cli -j2 >/dev/null
  TERN="$BUILD/tools/tern/tern"
fi
OUTDIR=$(mktemp -d)
BG=()

cleanup() {
  for pid in "${BG[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for (( i = 0; i < N; i++ )); do ip netns del ${P}h$i 2>/dev/null || true; done
  ip netns del ${P}sw 2>/dev/null || true
  rm -rf "$OUTDIR"
}
trap cleanup EXIT INT TERM

shape() {  # namespace device: both directions get a tbf each (caller does the peer side)
  ip netns exec "$1" tc qdisc add dev "$2" root tbf rate ${RATE_MBIT}mbit burst 256kb latency 100ms
}

setup_network() {
  ip netns add ${P}sw
  ip -n ${P}sw link add br0 type bridge
  ip -n ${P}sw link set br0 up
  for (( i = 0; i < N; i++ )); do
    ip netns add ${P}h$i
    ip -n ${P}sw link add vh$i type veth peer name eth0 netns ${P}h$i
    ip -n ${P}sw link set vh$i master br0
    ip -n ${P}sw link set vh$i up
    ip -n ${P}h$i link set lo up
    ip -n ${P}h$i addr add $NET.$((i + 1))/24 dev eth0
    ip -n ${P}h$i link set eth0 up
    shape ${P}h$i eth0   # host -> switch
    shape ${P}sw vh$i    # switch -> host
  done
}

# run_ranks LABEL [bench flags...]: one rank per namespace; rank 0's JSON.
run_ranks() {
  local label=$1 peers=$2
  shift 2
  local pids=()
  for (( i = 0; i < N; i++ )); do
    local listen=()
    [[ "$label" == B* ]] && listen=(--listen 127.0.0.1:$RANK_PORT)
    ip netns exec ${P}h$i "$TERN" bench allreduce --rank $i --peers "$peers" "${listen[@]}" \
      --bytes "$BYTES" --reps "$REPS" --iters 1 --warmup 0 --timeout 1800 --json "$@" \
      > "$OUTDIR/rank$i.json" 2> "$OUTDIR/rank$i.err" &
    pids+=($!)
  done
  local ok=1
  for p in "${pids[@]}"; do wait $p || ok=0; done
  if (( ok == 0 )); then cat "$OUTDIR"/rank*.err >&2; return 1; fi
  sed "s/^{/{\"setup\": \"$label\", /" "$OUTDIR/rank0.json"
}

setup_network
RESULTS="$OUTDIR/results.jsonl"
: > "$RESULTS"
for setup in $SETUPS; do
  if [[ "$setup" == A ]]; then
    peers=$(for (( i = 0; i < N; i++ )); do printf "%s%s" "${i:+,}" "$NET.$((i + 1)):$RANK_PORT"; done | sed 's/^,//')
  else
    for (( i = 0; i < N; i++ )); do
      ip netns exec ${P}h$i "$TERN" linkem --listen $NET.$((i + 1)):$PROXY_PORT \
        --to 127.0.0.1:$RANK_PORT --delay-ms "$DELAY_MS" 2>/dev/null &
      BG+=($!)
    done
    sleep 0.5
    peers=$(for (( i = 0; i < N; i++ )); do printf ",%s" "$NET.$((i + 1)):$PROXY_PORT"; done | sed 's/^,//')
  fi
  echo "setup $setup: fp32 ring, $BYTES bytes ..." >&2
  run_ranks "$setup" "$peers" --algorithm ring >> "$RESULTS"
  for codec in $CODECS; do
    echo "setup $setup: codec $codec ..." >&2
    run_ranks "$setup" "$peers" --codec "$codec" >> "$RESULTS"
  done
  if [[ "$setup" == B ]]; then
    for pid in "${BG[@]}"; do kill "$pid" 2>/dev/null || true; done
    BG=()
  fi
done

"$PY" - "$RESULTS" "$RATE_MBIT" "$DELAY_MS" <<'PYEOF'
import json, sys
rate = float(sys.argv[2]) * 1e6
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("4 hosts, access links shaped to %s Mbit/s each way (tbf); setup B adds %s ms one-way (linkem)"
      % (sys.argv[2], sys.argv[3]))
print("%-5s %-16s %10s %10s %12s %9s" % ("setup", "codec", "seconds", "busbw GB/s", "link util", "speed-up"))
fp32 = {}
for r in rows:
    if r["codec"] == "none":
        fp32[r["setup"]] = r["seconds"]
for r in rows:
    util = r["busbw_gbps"] * 8e9 / rate
    speed = fp32.get(r["setup"], float("nan")) / r["seconds"]
    util_s = "%11.1f%%" % (100 * util) if r["codec"] == "none" else "%12s" % "-"
    print("%-5s %-16s %10.3f %10.4f %s %8.2fx" % (r["setup"], r["codec"], r["seconds"],
                                                 r["busbw_gbps"], util_s, speed))
PYEOF
