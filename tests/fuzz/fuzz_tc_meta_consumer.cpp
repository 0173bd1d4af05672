// tc_meta_consumer against its model (written from bpf/tc_meta_consumer.bpf.c's header and
// include/xdpctl/meta_progs.h). cls_bpf's test run cannot hand in data_meta, so each frame goes
// the way it does in production: a live XDP test run of xdp_pass on a port, with the data_meta
// of the input, passes it to the stack, where the consumer runs at TC ingress of that port. The
// model's counters and meta_flows entry are compared with the program's.
//
//   cfg[0]     bits 0-1: drop_mark 0, 7, 0xffffffff, or the meta's mark; bit 2: wrong magic
//   cfg[1]     data_meta length: (cfg[1] % 9) * 4 bytes (0..32: bpf_xdp_adjust_meta's limit, so
//              what a frame from XDP can carry; a live test run would take more, which no
//              producer can make: at 32 the struct is both at data_meta and right before the
//              packet, the consumer reads it at data_meta)
//   cfg[2..]   struct xdpctl_meta: flow_hash cfg[2..5], mark cfg[6..9] (one of 0, 7, 0xffffffff,
//              any, by cfg[10] % 4), valid cfg[11]
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "fuzz.hpp"
#include "prog_run.hpp"
#include "tc_meta_consumer.skel.h"
#include "xdp_pass.skel.h"
#include "xdpctl/meta_progs.h"

using namespace fz;

namespace {

Port port;
xdp_pass *pass;

tc_meta_consumer *instance(uint32_t drop_mark)
{
	static tc_meta_consumer *attached;
	auto *s = fz::instance(drop_mark, tc_meta_consumer__open, tc_meta_consumer__load, tc_meta_consumer__destroy,
			       [&](tc_meta_consumer *t) { t->rodata->drop_mark = drop_mark; });
	if (attached != s) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = port.ifindex, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(s->progs.tc_meta_consumer),
			    .flags = BPF_TC_F_REPLACE, .handle = 1, .priority = 1);
		must(bpf_tc_attach(&hook, &opts) == 0, "attach tc_meta_consumer");
		attached = s;
	}
	return s;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	enter_private_netns();
	port = add_port("tcm");
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = port.ifindex, .attach_point = BPF_TC_INGRESS);
	must(bpf_tc_hook_create(&hook) == 0, "clsact on " + port.name);
	pass = xdp_pass__open_and_load();
	must(pass != nullptr, "load xdp_pass");
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input in = decode(data, size);
	struct xdpctl_meta m {};
	std::memcpy(&m.flow_hash, in.cfg + 2, 4);
	static const uint32_t marks[] = {0, 7, 0xffffffff};
	uint32_t any;
	std::memcpy(&any, in.cfg + 6, 4);
	m.mark = in.cfg[10] % 4 == 3 ? any : marks[in.cfg[10] % 4];
	m.valid = in.cfg[11];
	m.magic = in.cfg[0] & 4 ? 0x1234 : XDPCTL_META_MAGIC;
	static const uint32_t drops[] = {0, 7, 0xffffffff};
	uint32_t drop_mark = (in.cfg[0] & 3) == 3 ? m.mark : drops[in.cfg[0] & 3];
	size_t metalen = (in.cfg[1] % 9u) * 4;
	// data_meta: our struct right before the packet, after whatever else is in front of it
	Bytes meta(metalen, 0xee);
	if (metalen >= sizeof(m))
		std::memcpy(meta.data() + metalen - sizeof(m), &m, sizeof(m));
	if (in.frame.size() < 14)
		return 0; // a test run refuses it (fuzz_xdp_pass checks that)
	// The stack untags an 802.1Q/802.1ad frame before TC and drops one whose tag is cut short;
	// the consumer never parses the frame, so it gets untagged frames only (the stack's choices
	// are not the program's)
	Bytes frame = in.frame;
	if ((frame[12] == 0x81 && frame[13] == 0x00) || (frame[12] == 0x88 && frame[13] == 0xa8))
		frame[12] = 0x88, frame[13] = 0xb5;

	tc_meta_consumer *s = instance(drop_mark);
	uint64_t c0[XDPCTL_CONSCNT_MAX];
	for (uint32_t k = 0; k < XDPCTL_CONSCNT_MAX; k++)
		c0[k] = percpu_sum(s->maps.consumer_counters, k);
	struct xdpctl_meta_flow f0 {};
	bool had = bpf_map__lookup_elem(s->maps.meta_flows, &m.flow_hash, 4, &f0, sizeof(f0), 0) == 0;

	auto r = xt::run_xdp(pass->progs.xdp_pass_prog, frame,
			     {.meta = meta, .ingress_ifindex = static_cast<uint32_t>(port.ifindex), .live = true});
	if (r.err)
		mismatch("tc_meta_consumer", in, "live test run failed: " + std::to_string(r.err));

	// the model
	uint64_t want[XDPCTL_CONSCNT_MAX] = {};
	bool flow = false;
	if (metalen < sizeof(m)) {
		want[XDPCTL_CONSCNT_NO_META] = 1;
	} else if (m.magic != XDPCTL_META_MAGIC) {
		want[XDPCTL_CONSCNT_BAD_MAGIC] = 1;
	} else {
		want[XDPCTL_CONSCNT_WITH_META] = 1;
		bool marked = m.valid & XDPCTL_META_MARK;
		want[XDPCTL_CONSCNT_MARK_SET] = marked;
		want[XDPCTL_CONSCNT_DROPPED] = drop_mark && marked && m.mark == drop_mark;
		flow = m.valid & XDPCTL_META_FLOW_HASH;
	}
	// the stack runs the consumer after the syscall returned: wait for its counters to move
	for (int i = 0; i < 1000; i++) {
		uint64_t n = 0;
		for (uint32_t k : {XDPCTL_CONSCNT_NO_META, XDPCTL_CONSCNT_BAD_MAGIC, XDPCTL_CONSCNT_WITH_META})
			n += percpu_sum(s->maps.consumer_counters, k) - c0[k];
		if (n)
			break;
		usleep(100);
	}
	for (uint32_t k = 0; k < XDPCTL_CONSCNT_MAX; k++) {
		uint64_t d = percpu_sum(s->maps.consumer_counters, k) - c0[k];
		if (d != want[k])
			mismatch("tc_meta_consumer", in,
				 "consumer_counters[" + std::to_string(k) + "] +" + std::to_string(d) + ", model +" +
					 std::to_string(want[k]) + " (0 with_meta 1 no_meta 2 bad_magic 3 mark_set 4 dropped)");
	}
	struct xdpctl_meta_flow f {};
	bool has = bpf_map__lookup_elem(s->maps.meta_flows, &m.flow_hash, 4, &f, sizeof(f), 0) == 0;
	if (flow) {
		uint32_t skb_mark = m.valid & XDPCTL_META_MARK ? m.mark : 0;
		if (!has || f.packets != (had ? f0.packets : 0) + 1 || std::memcmp(&f.last, &m, sizeof(m)) ||
		    f.skb_mark != skb_mark)
			mismatch("tc_meta_consumer", in, "meta_flows entry of the flow: not what the model has");
	} else if (has != had || (has && f.packets != f0.packets)) {
		mismatch("tc_meta_consumer", in, "meta_flows changed for a frame without a valid flow hash");
	}
	return 0;
}
