// Reference models of the collection's programs, written from their documented behaviour (the
// header block of each bpf/*.bpf.c and include/xdpctl/{meta_progs,egress,broadcast}.h), never
// by calling or translating the BPF code: the fuzzers run a frame through the program and
// through its model and compare verdict, ports, bytes, data_meta and counters.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>

#include "packet.hpp"
#include "xdpctl/egress.h"
#include "xdpctl/meta.h"
#include "xdpctl/meta_progs.h"

namespace fz {

using xt::Bytes;

// --- xdp_meta_producer (include/xdpctl/meta_progs.h, bpf/xdp_meta_producer.bpf.c) -----------
struct MetaConfig {
	std::map<uint32_t, uint32_t> marks; // meta_marks: destination port -> mark (0 = none)
	uint32_t default_mark = 0;          // rodata
	Bytes meta_in;                      // data_meta the frame arrives with (another program's)
};

struct MetaVerdict {
	Bytes meta_out; // data_meta after the program
	uint64_t no_room = 0, no_flow = 0, marked = 0; // meta_counters
};

MetaVerdict meta_model(const Bytes &frame, const MetaConfig &c);

// --- xdp_egress (include/xdpctl/egress.h) ----------------------------------------------------
struct EgressVerdict {
	bool transmitted = false;
	Bytes out;                                   // the frame as the port sends it
	std::array<uint64_t, XDPCTL_EGRESS_CNT_MAX> counters{}; // egress_counters
};

EgressVerdict egress_model(const Bytes &frame, const struct xdpctl_egress_port &cfg);

} // namespace fz
