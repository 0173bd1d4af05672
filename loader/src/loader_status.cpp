#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include "loader_internal.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/privileges.hpp"
#include "xdpctl/stats.h"
#include "xdpctl/status.hpp"

namespace xdpctl {

uint32_t detail::find_xdp_link(int ifindex, uint32_t prog_id)
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

namespace {

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

// The bytes of variable `var` in a .rodata array map, when the map's BTF has it.
Result<std::optional<std::vector<uint8_t>>> rodata_var(int map_fd, const bpf_map_info &mi, const std::string &var)
{
	using Out = std::optional<std::vector<uint8_t>>;
	std::unique_ptr<btf, decltype(&btf__free)> b(btf__load_from_kernel_by_id(mi.btf_id), btf__free);
	if (!b)
		return fail(errno, "btf__load_from_kernel_by_id", std::to_string(mi.btf_id));
	const btf_type *sec = btf__type_by_id(b.get(), mi.btf_value_type_id);
	if (!sec || !btf_is_datasec(sec) || std::string_view(btf__name_by_offset(b.get(), sec->name_off)) != ".rodata")
		return Out{};
	const btf_var_secinfo *vi = btf_var_secinfos(sec);
	for (uint16_t i = 0; i < btf_vlen(sec); i++, vi++) {
		const btf_type *v = btf__type_by_id(b.get(), vi->type);
		if (btf__name_by_offset(b.get(), v->name_off) != var)
			continue;
		std::vector<uint8_t> data(mi.value_size);
		uint32_t key = 0;
		if (vi->offset + vi->size > data.size())
			return fail(EINVAL, "read .rodata", var, "lies outside the map's value");
		if (bpf_map_lookup_elem(map_fd, &key, data.data()))
			return fail(errno, "read .rodata", var);
		return Out{std::vector<uint8_t>(data.begin() + vi->offset, data.begin() + vi->offset + vi->size)};
	}
	return Out{};
}

} // namespace

Result<std::optional<std::vector<uint8_t>>> loaded_rodata(uint32_t prog_id, const std::string &var)
{
	using Out = std::optional<std::vector<uint8_t>>;
	Fd prog(bpf_prog_get_fd_by_id(prog_id));
	if (!prog && errno == ENOENT)
		return Out{}; // detached and freed meanwhile
	if (!prog)
		return fail(errno, "bpf_prog_get_fd_by_id", std::to_string(prog_id));
	std::vector<uint32_t> ids(16);
	bpf_prog_info info{};
	info.nr_map_ids = static_cast<uint32_t>(ids.size());
	info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog.get(), &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", std::to_string(prog_id));
	for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, ids.size()); i++) {
		Fd m(bpf_map_get_fd_by_id(ids[i]));
		if (!m)
			continue; // gone meanwhile
		bpf_map_info mi{};
		uint32_t mlen = sizeof(mi);
		if (bpf_obj_get_info_by_fd(m.get(), &mi, &mlen))
			return fail(errno, "bpf_obj_get_info_by_fd", "map " + std::to_string(ids[i]));
		if (mi.type != BPF_MAP_TYPE_ARRAY || !mi.btf_id || !mi.btf_value_type_id)
			continue;
		auto v = rodata_var(m.get(), mi, var);
		if (!v || *v)
			return v;
	}
	return Out{};
}

Result<std::optional<bool>> counters_on(uint32_t prog_id)
{
	auto v = loaded_rodata(prog_id, XDPCTL_STATS_SWITCH);
	if (!v)
		return std::unexpected(v.error());
	if (!*v || (*v)->size() != 1)
		return std::optional<bool>{};
	return std::optional<bool>{(**v)[0] != 0};
}

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
	if (auto st = require_privileges("status", kReadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
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
			// moved here from another namespace with the link xdpctl made there: xdpctl's (and
			// `xdpctl unload IFNAME` or `unload --all` here detaches it); its old namespace's
			// status lists it as moved
			if (!s.owned)
				if (auto dir = detail::foreign_pin_dir(*l, *att))
					if (Fd fd(bpf_obj_get((*dir + "/link").c_str())); fd)
						if (auto li = detail::link_info(fd.get()); li && li->ifindex == static_cast<uint32_t>(d.ifindex)) {
							s.owned = true;
							s.link_id = li->id;
						}
			if (!s.link_id)
				s.link_id = detail::find_xdp_link(d.ifindex, s.prog_id);
			auto c = counters_on(s.prog_id);
			if (!c)
				return std::unexpected(detail::with_privilege_hint(c.error()));
			s.counters = *c;
		}
		st.interfaces.push_back(std::move(s));
	}
	for (const auto &n : list_dir(l->ns_dir())) {
		bool moved_dir = n.starts_with("moved");
		if (!n.starts_with("if") && !moved_dir)
			continue;
		int idx = moved_dir ? 0 : std::atoi(n.c_str() + 2);
		auto seen = detail::see_link(l->ns_dir() + "/" + n + "/link", idx);
		if (seen.where == detail::Where::Elsewhere)
			st.moved.push_back({seen.li.id, seen.li.prog_id, prog_name(seen.li.prog_id), seen.li.ifindex});
		else if (!moved_dir && seen.where != detail::Where::Here)
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
