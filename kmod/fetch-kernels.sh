#!/usr/bin/env bash
# Fetches Debian's kernels for the qemu lane without installing them: `apt-get download` +
# `dpkg -x` into build/kernels/<kver>/root, so this machine's /boot and /lib/modules are never
# touched. For each kernel series given (default: 6.1 6.12) it unpacks the image (vmlinuz +
# modules), the headers (arch + common) and the matching kbuild (the 6.12 one also brings
# resolve_btfids), and leaves build/kernels/<series> -> <kver>.
#
#   kmod/fetch-kernels.sh [--build DIR] [SERIES...]     prints "SERIES KVER" per kernel
#
# 6.1 is bookworm's own kernel (whatever linux-image-amd64 depends on); 6.12 is the newest
# linux-image-6.12.*+deb12-amd64 that bookworm-security carries. Versions are resolved at run
# time because the security archive only keeps recent builds.
set -euo pipefail

BUILD=build
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$2"; shift 2 ;;
	*) break ;;
	esac
done
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1 6.12)

die() { echo "fetch-kernels: $*" >&2; exit 1; }
command -v apt-get >/dev/null || die "apt-get not found (Debian only)"
command -v dpkg >/dev/null || die "dpkg not found"

# Resolves SERIES to "KVER IMAGEPKG HEADERPKGS..." using the local apt lists only.
resolve() {
	local s="$1" kver img abi
	case "$s" in
	6.1)
		img=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1)
		[ -n "$img" ] || return 1
		kver=${img#linux-image-}
		abi=${kver%-amd64}
		echo "$kver $img linux-headers-$kver linux-headers-$abi-common linux-kbuild-6.1"
		;;
	*)
		# newest X.Y.Z+deb12 that has an image and headers
		kver=$(apt-cache search --names-only "^linux-headers-${s//./\\.}\\.[0-9]+\\+deb12-amd64\$" 2>/dev/null |
			awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -n1)
		[ -n "$kver" ] || return 1
		abi=${kver%-amd64}
		img=linux-image-$kver-unsigned
		apt-cache show "$img" >/dev/null 2>&1 || img=linux-image-$kver
		echo "$kver $img linux-headers-$kver linux-headers-$abi-common linux-kbuild-$abi"
		;;
	esac
}

# apt lists may be missing on a fresh machine (docker images ship none)
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
	apt-get update -qq || die "apt-get update failed"
fi

# The headers package's Makefile includes the common one by its absolute /usr/src path: point it
# at the unpacked tree. Kernels whose headers lack vmlinux (6.1) get it extracted from vmlinuz
# (xz) for module BTF; its .BTF section survives compression.
fixup() {
	local kver="$1" dir="$2" hdr off
	dir=$(cd "$dir" && pwd)
	hdr="$dir/root/usr/src/linux-headers-$kver"
	# the path may be Debian's /usr/src or a previous unpack location (a cached tree)
	sed -i "s|^include .*/usr/src/\(linux-headers-[^/]*-common/Makefile\)|include $dir/root/usr/src/\1|" "$hdr/Makefile"
	if [ ! -s "$hdr/vmlinux" ]; then
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$dir/root/boot/vmlinuz-$kver" | head -n1 | cut -d: -f1)
		[ -n "$off" ] || die "$kver: no xz stream in vmlinuz (only xz-compressed images are handled)"
		tail -c +$((off + 1)) "$dir/root/boot/vmlinuz-$kver" | xz -dc 2>/dev/null >"$hdr/vmlinux.tmp" || true
		head -c 4 "$hdr/vmlinux.tmp" | grep -q 'ELF' || die "$kver: vmlinux extraction failed"
		mv "$hdr/vmlinux.tmp" "$hdr/vmlinux"
	fi
}

# Unpacked kernels are also kept in a machine-wide cache, so a fresh clone on a machine that
# already fetched them neither downloads ~700 MB again nor depends on the archive being reachable.
CACHE="${XDPCTL_KERNEL_CACHE:-/var/cache/xdpctl/kernels}"

mkdir -p "$BUILD/kernels"
for s in "${series[@]}"; do
	read -r kver img pkgs <<<"$(resolve "$s" || true)"
	[ -n "${kver:-}" ] || die "no Debian kernel package found for series $s (apt-cache search linux-image-$s)"
	dir="$BUILD/kernels/$kver"
	if [ -f "$dir/.done" ]; then
		fixup "$kver" "$dir"
		ln -sfn "$kver" "$BUILD/kernels/$s"
		echo "$s $kver"
		continue
	fi
	rm -rf "$dir"
	if [ -f "$CACHE/$kver/.done" ]; then
		mkdir -p "$dir"
		cp -al "$CACHE/$kver/root" "$dir/root" 2>/dev/null || cp -a "$CACHE/$kver/root" "$dir/root"
		fixup "$kver" "$dir"
		touch "$dir/.done"
		ln -sfn "$kver" "$BUILD/kernels/$s"
		echo "$s $kver (cached)"
		continue
	fi
	mkdir -p "$dir/debs" "$dir/root"
	# shellcheck disable=SC2086
	(cd "$dir/debs" && apt-get download -qq "$img" $pkgs 2>&1 | grep -v 'W: Download is performed unsandboxed' >&2 || true)
	for p in "$img" $pkgs; do
		ls "$dir/debs/${p}_"*.deb >/dev/null 2>&1 || die "apt-get download $p failed"
	done
	for deb in "$dir"/debs/*.deb; do
		dpkg -x "$deb" "$dir/root"
	done
	rm -rf "$dir/debs"
	[ -f "$dir/root/boot/vmlinuz-$kver" ] || die "$img has no /boot/vmlinuz-$kver"
	[ -d "$dir/root/usr/src/linux-headers-$kver" ] || die "no headers for $kver"
	fixup "$kver" "$dir"
	touch "$dir/.done"
	if mkdir -p "$CACHE/$kver.tmp" 2>/dev/null; then
		rm -rf "$CACHE/$kver.tmp/root"
		cp -a "$dir/root" "$CACHE/$kver.tmp/root" && touch "$CACHE/$kver.tmp/.done" &&
			rm -rf "$CACHE/$kver" && mv "$CACHE/$kver.tmp" "$CACHE/$kver"
	fi
	ln -sfn "$kver" "$BUILD/kernels/$s"
	echo "$s $kver"
done
