// Loading the device-bound metadata program (bpf/xdp_meta_kfunc.bpf.c): which RX metadata
// kfuncs the running kernel has, and binding an opened program to the device whose kfunc
// implementations it must use.
#pragma once

#include <bpf/libbpf.h>

#include <string>

#include "xdpctl/error.hpp"
#include "xdpctl/skeleton.hpp"

namespace xdpctl {

// Presence of each RX metadata kfunc in the kernel's BTF (/sys/kernel/btf/vmlinux). Absent
// kfuncs are switched off in the program's rodata, so their weak externs stay unresolved and
// the verifier removes the dead calls; the field is then reported as refused.
struct MetaKfuncs {
	bool rx_hash = false;      // 6.3 (two arguments until 6.5: our object needs the 6.5 form)
	bool rx_timestamp = false; // 6.3
	bool rx_vlan_tag = false;  // 6.8
};
[[nodiscard]] Result<MetaKfuncs> probe_meta_kfuncs();

// Makes an opened, not yet loaded XDP program device-bound to ifindex
// (BPF_F_XDP_DEV_BOUND_ONLY): the verifier then links the device's kfunc implementations.
[[nodiscard]] Status bind_to_device(struct bpf_program *prog, int ifindex);

// For the xdp_meta_kfunc skeleton (or any with the same rodata switches): switches off the
// kfuncs the kernel lacks. Call between open_skel() and load_skel(); the loader's registry does
// it for `xdpctl load xdp_meta_kfunc`.
template <class S>
[[nodiscard]] Status switch_meta_kfuncs(Skel<S> &s)
{
	auto k = probe_meta_kfuncs();
	if (!k)
		return std::unexpected(k.error());
	s->rodata->has_rx_hash = k->rx_hash;
	s->rodata->has_rx_timestamp = k->rx_timestamp;
	s->rodata->has_rx_vlan_tag = k->rx_vlan_tag;
	return {};
}

// switch_meta_kfuncs, and binds the program to ifindex. Call between open_skel() and load_skel().
template <class S>
[[nodiscard]] Status prepare_meta_kfunc(Skel<S> &s, int ifindex)
{
	if (auto st = switch_meta_kfuncs(s); !st)
		return st;
	return bind_to_device(s->progs.xdp_meta_kfunc, ifindex);
}

} // namespace xdpctl
