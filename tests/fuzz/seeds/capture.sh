#!/usr/bin/env bash
# Makes the fuzzers' seed corpus: real traffic of the test topology (two network namespaces and a
# veth pair, as tests/ build it), captured with tcpdump on one end. Committed as
# tests/fuzz/seeds/*.pcap (small); rerun to refresh them: bash tests/fuzz/seeds/capture.sh
#
#   ipv4.pcap   ARP, ICMP echo, IPv4 with options (record route), UDP, TCP (SYN, RST), fragments
#   ipv6.pcap   ICMPv6 echo, neighbour discovery, MLD (hop-by-hop header), UDP, TCP, fragments
# No VLAN seeds: the host kernel of the project's machines has no 802.1Q driver
# (CONFIG_VLAN_8021Q off); tagged frames (802.1Q, 802.1ad, stacks of them) come from the
# fuzzers' structure-aware generator (tests/fuzz/fuzz.cpp, gen_frame).
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
a=fzseed-a-$$ b=fzseed-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
for n in "$a" "$b"; do ip -n "$n" link set lo up; done
ip -n "$a" link set va up
ip -n "$b" link set vb up
ip -n "$a" addr add 10.9.0.1/24 dev va
ip -n "$b" addr add 10.9.0.2/24 dev vb
ip -n "$a" addr add fd09::1/64 dev va nodad
ip -n "$b" addr add fd09::2/64 dev vb nodad
capture() { # FILE COMMANDS...
	local file=$1
	shift
	ip netns exec "$b" tcpdump -q -U -i vb -w "$out/$file" 2>/dev/null &
	local pid=$!
	sleep 1
	ip netns exec "$a" bash -c "$*" >/dev/null 2>&1 || true
	sleep 1
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

capture ipv4.pcap '
	ping -c1 -W1 10.9.0.2; ping -c1 -W1 -R 10.9.0.2; ping -c1 -W1 -s 2000 10.9.0.2
	echo hello >/dev/udp/10.9.0.2/53; echo hello >/dev/udp/10.9.0.2/4789
	timeout 1 bash -c "echo >/dev/tcp/10.9.0.2/80"'
capture ipv6.pcap '
	ping -6 -c1 -W1 fd09::2; ping -6 -c1 -W1 -s 2000 fd09::2
	echo hello >/dev/udp/fd09::2/53; timeout 1 bash -c "echo >/dev/tcp/fd09::2/443"'
for f in ipv4 ipv6; do
	echo "$f.pcap: $(tcpdump -r "$out/$f.pcap" 2>/dev/null | wc -l) frames, $(stat -c %s "$out/$f.pcap") bytes"
done
