#!/usr/bin/env bash
# Installs every Debian package the project needs. Idempotent: when all are present it only
# checks and returns, so `make` can depend on it without touching the network.
set -euo pipefail

pkgs=(
  # BPF toolchain: CO-RE objects, skeletons, vmlinux.h
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
  # C++ side
  g++ cmake ninja-build googletest libgtest-dev libgmock-dev libbenchmark-dev
  libmnl-dev libcli11-dev libfmt-dev nlohmann-json3-dev libcap-dev libyaml-cpp-dev
  # what tests and the demo drive: ip, ethtool, ping, capabilities, packet captures
  iproute2 ethtool iputils-ping libcap2-bin tcpdump procps
  # make bench: the chart (build/bench/chart.png); unshare (util-linux) isolates the runner's mounts
  gnuplot-nox util-linux
  # the fuzzers (tests/fuzz/): libFuzzer and the sanitizers' runtimes, libpcap for the seed captures
  libclang-rt-14-dev libpcap-dev
  # make deb: Debian's own tools (dpkg-buildpackage is dpkg-dev's) and lintian; the tests render
  # the generated man pages with man and col (bsdextrautils)
  dpkg-dev debhelper lintian man-db bsdextrautils
  # make deb-check: a fresh bookworm root to install the packages into
  debootstrap
  # kernel lane (kmod/): qemu boots Debian's 6.1/6.12 kernels with a busybox initramfs; the
  # module builds with Kbuild (gcc-12 like Debian's kernels) and gets BTF from pahole
  qemu-system-x86 busybox-static cpio xz-utils make gcc-12 pahole binutils
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: need root to install packages (run 'sudo make deps')" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
