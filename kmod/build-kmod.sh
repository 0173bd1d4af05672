#!/usr/bin/env bash
# Builds kmod/bpf_ctlmap.ko with Kbuild against the unpacked Debian headers of each kernel
# (kmod/fetch-kernels.sh), with module BTF: the headers' vmlinux (6.12 ships one, 6.1's is
# extracted from vmlinuz), pahole, and resolve_btfids from linux-kbuild-6.12 (6.1's kbuild
# lacks it). Output: build/kmod/<kver>/bpf_ctlmap.ko.
#
#   kmod/build-kmod.sh [--build DIR] [SERIES...]      (default: 6.1 6.12)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=build
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$2"; shift 2 ;;
	*) break ;;
	esac
done
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1 6.12)
cd "$root"
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
die() { echo "build-kmod: $*" >&2; exit 1; }
command -v pahole >/dev/null || die "pahole not installed (make deps): no module BTF, no kfuncs"

need=("${series[@]}")
# resolve_btfids ships in linux-kbuild-6.12 only
[[ " ${need[*]} " == *" 6.12 "* ]] || need+=(6.12)
for s in "${need[@]}"; do
	[ -f "$BUILD/kernels/$s/.done" ] || "$here/fetch-kernels.sh" --build "$BUILD" "$s" >/dev/null
done
btfids=$(ls "$BUILD"/kernels/6.12/root/usr/lib/linux-kbuild-*/tools/bpf/resolve_btfids/resolve_btfids 2>/dev/null | head -n1)
[ -x "$btfids" ] || die "resolve_btfids not found in linux-kbuild-6.12"

for s in "${series[@]}"; do
	kver=$(readlink "$BUILD/kernels/$s")
	hdr="$BUILD/kernels/$kver/root/usr/src/linux-headers-$kver"
	out="$BUILD/kmod/$kver"
	[ -s "$hdr/vmlinux" ] || die "$kver: $hdr/vmlinux missing (fetch-kernels.sh extracts it)"
	mkdir -p "$out"
	cp "$here/bpf_ctlmap.c" "$here/Kbuild" "$out/"
	echo "  KMOD     $out/bpf_ctlmap.ko"
	# A .ko without module BTF was seen once, on a busy machine, and not again on the same tree:
	# build once more from clean before failing, and show Kbuild's own words when it still fails.
	for attempt in 1 2; do
		rm -f "$out"/*.ko "$out"/*.o "$out"/*.mod* "$out"/.*.cmd
		if make -s -C "$hdr" M="$out" XDPCTL_INCLUDE="$root/include" RESOLVE_BTFIDS="$btfids" modules \
			>"$out/build.log" 2>&1 && [ -f "$out/bpf_ctlmap.ko" ] &&
			readelf -S "$out/bpf_ctlmap.ko" | grep -q '\.BTF'; then
			break
		fi
		[ $attempt -eq 2 ] || { echo "build-kmod: $kver: no module with BTF, building once more" >&2; continue; }
		cat "$out/build.log" >&2
		[ -f "$out/bpf_ctlmap.ko" ] || die "$kver: build failed"
		die "$kver: bpf_ctlmap.ko has no .BTF section"
	done
	cat "$out/build.log"
done
