// Port groups sized to what they hold (include/xdpctl/broadcast.h): the kernel's broadcast walk
// visits every slot of a DEVMAP and every bucket of a DEVMAP_HASH per frame, so a group's devmap
// is replaced by one of the right size, through its ARRAY_OF_MAPS slot, when the group outgrows
// it or falls to a quarter of it.
#include <fcntl.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "loader_internal.hpp"
#include "xdpctl/broadcast.h"
#include "xdpctl/devmap.hpp"

namespace xdpctl {

uint32_t group_devmap_size(size_t ports)
{
	uint32_t n = XDPCTL_GROUP_MIN_ENTRIES;
	while (n < ports)
		n <<= 1;
	return n;
}

Result<Fd> group_devmap(const DevmapGroup &g)
{
	uint32_t id = 0;
	if (bpf_map_lookup_elem(g.outer_fd, &g.slot, &id))
		return fail(errno, "group", g.name, "its map-of-maps slot " + std::to_string(g.slot) + " holds no devmap");
	Fd fd(bpf_map_get_fd_by_id(id));
	if (!fd)
		return std::unexpected(detail::with_privilege_hint(Error{errno, "bpf_map_get_fd_by_id", g.name, {}}));
	return fd;
}

namespace detail {
std::vector<Entry> read_entries(int fd)
{
	std::vector<Entry> out;
	uint32_t key = 0, next = 0;
	uint32_t *prev = nullptr;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		bpf_devmap_val v{};
		if (bpf_map_lookup_elem(fd, &key, &v) == 0) // a DEVMAP's empty slots fail the lookup
			out.push_back({key, v});
	}
	std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.key < b.key; });
	return out;
}
} // namespace detail

namespace {

using detail::Entry;
using detail::read_entries;

struct Current {
	Fd fd;
	bpf_map_info info{};
	std::vector<Entry> entries; // by key
};

Result<Current> current(const DevmapGroup &g)
{
	auto fd = group_devmap(g);
	if (!fd)
		return std::unexpected(fd.error());
	Current c{std::move(*fd), {}, {}};
	uint32_t len = sizeof(c.info);
	if (bpf_obj_get_info_by_fd(c.fd.get(), &c.info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", g.name);
	if (c.info.type != BPF_MAP_TYPE_DEVMAP && c.info.type != BPF_MAP_TYPE_DEVMAP_HASH)
		return fail(EINVAL, "group", g.name, "its slot holds no DEVMAP or DEVMAP_HASH");
	c.entries = read_entries(c.fd.get());
	return c;
}

bool dense(const bpf_map_info &info)
{
	return info.type == BPF_MAP_TYPE_DEVMAP;
}

uint32_t prog_id(int prog_fd)
{
	bpf_prog_info pi{};
	uint32_t len = sizeof(pi);
	return prog_fd >= 0 && bpf_obj_get_info_by_fd(prog_fd, &pi, &len) == 0 ? pi.id : 0;
}

// One port of the group as it will be written: its value holds the egress program by fd, so an
// existing entry's program is reopened by id (the fd keeps it alive until it is written).
struct Member {
	uint32_t ifindex;
	std::shared_ptr<Fd> prog;
	int prog_fd() const { return prog && *prog ? prog->get() : -1; }
};

Member member_of(const bpf_devmap_val &v)
{
	Member m{v.ifindex, nullptr};
	if (v.bpf_prog.id)
		m.prog = std::make_shared<Fd>(bpf_prog_get_fd_by_id(v.bpf_prog.id));
	return m;
}

// Fills a new devmap shaped like the current one, of size, with members (slots 0..n-1 for a
// DEVMAP, ifindex keys for a DEVMAP_HASH) and swaps it into the group's slot; with a txn, the old
// devmap goes back into the slot on undo.
Result<GroupChange> swap_in(const DevmapGroup &g, Current &cur, const std::vector<Member> &members, uint32_t size,
			    size_t batch_threshold, Txn *txn)
{
	LIBBPF_OPTS(bpf_map_create_opts, co);
	// the kernel adds BPF_F_RDONLY_PROG to every devmap itself and refuses it from user space;
	// our devmaps have no NUMA node (bpf_map_info would not say which)
	co.map_flags = cur.info.map_flags & ~static_cast<uint32_t>(BPF_F_RDONLY_PROG | BPF_F_NUMA_NODE);
	Fd fresh(bpf_map_create(static_cast<bpf_map_type>(cur.info.type), cur.info.name, cur.info.key_size,
				cur.info.value_size, size, &co));
	if (!fresh)
		return std::unexpected(detail::with_privilege_hint(Error{errno, "bpf_map_create", g.name, "a devmap of " +
											      std::to_string(size) + " entries for the group"}));
	std::vector<DevmapEntryWrite> es;
	GroupChange out;
	for (size_t i = 0; i < members.size(); i++) {
		uint32_t key = dense(cur.info) ? static_cast<uint32_t>(i) : members[i].ifindex;
		es.push_back({key, members[i].ifindex, members[i].prog_fd()});
	}
	if (auto st = devmap_write(fresh.get(), g.name, es, batch_threshold); !st)
		return std::unexpected(st.error());
	uint32_t new_fd = static_cast<uint32_t>(fresh.get());
	step_boundary();
	if (bpf_map_update_elem(g.outer_fd, &g.slot, &new_fd, BPF_ANY))
		return std::unexpected(detail::with_privilege_hint(
			Error{errno, "swap group devmap", g.name, "the kernel refused the new devmap in the map-of-maps slot"}));
	if (txn) {
		auto outer = std::make_shared<Fd>(fcntl(g.outer_fd, F_DUPFD_CLOEXEC, 0));
		auto old = std::make_shared<Fd>(std::move(cur.fd));
		txn->on_undo([outer, old, slot = g.slot] {
			uint32_t fd = static_cast<uint32_t>(old->get());
			(void)bpf_map_update_elem(outer->get(), &slot, &fd, BPF_ANY);
		});
	}
	out.devmap = std::move(fresh);
	out.swapped = true;
	out.max_entries = size;
	return out;
}

} // namespace

std::optional<uint32_t> group_key(int devmap_fd, uint32_t ifindex)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(devmap_fd, &info, &len))
		return std::nullopt;
	if (!dense(info)) {
		bpf_devmap_val v{};
		return bpf_map_lookup_elem(devmap_fd, &ifindex, &v) == 0 ? std::optional(ifindex) : std::nullopt;
	}
	for (const auto &e : read_entries(devmap_fd))
		if (e.val.ifindex == ifindex)
			return e.key;
	return std::nullopt;
}

Result<GroupChange> group_add(const DevmapGroup &g, const std::vector<GroupPort> &ports, size_t batch_threshold,
			      Txn *txn)
{
	auto cur = current(g);
	if (!cur)
		return std::unexpected(cur.error());
	const bool slots = dense(cur->info);
	auto key_of = [&](uint32_t ifindex) -> std::optional<uint32_t> {
		for (const auto &e : cur->entries)
			if ((slots ? e.val.ifindex : e.key) == ifindex)
				return e.key;
		return std::nullopt;
	};
	size_t fresh = 0;
	for (const auto &p : ports)
		fresh += !key_of(p.ifindex);
	size_t count = cur->entries.size() + fresh;
	if (count > XDPCTL_DEVMAP_MAX_ENTRIES)
		return fail(E2BIG, "group", g.name,
			    "would hold " + std::to_string(count) + " ports; a group holds at most " +
				    std::to_string(XDPCTL_DEVMAP_MAX_ENTRIES) + "; remove ports first");

	auto write_of = [&](uint32_t key, const GroupPort &p, bool replaced) {
		return DevmapWrite{g.name, key, p.ifindex, prog_id(p.prog_fd), replaced, slots};
	};
	GroupChange out;
	if (count <= cur->info.max_entries) {
		std::set<uint32_t> used;
		for (const auto &e : cur->entries)
			used.insert(e.key);
		uint32_t next_free = 0;
		std::vector<DevmapEntryWrite> es;
		for (const auto &p : ports) {
			auto k = key_of(p.ifindex);
			uint32_t key = p.ifindex;
			if (k)
				key = *k;
			else if (slots) {
				while (used.contains(next_free))
					next_free++;
				key = next_free;
				used.insert(key);
			}
			es.push_back({key, p.ifindex, p.prog_fd});
			out.writes.push_back(write_of(key, p, k.has_value()));
		}
		if (auto st = devmap_write(cur->fd.get(), g.name, es, batch_threshold, txn); !st)
			return std::unexpected(st.error());
		out.devmap = std::move(cur->fd);
		out.max_entries = cur->info.max_entries;
		return out;
	}

	// Outgrown: every member, old ones in key order (a DEVMAP's slots compacted), then the new.
	std::vector<Member> members;
	for (const auto &e : cur->entries) {
		auto it = std::find_if(ports.begin(), ports.end(), [&](const auto &p) {
			return p.ifindex == (slots ? e.val.ifindex : e.key);
		});
		if (it == ports.end())
			members.push_back(member_of(e.val));
		else
			members.push_back({it->ifindex, std::make_shared<Fd>(it->prog_fd >= 0 ? fcntl(it->prog_fd, F_DUPFD_CLOEXEC, 0) : -1)});
	}
	for (const auto &p : ports)
		if (!key_of(p.ifindex))
			members.push_back({p.ifindex, std::make_shared<Fd>(p.prog_fd >= 0 ? fcntl(p.prog_fd, F_DUPFD_CLOEXEC, 0) : -1)});
	auto sw = swap_in(g, *cur, members, group_devmap_size(count), batch_threshold, txn);
	if (!sw)
		return std::unexpected(sw.error());
	for (const auto &p : ports) {
		auto it = std::find_if(members.begin(), members.end(), [&](const auto &m) { return m.ifindex == p.ifindex; });
		uint32_t key = slots ? static_cast<uint32_t>(it - members.begin()) : p.ifindex;
		sw->writes.push_back(write_of(key, p, key_of(p.ifindex).has_value()));
	}
	return sw;
}

Result<GroupChange> group_del(const DevmapGroup &g, const std::vector<uint32_t> &ifindexes, Txn *txn)
{
	auto cur = current(g);
	if (!cur)
		return std::unexpected(cur.error());
	const bool slots = dense(cur->info);
	std::vector<uint32_t> keys;
	std::vector<Member> rest;
	GroupChange out;
	for (const auto &e : cur->entries) {
		uint32_t ifindex = slots ? e.val.ifindex : e.key;
		if (std::find(ifindexes.begin(), ifindexes.end(), ifindex) == ifindexes.end()) {
			rest.push_back(member_of(e.val));
			continue;
		}
		keys.push_back(e.key);
		out.writes.push_back({g.name, e.key, e.val.ifindex, 0, false, slots});
	}
	uint32_t size = group_devmap_size(rest.size());
	if (!keys.empty() && size * 4 <= cur->info.max_entries) {
		auto sw = swap_in(g, *cur, rest, size, 8, txn);
		if (!sw)
			return std::unexpected(sw.error());
		sw->writes = std::move(out.writes);
		return sw;
	}
	if (auto st = devmap_delete(cur->fd.get(), g.name, keys, txn); !st)
		return std::unexpected(st.error());
	out.devmap = std::move(cur->fd);
	out.max_entries = cur->info.max_entries;
	return out;
}

} // namespace xdpctl
