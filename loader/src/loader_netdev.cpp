#include <net/if.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <memory>
#include <string_view>
#include <vector>

#include "xdpctl/fd.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/nl.hpp"

namespace xdpctl {

Result<int> ifindex_of(const std::string &ifname)
{
	unsigned idx = if_nametoindex(ifname.c_str());
	if (!idx)
		return fail(ENODEV, "interface", ifname, "not found in this network namespace (see `ip link`)");
	return static_cast<int>(idx);
}

Result<std::string> ifname_of(int ifindex)
{
	char buf[IF_NAMESIZE] = {};
	if (!if_indextoname(ifindex, buf))
		return fail(ENODEV, "interface", "ifindex " + std::to_string(ifindex),
			    "not found in this network namespace");
	return std::string(buf);
}

Result<std::vector<NetDev>> list_netdevs()
{
	struct if_nameindex *all = if_nameindex();
	if (!all)
		return fail(errno, "if_nameindex");
	std::vector<NetDev> out;
	for (auto *i = all; i->if_index; i++)
		out.push_back({static_cast<int>(i->if_index), i->if_name});
	if_freenameindex(all);
	return out;
}

const char *to_string(XdpMode m)
{
	switch (m) {
	case XdpMode::None: return "none";
	case XdpMode::Native: return "native";
	case XdpMode::Skb: return "skb";
	case XdpMode::Hw: return "hw";
	case XdpMode::Multi: return "multi";
	}
	return "?";
}

Result<XdpAttachment> xdp_attachment(int ifindex)
{
	// One RTM_GETLINK for this device. libbpf's bpf_xdp_query dumps every link of the namespace
	// and keeps the one it wants: O(netdevs) per call, which a load onto N of 2,000 veths or a
	// status of them pays N times.
	auto rt = nl::Rtnl::open();
	if (!rt)
		return std::unexpected(rt.error());
	auto l = rt->get_link(static_cast<uint32_t>(ifindex));
	if (!l && l.error().err == ENODEV)
		return XdpAttachment{}; // gone: nothing attached, as bpf_xdp_query answered
	if (!l)
		return std::unexpected(l.error());
	XdpAttachment a;
	a.drv_prog_id = l->xdp_drv_prog_id;
	a.skb_prog_id = l->xdp_skb_prog_id;
	a.hw_prog_id = l->xdp_hw_prog_id;
	switch (l->xdp_attached) {
	case XDP_ATTACHED_DRV: a.mode = XdpMode::Native; a.prog_id = a.drv_prog_id; break;
	case XDP_ATTACHED_SKB: a.mode = XdpMode::Skb; a.prog_id = a.skb_prog_id; break;
	case XDP_ATTACHED_HW: a.mode = XdpMode::Hw; a.prog_id = a.hw_prog_id; break;
	case XDP_ATTACHED_MULTI:
		a.mode = XdpMode::Multi;
		a.prog_id = a.drv_prog_id ? a.drv_prog_id : (a.skb_prog_id ? a.skb_prog_id : a.hw_prog_id);
		break;
	default: break;
	}
	return a;
}

std::string prog_name(uint32_t prog_id)
{
	Fd fd(bpf_prog_get_fd_by_id(prog_id));
	if (!fd)
		return {};
	bpf_prog_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &len))
		return {};
	std::string name = info.name;
	// the kernel keeps 15 characters (xdp_redirect_de); the program's BTF has the whole name,
	// in the FUNC record of its first instruction (as bpftool prog show finds it)
	if (name.size() < BPF_OBJ_NAME_LEN - 1 || !info.btf_id || !info.nr_func_info ||
	    info.func_info_rec_size != sizeof(bpf_func_info))
		return name;
	std::vector<bpf_func_info> funcs(info.nr_func_info);
	bpf_prog_info finfo{};
	finfo.nr_func_info = info.nr_func_info;
	finfo.func_info_rec_size = sizeof(bpf_func_info);
	finfo.func_info = reinterpret_cast<uintptr_t>(funcs.data());
	len = sizeof(finfo);
	if (bpf_obj_get_info_by_fd(fd.get(), &finfo, &len))
		return name;
	std::unique_ptr<btf, decltype(&btf__free)> b(btf__load_from_kernel_by_id(info.btf_id), btf__free);
	if (!b)
		return name;
	const btf_type *t = btf__type_by_id(b.get(), funcs[0].type_id);
	const char *full = t && btf_is_func(t) ? btf__name_by_offset(b.get(), t->name_off) : nullptr;
	return full && std::string_view(full).starts_with(name) ? full : name;
}

} // namespace xdpctl
