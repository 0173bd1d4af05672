#!/usr/bin/env bash
# ctest install_tree: what `make install` gives a user, used the way a user uses it, with nothing
# of the source or build tree in reach.
#  - cmake --install into a private DESTDIR (prefix /usr/local): the files (man pages rendered by
#    man, the completion sourced by bash), the library's SONAME,
#    no internal header, no text file naming the source or build tree; every installed header
#    compiles alone; cmake/uninstall.cmake (make uninstall) then leaves no file behind.
#  - examples/daemon/xdpd built with g++ and `pkg-config libxdpctl` alone, run in a private
#    network namespace pair with a private bpffs: load xdp_pass, status, counters of real pings,
#    unload on SIGTERM, nothing left pinned or attached.
#  - examples/ built with CMake against find_package(xdpctl): the daemon again, and udp_guard, an
#    XDP program of the user's own compiled against the installed BPF headers, whose unit test
#    (BPF_PROG_TEST_RUN, installed libxdpctl_testing) runs; the installed xdpctl loads its object,
#    status names it, the daemon counts its drops of real UDP, unload leaves nothing.
#
#   install_tree.sh CMAKE_BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/xdpctl-install-XXXXXX)
dest=$tmp/dest
P=$dest/usr/local
nsa=xdpctl-inst-a-$$
nsb=xdpctl-inst-b-$$
mnt=$tmp/bpffs
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	mountpoint -q "$mnt" && umount "$mnt"
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
check() { # check WHAT CONDITION-COMMAND...
	local what="$1"
	shift
	if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
has() { grep -qE -- "$2" "$1"; }
hasnt() { ! grep -qE -- "$2" "$1"; }
fatal() { echo "FAIL $*"; exit 1; }

# --- the installed tree ------------------------------------------------------------------------
DESTDIR=$dest cmake --install "$build" --prefix /usr/local >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fatal "cmake --install"; }
cp "$build/install_manifest.txt" "$tmp/manifest"
nfiles=$(grep -c "" "$tmp/manifest")
check "the manifest lists every installed file ($nfiles)" test "$nfiles" -eq "$(find "$dest" -type f -o -type l | wc -l)"

check "xdpctl in sbin, runs" bash -c "\"$P/sbin/xdpctl\" --version >/dev/null"
for f in lib/libxdpctl.a lib/libxdpctl_testing.a lib/pkgconfig/libxdpctl.pc \
	lib/cmake/xdpctl/xdpctlConfig.cmake lib/cmake/xdpctl/xdpctlConfigVersion.cmake lib/cmake/xdpctl/xdpctlTargets.cmake \
	include/xdpctl/loader.hpp include/xdpctl/status.hpp include/xdpctl/version.hpp include/xdpctl/stats.h \
	include/xdpctl/bpf/stats.h include/xdpctl/bpf/parse.h include/xdpctl/bpf/common.h \
	include/xdpctl/testing/packet.hpp include/xdpctl/testing/prog_run.hpp; do
	check "installed $f" test -f "$P/$f"
done
for src in "$root"/bpf/*.bpf.c; do
	n=$(basename "$src" .bpf.c)
	check "BPF object of the collection: $n" test -f "$P/lib/xdpctl/bpf/$n.bpf.o"
done
check "only the collection's objects (no test programs)" \
	test "$(ls "$P/lib/xdpctl/bpf" | wc -l)" -eq "$(ls "$root"/bpf/*.bpf.c | wc -l)"
verbs=$("$P/sbin/xdpctl" --help | sed -n '/^Subcommands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
check "man pages: xdpctl(8) and one per verb" test "$(ls "$P/share/man/man8" | sort | tr '\n' ' ')" = \
	"$( (echo xdpctl.8; for v in $verbs; do echo "xdpctl-$v.8"; done) | sort | tr '\n' ' ')"
for page in "$P"/share/man/man8/*.8; do
	MANWIDTH=100 man --warnings -l "$page" >"$tmp/man.out" 2>"$tmp/man.err"
	check "man -l $(basename "$page") renders, no warning" test $? -eq 0 -a -s "$tmp/man.out" -a ! -s "$tmp/man.err" ||
		cat "$tmp/man.err"
done
check "bash completion installed, completes verbs" has <(bash -c "source '$P/share/bash-completion/completions/xdpctl';
	COMP_WORDS=(xdpctl unl); COMP_CWORD=1; _xdpctl; echo \"\${COMPREPLY[*]}\"") '^unload$'
soname=$(readelf -d "$P/lib/libxdpctl.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
version=$("$P/sbin/xdpctl" --version | sed -n '1s/^xdpctl \([^ ]*\) .*/\1/p')
check "SONAME libxdpctl.so.MAJOR.MINOR ($soname, version $version)" test "$soname" = "libxdpctl.so.${version%.*}"
check "libxdpctl.so -> SONAME -> real file" test "$(readlink "$P/lib/libxdpctl.so")" = "$soname" -a \
	"$(readlink "$P/lib/$soname")" = "libxdpctl.so.$version"
check "no internal header installed (netlink plumbing, the demo)" \
	test ! -e "$P/include/xdpctl/nl.hpp" -a ! -e "$P/include/xdpctl/demo.hpp"
check "no skeleton installed" test -z "$(find "$dest" -name '*.skel.h')"
grep -rIl -e "$root" -e "$build" "$dest" >"$tmp/naming" || true
check "no installed text file names the source or build tree" test ! -s "$tmp/naming"

# Every header alone, with the install's include root and its dependencies' flags only.
deps_cflags=$(pkg-config --cflags libbpf nlohmann_json)
for h in $(cd "$P/include" && find xdpctl -name '*.hpp' | sort); do
	echo "#include <$h>" | g++ -std=c++23 -fsyntax-only -Wall -Werror -I"$P/include" $deps_cflags -x c++ - 2>"$tmp/hdr.err"
	check "$h compiles alone" test $? -eq 0 -a ! -s "$tmp/hdr.err" || cat "$tmp/hdr.err"
done

# --- a program built with pkg-config alone -----------------------------------------------------
export PKG_CONFIG_PATH=$P/lib/pkgconfig
pc_cflags=$(pkg-config --cflags libxdpctl)
pc_libs=$(pkg-config --libs libxdpctl)
check "pkg-config --modversion is the version" test "$(pkg-config --modversion libxdpctl)" = "$version"
check "pkg-config includedir is the install's" test "$(realpath "$(pkg-config --variable=includedir libxdpctl)")" = "$P/include"
check "pkg-config libdir is the install's" test "$(realpath "$(pkg-config --variable=libdir libxdpctl)")" = "$P/lib"
check "pkg-config names neither tree (${pc_cflags} ${pc_libs})" bash -c "[[ '$pc_cflags $pc_libs' != *'$root'* ]]"
check "pkg-config bpfobjdir: the installed objects" test -f "$(pkg-config --variable=bpfobjdir libxdpctl)/xdp_pass.bpf.o"
mkdir -p "$tmp/pc"
cp "$root/examples/daemon/xdpd.cpp" "$tmp/pc/"
(cd "$tmp/pc" && g++ -std=c++23 -MD -MF xdpd.d xdpd.cpp -o xdpd $pc_cflags $pc_libs -Wl,-rpath,"$P/lib") \
	>"$tmp/pc.log" 2>&1 || { cat "$tmp/pc.log"; fatal "g++ with pkg-config libxdpctl"; }
check "the pkg-config build read no header of the source tree" hasnt "$tmp/pc/xdpd.d" "$root/"
check "the daemon runs on the installed libxdpctl.so" has <(ldd "$tmp/pc/xdpd") "$soname => $P/lib/$soname"

# --- two namespaces, a veth between them, a private bpffs ----------------------------------------
ip netns add "$nsa" && ip netns add "$nsb" || fatal "network namespaces"
ip -n "$nsa" link add xi0 type veth peer name xi1 netns "$nsb" || fatal "veth pair"
ip -n "$nsa" addr add 10.77.0.1/24 dev xi0 && ip -n "$nsb" addr add 10.77.0.2/24 dev xi1
ip -n "$nsa" link set xi0 up && ip -n "$nsb" link set xi1 up
mkdir -p "$mnt" && mount -t bpf bpf "$mnt" || fatal "private bpffs"
export XDPCTL_BPFFS=$mnt/xdpctl
ina() { nsenter --net=/run/netns/"$nsa" "$@"; }
inb() { nsenter --net=/run/netns/"$nsb" "$@"; }
# no pin, and xi0 (still there) without an XDP program; ip may also say "Peer netns reference is
# invalid" about the peer's namespace, which is not the question
nothing_left() {
	local link
	link=$(ip -n "$nsa" -o link show xi0 2>&1)
	test -z "$(find "$XDPCTL_BPFFS" -mindepth 1 2>/dev/null)" && [[ $link == *" xi0@"* && $link != *prog/xdp* ]]
}

# run_daemon NAME BINARY PROGRAM: starts BINARY -i 100 PROGRAM xi0 in nsa, waits for "ready"
run_daemon() {
	# nsenter execs the daemon: $! is the daemon, and SIGTERM reaches it
	nsenter --net=/run/netns/"$nsa" "$2" -i 100 "$3" xi0 >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pids+=($!)
	daemon_pid=$!
	for _ in $(seq 100); do grep -q '^ready$' "$tmp/$1.out" && return 0; kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
	cat "$tmp/$1.out" "$tmp/$1.err"
	return 1
}
# stop_daemon NAME: SIGTERM, its exit code must be 0
stop_daemon() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	check "$1: exits 0 on SIGTERM" test $? -eq 0
	check "$1: nothing on stderr" test ! -s "$tmp/$1.err" || cat "$tmp/$1.err"
}
# the last count the daemon printed for ACTION on xi0
last_count() { grep "^counters xi0 $2 " "$tmp/$1.out" | tail -1 | awk '{print $5}'; }

run_daemon xdpd-pc "$tmp/pc/xdpd" xdp_pass || fatal "xdpd (pkg-config build) did not get ready"
check "xdpd-pc: loaded xdp_pass on xi0" has "$tmp/xdpd-pc.out" '^loaded xdp_pass on xi0 prog_id [1-9][0-9]* link_id [1-9]'
check "xdpd-pc: its status names the kernel's program, native, owned" has "$tmp/xdpd-pc.out" '^status xi0 xdp_pass_prog native owned$'
ina "$P/sbin/xdpctl" status -j >"$tmp/status.json"
check "installed xdpctl status sees the daemon's program" has "$tmp/status.json" '"prog": ?"xdp_pass_prog"'
inb ping -c 4 -i 0.2 -W 1 10.77.0.1 >"$tmp/ping.log" 2>&1
check "pings answered through xdp_pass" has "$tmp/ping.log" '4 received'
sleep 0.3
n=$(last_count xdpd-pc PASS)
check "xdpd-pc: counted the pings as PASS (${n:-none} >= 4)" test "${n:-0}" -ge 4
stop_daemon xdpd-pc
check "xdpd-pc: unloaded xi0" has "$tmp/xdpd-pc.out" '^unloaded xi0$'
check "xdpd-pc: nothing left pinned or attached" nothing_left

# --- examples/ with CMake: find_package(xdpctl) ---------------------------------------------------
cp -r "$root/examples" "$tmp/examples"
cmake -S "$tmp/examples" -B "$tmp/ex" -G Ninja -DCMAKE_PREFIX_PATH="$P" >"$tmp/ex.log" 2>&1 &&
	cmake --build "$tmp/ex" >>"$tmp/ex.log" 2>&1 || { cat "$tmp/ex.log"; fatal "examples with find_package(xdpctl)"; }
ninja -C "$tmp/ex" -t deps >"$tmp/ex.deps"
check "the examples read no header of the source or build tree" hasnt "$tmp/ex.deps" "($root|$build)/"
check "the examples read the installed headers" has "$tmp/ex.deps" "$P/include/xdpctl/loader.hpp"
check "udp_guard.bpf.c read the installed BPF headers" has <(clang -M -target bpf -I"$P/include" -I"$tmp/ex" \
	"$tmp/examples/udp_guard/udp_guard.bpf.c") "$P/include/xdpctl/bpf/stats.h"
"$tmp/ex/udp_guard_test" >"$tmp/unit.log" 2>&1
check "udp_guard's unit test (BPF_PROG_TEST_RUN) passes" test $? -eq 0 || cat "$tmp/unit.log"
check "udp_guard's unit test ran its test" has "$tmp/unit.log" '\[  PASSED  \] 1 test'

obj=$tmp/ex/udp_guard.bpf.o
ina "$P/sbin/xdpctl" load "$obj" xi0 >"$tmp/load.log" 2>&1
check "installed xdpctl loads the user's object" test $? -eq 0 || cat "$tmp/load.log"
ina "$P/sbin/xdpctl" status -j >"$tmp/status2.json"
check "status names the user's program on xi0" has "$tmp/status2.json" '"prog": ?"udp_guard"'
ina "$P/sbin/xdpctl" unload xi0 >"$tmp/unload.log" 2>&1
check "installed xdpctl unloads it" test $? -eq 0 || cat "$tmp/unload.log"
check "nothing left after xdpctl unload" nothing_left

run_daemon xdpd-cmake "$tmp/ex/xdpd" "$obj" || fatal "xdpd (CMake build) did not get ready"
check "xdpd-cmake: loaded udp_guard on xi0" has "$tmp/xdpd-cmake.out" '^loaded udp_guard on xi0 '
inb ping -c 2 -i 0.2 -W 1 10.77.0.1 >"$tmp/ping2.log" 2>&1
check "pings pass udp_guard" has "$tmp/ping2.log" '2 received'
for i in 1 2 3; do inb bash -c 'echo guarded >/dev/udp/10.77.0.1/9'; done
sleep 0.3
drops=$(last_count xdpd-cmake DROP)
check "xdpd-cmake: udp_guard dropped the 3 datagrams to port 9 (${drops:-none})" test "${drops:-0}" -eq 3
passes=$(last_count xdpd-cmake PASS)
check "xdpd-cmake: and passed the pings (${passes:-none} >= 2)" test "${passes:-0}" -ge 2
stop_daemon xdpd-cmake
check "xdpd-cmake: nothing left pinned or attached" nothing_left

# --- make uninstall ---------------------------------------------------------------------------
DESTDIR=$dest cmake -DMANIFEST="$tmp/manifest" -P "$root/cmake/uninstall.cmake" >"$tmp/uninstall.log" 2>&1
check "uninstall runs" test $? -eq 0 || cat "$tmp/uninstall.log"
check "uninstall removed what the manifest lists" test "$(grep -c '^-- remove ' "$tmp/uninstall.log")" -eq "$nfiles"
check "uninstall leaves no file" test -z "$(find "$dest" -type f -o -type l)"
check "uninstall removes xdpctl's own directories" test -z "$(find "$dest" -name xdpctl)"

echo "install_tree: $fails failed"
[ "$fails" -eq 0 ]
