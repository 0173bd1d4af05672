#include "shared.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/meta.h"
#include "xdpctl/monitor.h"
#include "xdpctl/state.hpp"
#include "xdpctl/stats.h"

namespace xdpctl::ctl::detail {
namespace {

template <class T>
T value_of(std::span<const std::byte> v)
{
	T t;
	std::memcpy(&t, v.data(), sizeof(T));
	return t;
}

std::optional<struct bpf_map_info> map_info(int fd)
{
	struct bpf_map_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return std::nullopt;
	return info;
}

bool is_percpu(uint32_t map_type)
{
	return map_type == BPF_MAP_TYPE_PERCPU_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_HASH ||
	       map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// One element, summed over CPUs when the map is per-CPU, as u64 words.
template <size_t Words>
std::optional<std::array<uint64_t, Words>> read_summed(int fd, const struct bpf_map_info &info, const void *key)
{
	if (info.value_size != Words * sizeof(uint64_t))
		return std::nullopt;
	int ncpu = is_percpu(info.type) ? libbpf_num_possible_cpus() : 1;
	if (ncpu <= 0)
		return std::nullopt;
	std::vector<uint64_t> vals(static_cast<size_t>(ncpu) * Words);
	if (bpf_map_lookup_elem(fd, key, vals.data()))
		return std::nullopt;
	std::array<uint64_t, Words> sum{};
	for (int c = 0; c < ncpu; c++)
		for (size_t w = 0; w < Words; w++)
			sum[w] += vals[static_cast<size_t>(c) * Words + w];
	return sum;
}

// The ids of the maps a program uses.
std::vector<uint32_t> prog_map_ids(uint32_t prog_id)
{
	Fd fd(bpf_prog_get_fd_by_id(prog_id));
	if (!fd)
		return {};
	struct bpf_prog_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &len))
		return {};
	std::vector<uint32_t> ids(info.nr_map_ids);
	if (ids.empty())
		return ids;
	struct bpf_prog_info again {};
	again.nr_map_ids = static_cast<uint32_t>(ids.size());
	again.map_ids = reinterpret_cast<uint64_t>(ids.data());
	len = sizeof(again);
	if (bpf_obj_get_info_by_fd(fd.get(), &again, &len))
		return {};
	ids.resize(std::min<size_t>(ids.size(), again.nr_map_ids));
	return ids;
}

// Walks every element of a pinned monitor map; false when the map is not there.
template <class Key, size_t Words, class Fn>
bool for_each_monitor(const std::string &path, Fn &&fn)
{
	Fd fd(bpf_obj_get(path.c_str()));
	if (!fd)
		return false;
	auto info = map_info(fd.get());
	if (!info || info->key_size != sizeof(Key))
		return false;
	Key key{}, next{};
	const Key *cur = nullptr;
	while (bpf_map_get_next_key(fd.get(), cur, &next) == 0) {
		if (auto v = read_summed<Words>(fd.get(), *info, &next))
			fn(next, *v);
		key = next;
		cur = &key;
	}
	return true;
}

} // namespace

Status check_update(uint32_t type, uint32_t ifindex, std::span<const std::byte> value)
{
	// the value's head is the same for every type: ifindex, command, avail
	uint32_t v_ifindex = value_of<uint32_t>(value);
	uint32_t cmd = value_of<uint32_t>(value.subspan(4));
	const char *tname = ctrl_type_name(type);
	uint32_t want = type == BPF_CTRL_XDP_ATTR ? BPF_CTRL_SETUP_REDIRECT
			: type == BPF_CTRL_XDP_MD ? BPF_CTRL_SETUP_MD
						  : BPF_CTRL_CMD_NONE;
	if (want == BPF_CTRL_CMD_NONE)
		return fail(EINVAL, "update", tname, "XDP_STATS is read only: it takes no command");
	if (cmd != want)
		return fail(EINVAL, "update", tname,
			    "unknown command " + std::to_string(cmd) + " for " + tname + " (takes " +
				    (want == BPF_CTRL_SETUP_REDIRECT ? "SETUP_REDIRECT=1" : "SETUP_MD=2") + ")");
	if (v_ifindex && v_ifindex != ifindex)
		return fail(EINVAL, "update", tname,
			    "value.ifindex " + std::to_string(v_ifindex) + " is neither 0 nor the key " +
				    std::to_string(ifindex));
	if (type == BPF_CTRL_XDP_MD && value_of<struct bpf_ctrl_xdp_md>(value).enable_md > 1)
		return fail(EINVAL, "SETUP_MD", "ifindex " + std::to_string(ifindex), "enable_md is 1 (on) or 0 (off)");
	return {};
}

std::vector<uint32_t> distinct_prog_ids(std::initializer_list<uint32_t> ids)
{
	std::vector<uint32_t> out;
	for (uint32_t id : ids)
		if (id && std::find(out.begin(), out.end(), id) == out.end())
			out.push_back(id);
	return out;
}

void add_action_stats(uint32_t ifindex, const std::vector<uint32_t> &prog_ids, struct bpf_ctrl_xdp_stats &s,
		      const std::string &ns_dir)
{
	if (prog_ids.empty())
		return;
	std::string dir = ns_dir;
	if (dir.empty()) {
		auto l = current_layout();
		if (!l)
			return;
		dir = l->ns_dir();
	}
	// the map of the running program: NAME, or NAME-new when a `load --replace` was killed after
	// its swap and before its renames (what status shows runs is what is counted)
	std::string path = dir + "/if" + std::to_string(ifindex) + "/" + XDPCTL_STATS_MAP;
	auto in_use = [&](const bpf_map_info &mi) {
		if (mi.type != BPF_MAP_TYPE_PERCPU_ARRAY || mi.max_entries < XDPCTL_ACTION_MAX)
			return false;
		for (uint32_t id : prog_ids) {
			auto ids = prog_map_ids(id);
			if (std::find(ids.begin(), ids.end(), mi.id) != ids.end())
				return true;
		}
		return false;
	};
	Fd fd;
	std::optional<struct bpf_map_info> info;
	for (const std::string &p : {path, path + kStagedSuffix}) {
		fd = Fd(bpf_obj_get(p.c_str()));
		info = fd ? map_info(fd.get()) : std::nullopt;
		if (info && in_use(*info))
			break;
		info.reset();
	}
	if (!info)
		return;
	std::array<struct bpf_ctrl_action_counter, XDPCTL_ACTION_MAX> out{};
	for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++) {
		auto v = read_summed<2>(fd.get(), *info, &a);
		if (!v)
			return;
		out[a] = {(*v)[0], (*v)[1]};
	}
	std::copy(out.begin(), out.end(), s.xdp);
	s.avail |= BPF_CTRL_STATS_XDP_ACTIONS;
}

// The monitor counts by the device the program ran on (exceptions, redirect errors) and, for
// devmap transmits, by the egress device: xmit sent/drops here are frames redirected out of it.
std::optional<std::unordered_map<uint32_t, MonitorCounts>> read_monitor(const std::string &ns_dir)
{
	const std::string dir = ns_dir + "/monitor/";
	std::unordered_map<uint32_t, MonitorCounts> all;
	bool any = false;
	any |= for_each_monitor<struct xdpctl_mon_key, 1>(dir + "xdpctl_mon_exc", [&](auto &k, auto &v) {
		all[k.ifindex].exceptions += v[0];
	});
	any |= for_each_monitor<struct xdpctl_mon_key, 1>(dir + "xdpctl_mon_rerr", [&](auto &k, auto &v) {
		all[k.ifindex].redirect_errors += v[0];
	});
	any |= for_each_monitor<struct xdpctl_mon_xmit_key, 3>(dir + "xdpctl_mon_xmit", [&](auto &k, auto &v) {
		all[k.to_ifindex].xmit_sent += v[0];
		all[k.to_ifindex].xmit_drops += v[1];
	});
	if (!any)
		return std::nullopt;
	return all;
}

void apply_monitor(const std::optional<std::unordered_map<uint32_t, MonitorCounts>> &all, uint32_t ifindex,
		   struct bpf_ctrl_xdp_stats &s)
{
	if (!all)
		return;
	s.avail |= BPF_CTRL_STATS_XDP_ERRORS;
	auto it = all->find(ifindex);
	if (it == all->end())
		return;
	s.xdp_exceptions += it->second.exceptions;
	s.xdp_redirect_errors += it->second.redirect_errors;
	s.xdp_devmap_xmit_sent += it->second.xmit_sent;
	s.xdp_devmap_xmit_drops += it->second.xmit_drops;
}

void add_monitor_stats(uint32_t ifindex, struct bpf_ctrl_xdp_stats &s)
{
	auto l = current_layout();
	if (!l)
		return;
	apply_monitor(read_monitor(l->ns_dir()), ifindex, s);
}

bool add_md_prog(uint32_t prog_id, struct bpf_ctrl_xdp_md &m)
{
	Fd fd(bpf_prog_get_fd_by_id(prog_id));
	struct bpf_prog_info info {};
	uint32_t len = sizeof(info);
	if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) ||
	    std::strncmp(info.name, kMetaProgName, sizeof(info.name)) != 0)
		return false;
	m.enable_md = 1;
	m.prog_id = prog_id;
	m.md_btf_obj_id = info.btf_id;
	m.md_size = sizeof(struct xdpctl_meta);
	if (struct btf *b = btf__load_from_kernel_by_id(info.btf_id)) {
		int t = btf__find_by_name_kind(b, "xdpctl_meta", BTF_KIND_STRUCT);
		m.md_btf_type_id = t > 0 ? static_cast<uint32_t>(t) : 0;
		btf__free(b);
	}
	return true;
}

Status setup_md(const std::string &ifname, const struct bpf_ctrl_xdp_md &now, bool on)
{
	if (on) {
		if (now.enable_md)
			return fail(EALREADY, "SETUP_MD on", ifname,
				    "metadata is already on (program id " + std::to_string(now.prog_id) + ")");
		LoadRequest req{.program = {kMetaProgName, ""}, .interfaces = {ifname}, .dev_bound = true};
		auto r = load(req);
		if (!r)
			return fail(r.error().err, "SETUP_MD on", ifname, r.error().message());
		return {};
	}
	if (!now.enable_md)
		return fail(EALREADY, "SETUP_MD off", ifname, "metadata is not on: nothing to turn off");
	auto r = unload({ifname});
	if (!r)
		return fail(r.error().err, "SETUP_MD off", ifname, r.error().message());
	return {};
}

} // namespace xdpctl::ctl::detail
