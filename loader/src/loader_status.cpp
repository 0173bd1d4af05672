#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>

#include "loader_internal.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/status.hpp"

namespace xdpctl {

namespace {

// The id of the XDP link holding prog_id on ifindex, for links xdpctl did not pin. Program ids
// are global, so (ifindex, prog id) names the link even across namespaces.
uint32_t find_xdp_link(int ifindex, uint32_t prog_id)
{
	uint32_t id = 0;
	while (bpf_link_get_next_id(id, &id) == 0) {
		Fd fd(bpf_link_get_fd_by_id(id));
		if (!fd)
			continue;
		auto li = detail::link_info(fd.get());
		if (li && li->type == BPF_LINK_TYPE_XDP && li->ifindex == static_cast<uint32_t>(ifindex) &&
		    li->prog_id == prog_id)
			return li->id;
	}
	return 0;
}

Result<DevmapStatus> read_devmap(const std::string &path, const std::string &name)
{
	Fd fd(bpf_obj_get(path.c_str()));
	if (!fd)
		return fail(errno, "open pinned map", path);
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", path);
	if (info.type != BPF_MAP_TYPE_DEVMAP && info.type != BPF_MAP_TYPE_DEVMAP_HASH)
		return fail(ENOTSUP, "devmap", path, "not a devmap");
	bool hash = info.type == BPF_MAP_TYPE_DEVMAP_HASH;
	DevmapStatus d{name, info.id, hash, !hash && name == kBroadcastMaps[0], info.max_entries, {}};
	uint32_t key = 0, next = 0;
	uint32_t *prev = nullptr;
	while (bpf_map_get_next_key(fd.get(), prev, &next) == 0) {
		key = next;
		prev = &key;
		bpf_devmap_val val{};
		if (bpf_map_lookup_elem(fd.get(), &key, &val))
			continue; // DEVMAP: every index exists as a key; empty slots fail lookup
		DevmapEntry e{key, val.ifindex, {}, info.value_size >= sizeof(val) ? val.bpf_prog.id : 0, {}};
		if (auto n = ifname_of(val.ifindex))
			e.ifname = *n;
		if (e.egress_prog_id)
			e.egress_prog = prog_name(e.egress_prog_id);
		d.entries.push_back(std::move(e));
	}
	return d;
}

} // namespace

Result<std::vector<DevmapStatus>> devmaps_status(const Layout &l)
{
	std::vector<DevmapStatus> out;
	auto names = list_dir(l.maps_dir());
	std::sort(names.begin(), names.end());
	for (const auto &n : names) {
		auto d = read_devmap(l.map_pin(n), n);
		if (d)
			out.push_back(std::move(*d));
		else if (d.error().err != ENOTSUP)
			return std::unexpected(d.error());
	}
	return out;
}

Result<NamespaceStatus> status()
{
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	auto devs = list_netdevs();
	if (!devs)
		return std::unexpected(devs.error());
	NamespaceStatus st;
	for (const auto &d : *devs) {
		InterfaceStatus s{d.ifindex, d.name};
		auto att = xdp_attachment(d.ifindex);
		if (!att)
			return std::unexpected(detail::with_privilege_hint(att.error()));
		s.mode = att->mode;
		s.prog_id = att->prog_id;
		if (s.prog_id) {
			s.prog = prog_name(s.prog_id);
			if (path_exists(l->link_pin(d.ifindex))) {
				auto li = detail::pinned_link_info(*l, d.ifindex);
				if (li && li->prog_id == s.prog_id && li->ifindex == static_cast<uint32_t>(d.ifindex)) {
					s.owned = true;
					s.link_id = li->id;
				}
			}
			if (!s.link_id)
				s.link_id = find_xdp_link(d.ifindex, s.prog_id);
		}
		st.interfaces.push_back(std::move(s));
	}
	for (const auto &n : list_dir(l->ns_dir())) {
		if (!n.starts_with("if"))
			continue;
		int idx = std::atoi(n.c_str() + 2);
		auto li = detail::pinned_link_info(*l, idx);
		if (!li || !li->ifindex)
			st.stale_ifindexes.push_back(idx);
	}
	std::sort(st.stale_ifindexes.begin(), st.stale_ifindexes.end());
	auto dm = devmaps_status(*l);
	if (!dm)
		return std::unexpected(dm.error());
	st.devmaps = std::move(*dm);
	return st;
}

} // namespace xdpctl
