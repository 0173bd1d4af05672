#include "xdpctl/meta.hpp"

#include <bpf/btf.h>

#include "xdpctl/compat.h"

namespace xdpctl {

Result<MetaKfuncs> probe_meta_kfuncs()
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return fail(errno ? errno : ENOENT, "load kernel BTF", "vmlinux");
	auto has = [vmlinux](const char *name) { return btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0; };
	MetaKfuncs k;
	k.rx_hash = has("bpf_xdp_metadata_rx_hash");
	k.rx_timestamp = has("bpf_xdp_metadata_rx_timestamp");
	k.rx_vlan_tag = has("bpf_xdp_metadata_rx_vlan_tag");
	btf__free(vmlinux);
	return k;
}

Status bind_to_device(struct bpf_program *prog, int ifindex)
{
	const char *name = bpf_program__name(prog);
	if (ifindex <= 0)
		return fail(EINVAL, "bind to device", name, "no interface index");
	bpf_program__set_ifindex(prog, ifindex);
	return check(bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_XDP_DEV_BOUND_ONLY),
		     "bpf_program__set_flags", name);
}

} // namespace xdpctl
