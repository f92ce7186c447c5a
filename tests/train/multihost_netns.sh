#!/usr/bin/env bash
# Multi-host `tern train`, for real: three "hosts" (network namespaces on a
# bridge, joined by veth pairs). Host 0 runs `tern master`; hosts 1 and 2
# each run one worker, started as a torchrun-style launcher would (RANK,
# WORLD_SIZE in the environment). These are the README's multi-host
# commands. Checks: both workers exit 0, the run learns (accuracy > 0.5),
# the summary JSON parses and the replicated state ended bit-identical.
#
# Needs root (namespaces). Exit 77 (skipped) otherwise. Everything is
# created under names unique to this run and deleted on exit, also on
# failure or Ctrl-C; no other interface is touched, no traffic leaves the
# namespaces.
#
#   sudo tests/train/multihost_netns.sh build/tools/tern/tern
set -euo pipefail

TERN=$(realpath "${1:?usage: multihost_netns.sh PATH/TO/tern}")
[[ $(id -u) == 0 ]] || { echo "multihost_netns.sh: needs root; skipped" >&2; exit 77; }
command -v ip >/dev/null || { echo "multihost_netns.sh: needs iproute2; skipped" >&2; exit 77; }
[[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] ||
  { echo "multihost_netns.sh: Fashion-MNIST missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; }

P=tmh$$          # namespace prefix, unique per run
NET=10.78.0      # host i is $NET.(i+1), private to the namespaces
DIR=$(mktemp -d)
BG=()

cleanup() {
  for pid in "${BG[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for i in 0 1 2; do ip netns del ${P}h$i 2>/dev/null || true; done
  ip netns del ${P}sw 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

ip netns add ${P}sw
ip -n ${P}sw link add br0 type bridge
ip -n ${P}sw link set br0 up
for i in 0 1 2; do
  ip netns add ${P}h$i
  ip -n ${P}sw link add vh$i type veth peer name eth0 netns ${P}h$i
  ip -n ${P}sw link set vh$i master br0
  ip -n ${P}sw link set vh$i up
  ip -n ${P}h$i link set lo up
  ip -n ${P}h$i addr add $NET.$((i + 1))/24 dev eth0
  ip -n ${P}h$i link set eth0 up
done

# The run secret: any file of >= 16 bytes, the same on every host.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/secret"
chmod 600 "$DIR/secret"

# Host 0: the master.
ip netns exec ${P}h0 "$TERN" master --listen $NET.1:48150 --secret-file "$DIR/secret" \
  --min-peers 2 > "$DIR/master.log" 2>&1 &
BG+=($!)

# Hosts 1 and 2: one worker each (what ssh / srun / torchrun would start).
TRAIN=(train --master $NET.1:48150 --secret-file "$DIR/secret" --model mlp --steps 300
       --batch 32 --inner-steps 50 --eval-every 100 --eval-samples 1000
       --final-eval-samples 2000 --max-train 12000)
for r in 0 1; do
  ip netns exec ${P}h$((r + 1)) env RANK=$r WORLD_SIZE=2 "$TERN" "${TRAIN[@]}" \
    --json "$DIR/summary$r.json" > "$DIR/worker$r.log" 2>&1 &
  BG+=($!)
done

status=0
for r in 0 1; do
  if ! wait "${BG[$((r + 1))]}"; then
    echo "worker $r failed:" >&2
    cat "$DIR/worker$r.log" >&2
    status=1
  fi
done
[[ $status == 0 ]] || { echo "master log:" >&2; cat "$DIR/master.log" >&2; exit 1; }

# Rank 0 of the world (either worker) printed the summary and wrote the JSON.
summary=$(ls "$DIR"/summary*.json 2>/dev/null | head -1)
[[ -n "$summary" ]] || { echo "no summary JSON written" >&2; cat "$DIR"/worker*.log >&2; exit 1; }
cat "$DIR"/worker*.log
grep -q "replicated state bit-identical on 2 workers" "$DIR"/worker*.log ||
  { echo "replicated state not reported identical" >&2; exit 1; }
/usr/bin/python3 - "$summary" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 1 and runs[0]["strategy"] == "diloco", runs
assert 0.5 < runs[0]["test_accuracy"] <= 1.0, runs
assert runs[0]["bytes_per_worker"] > 0, runs
print("multihost_netns: ok, test accuracy %.4f, %d bytes per worker"
      % (runs[0]["test_accuracy"], runs[0]["bytes_per_worker"]))
PY
