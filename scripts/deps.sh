#!/usr/bin/env bash
# Installs the Debian 12 packages tern needs to build, test and run, skipping
# the ones already present (so a second run downloads nothing). Needs root.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries (DESIGN.md, "Dependencies")
  libzstd-dev libxxhash-dev zlib1g-dev libcli11-dev nlohmann-json3-dev
  libssl-dev libprotobuf-dev protobuf-compiler libhwy-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  iproute2 procps
  # the trainer: libtorch on OpenBLAS (the reference BLAS is 10x slower), real data
  libtorch-dev libopenblas0-openmp dataset-fashion-mnist
  # plots and Python
  gnuplot-nox python3 python3-numpy python3-matplotlib python3-pytest pybind11-dev
  # baselines measured in the same run
  libgloo-dev libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "tern: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "tern: run as root (or with sudo) to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
