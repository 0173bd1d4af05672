#!/usr/bin/env bash
# `make deb-check`: the Debian packages on a fresh bookworm, with nothing of the source tree.
#
#   scripts/deb-check.sh [--build DIR]
#
# debootstrap makes a minimal bookworm (cached in DIR/deb-check/bookworm-minbase.tar, one
# download), `apt install` takes the packages `make deb` built (DIR/deb/*.deb) and what they
# depend on from Debian's archive, as a user would, then inside that root:
#
#   xdpctl --version          the version line
#   man xdpctl, xdpctl-load   rendered from the installed man pages
#   completion                `xdpctl lo<TAB>` gives load, `xdpctl load <TAB>` the program names
#   xdpctl load --list        the installed collection
#   load / status / unload    xdp_pass on a veth in a network namespace, through the installed
#                             binary, library and BPF objects, and nothing left attached
#
# One line per check (ok / FAIL), then "deb-check: N passed, N failed"; exit 1 on any failure.
# The root's mounts live in a private mount namespace and vanish with it; the network namespace
# is removed on exit. Needs root and Debian's archive (deb.debian.org or DEBIAN_MIRROR).
set -euo pipefail

BUILD=build
if [ "${1:-}" = "--build" ]; then
	BUILD=$2
	shift 2
fi
[ $# -eq 0 ] || { echo "deb-check: unknown argument $1 (usage: scripts/deb-check.sh [--build DIR])" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
debs=("$BUILD"/deb/*.deb)
[ -e "${debs[0]}" ] || { echo "deb-check: no packages in $BUILD/deb (run make deb)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "deb-check: debootstrap is missing (make deps)" >&2; exit 1; }

work=$BUILD/deb-check
cache=$work/bookworm-minbase.tar
root=$work/root
mkdir -p "$work"
if [ ! -s "$cache" ]; then
	echo "deb-check: debootstrap bookworm (minbase) from $mirror, once: $cache"
	rm -rf "$work/boot"
	debootstrap --variant=minbase bookworm "$work/boot" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ echo "deb-check: debootstrap failed, see $work/debootstrap.log" >&2; exit 1; }
	tar -C "$work/boot" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
	rm -rf "$work/boot"
fi
rm -rf "$root" && mkdir -p "$root"
tar -C "$root" -xf "$cache"
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
cp /etc/resolv.conf "$root/etc/resolv.conf"

ns=xdpctl-debcheck-$$
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add v0 type veth peer name v1
ip -n "$ns" link set v0 up
ip -n "$ns" link set v1 up

# Everything below runs in a private mount namespace: /proc, /sys, /dev and the bpffs mounted
# into the root go when it ends.
unshare --mount --propagation private bash -s "$root" "$ns" <<'EOF'
set -uo pipefail
root=$1 ns=$2
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t bpf bpf "$root/sys/fs/bpf"
mount --rbind /dev "$root/dev"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

pass=0 fail=0
check() { # check NAME COMMAND...: ok when the command succeeds
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "deb-check: ok    $name"
		pass=$((pass + 1))
	else
		echo "deb-check: FAIL  $name"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

echo "deb-check: apt install $(cd "$root/tmp/debs" && echo *.deb) man-db bash-completion"
if ! in_root bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb man-db bash-completion iproute2' >/tmp/deb-check-apt.log 2>&1; then
	tail -n 20 /tmp/deb-check-apt.log
	echo "deb-check: FAIL  apt install"
	echo "deb-check: 0 passed, 1 failed"
	exit 1
fi
echo "deb-check: ok    apt install (dependencies from Debian's archive)"
pass=$((pass + 1))

x() { chroot "$root" /usr/sbin/xdpctl "$@"; }
man_page() { chroot "$root" env MANPAGER=cat MANWIDTH=80 man "$1" 2>/dev/null | grep -q -- "$2"; }
complete_words() { # the words completion offers for the line "$1" (cursor at the end)
	chroot "$root" bash -c '
		source /usr/share/bash-completion/bash_completion
		source /usr/share/bash-completion/completions/xdpctl
		COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
		read -ra COMP_WORDS <<<"$COMP_LINE"
		[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_xdpctl xdpctl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]:-}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$1"
}
completes() { complete_words "$1" | grep -qx -- "$2"; }
no_source_tree() { ! ls -d "$root/work" "$root/usr/src/xdpctl" 2>/dev/null | grep -q .; }
version_line() { x --version | grep -qE '^xdpctl [0-9]+\.[0-9]+\.[0-9]+'; }
lists() { x load --list | grep -qw "$1"; }
run_ns() { nsenter --net="/run/netns/$ns" chroot "$root" /usr/sbin/xdpctl "$@"; }
status_has() { run_ns status -j | grep -q "\"prog\": \"$1"; }
kernel_has_xdp() { ip -n "$ns" -d link show v0 | grep -q 'prog/xdp'; }
no_link_pins() { [ -z "$(find "$root/sys/fs/bpf" -name link 2>/dev/null)" ]; }

check "no source tree in the root" no_source_tree
check "xdpctl --version" version_line
check "man xdpctl" man_page xdpctl 'xdpctl-load(8)'
check "man xdpctl-load" man_page xdpctl-load '--replace'
check "completion: xdpctl lo<TAB> gives load" completes 'xdpctl lo' load
check "completion: xdpctl load <TAB> gives xdp_pass" completes 'xdpctl load ' xdp_pass
check "xdpctl load --list" lists xdp_redirect

check "xdpctl load xdp_pass v0 (in a network namespace)" run_ns load xdp_pass v0
check "xdpctl status -j shows it" status_has xdp_pass
check "the kernel runs it on v0" kernel_has_xdp
check "xdpctl unload v0" run_ns unload v0
check "nothing attached to v0 after unload" eval '! kernel_has_xdp'
check "no link pinned after unload" no_link_pins

echo "deb-check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
EOF
