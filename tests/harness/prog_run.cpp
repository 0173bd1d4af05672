#include "prog_run.hpp"

#include <linux/pkt_cls.h>

#include <vector>

namespace xt {

XdpRun run_xdp(int prog_fd, const Bytes &pkt, const XdpRunOpts &o)
{
	XdpRun r;
	Bytes in = concat(o.meta, pkt);
	struct xdp_md ctx_in {};
	ctx_in.data = static_cast<uint32_t>(o.meta.size());
	ctx_in.data_end = static_cast<uint32_t>(in.size());
	ctx_in.ingress_ifindex = o.ingress_ifindex;
	ctx_in.rx_queue_index = o.rx_queue;
	struct xdp_md ctx_out {};
	Bytes out(in.size() + 4096 + 256);

	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in.data(), .data_size_in = static_cast<uint32_t>(in.size()),
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in), .repeat = static_cast<int>(o.repeat));
	if (o.live) {
		topts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
		topts.batch_size = o.batch_size;
	} else {
		topts.data_out = out.data();
		topts.data_size_out = static_cast<uint32_t>(out.size());
		topts.ctx_out = &ctx_out;
		topts.ctx_size_out = sizeof(ctx_out);
	}
	r.err = bpf_prog_test_run_opts(prog_fd, &topts);
	r.retval = topts.retval;
	r.duration = topts.duration;
	if (r.err || o.live)
		return r;
	out.resize(topts.data_size_out);
	size_t metalen = std::min<size_t>(ctx_out.data, out.size());
	r.meta.assign(out.begin(), out.begin() + static_cast<long>(metalen));
	r.data.assign(out.begin() + static_cast<long>(metalen), out.end());
	return r;
}

TcRun run_tc(int prog_fd, const Bytes &pkt, uint32_t ifindex)
{
	TcRun r;
	struct __sk_buff skb {};
	skb.ifindex = ifindex;
	Bytes out(pkt.size() + 4096);
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt.data(), .data_out = out.data(),
		    .data_size_in = static_cast<uint32_t>(pkt.size()), .data_size_out = static_cast<uint32_t>(out.size()),
		    .ctx_in = &skb, .ctx_size_in = sizeof(skb), .repeat = 1);
	r.err = bpf_prog_test_run_opts(prog_fd, &topts);
	r.retval = static_cast<int>(topts.retval);
	out.resize(topts.data_size_out);
	r.data = std::move(out);
	return r;
}

ActionCounters read_action_stats(int map_fd)
{
	ActionCounters sum{};
	int ncpu = libbpf_num_possible_cpus();
	std::vector<struct xdpctl_action_stats> per_cpu(ncpu > 0 ? ncpu : 1);
	for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++) {
		if (bpf_map_lookup_elem(map_fd, &a, per_cpu.data()))
			continue;
		for (auto &c : per_cpu) {
			sum[a].packets += c.packets;
			sum[a].bytes += c.bytes;
		}
	}
	return sum;
}

uint64_t percpu_u64(int map_fd, uint32_t key)
{
	int ncpu = libbpf_num_possible_cpus();
	std::vector<uint64_t> v(ncpu > 0 ? ncpu : 1);
	if (bpf_map_lookup_elem(map_fd, &key, v.data()))
		return 0;
	uint64_t sum = 0;
	for (auto x : v)
		sum += x;
	return sum;
}

int group_add_port(const struct bpf_map *m, uint32_t ifindex, int prog_fd)
{
	struct bpf_devmap_val v {};
	v.ifindex = ifindex;
	v.bpf_prog.fd = prog_fd >= 0 ? prog_fd : 0;
	uint32_t key = ifindex;
	if (bpf_map__type(m) == BPF_MAP_TYPE_DEVMAP) {
		struct bpf_devmap_val cur {};
		for (key = 0; key < bpf_map__max_entries(m); key++)
			if (bpf_map__lookup_elem(m, &key, sizeof(key), &cur, sizeof(cur), 0))
				break;
	}
	int err = bpf_map__update_elem(m, &key, sizeof(key), &v, sizeof(v), BPF_ANY);
	return err ? err : static_cast<int>(key);
}

} // namespace xt
