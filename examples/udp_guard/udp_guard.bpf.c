// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* udp_guard: an XDP program of your own that counts in the collection's layout. It drops UDP
 * datagrams (IPv4, behind up to two VLAN tags) to one port, drops runts it cannot parse, and
 * passes everything else; every verdict goes through xdpctl_count(), so `xdpctl stats` and
 * `xdpctl status` read it as they read the collection's programs.
 *
 * Built against the installed headers only (make install; docs/install.md):
 *   bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h
 *   clang -g -O2 -target bpf -I$PREFIX/include -I. -c udp_guard.bpf.c -o udp_guard.bpf.o
 * Config: blocked_port (rodata, host order), set before load; 9 (discard) by default.
 * Load:   xdpctl load ./udp_guard.bpf.o IFNAME
 * Test:   udp_guard_test.cpp runs it through BPF_PROG_TEST_RUN, a table of packets and verdicts.
 */
#include <xdpctl/bpf/parse.h>
#include <xdpctl/bpf/stats.h>

const volatile __u16 blocked_port = 9;

SEC("xdp")
int udp_guard(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct eth_info eth;
	struct iphdr *iph;
	struct udphdr *udph;
	int proto = parse_eth(&c, &eth);

	if (proto < 0)
		return xdpctl_count(ctx, XDP_DROP);
	if (proto != ETH_P_IP)
		return xdpctl_count(ctx, XDP_PASS);
	proto = parse_ipv4(&c, &iph);
	if (proto < 0)
		return xdpctl_count(ctx, XDP_DROP);
	if (proto != IPPROTO_UDP)
		return xdpctl_count(ctx, XDP_PASS);
	if (parse_udp(&c, &udph) < 0)
		return xdpctl_count(ctx, XDP_DROP);
	if (udph->dest == bpf_htons(blocked_port))
		return xdpctl_count(ctx, XDP_DROP);
	return xdpctl_count(ctx, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
