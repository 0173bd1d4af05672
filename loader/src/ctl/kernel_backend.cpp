// The kernel backend: the proposal's syscall API for real, served by the bpf_ctlmap module
// (kmod/). The control map is an ordinary BPF_MAP_CREATE(HASH, key 4, value = the type's struct)
// with map_ifindex = the module's control netdev of this type in the calling thread's network
// namespace (ctl_xdp_stats, ctl_xdp_attr, ctl_xdp_md); get_next_key, lookup and update are
// bpf_map_get_next_key/lookup_elem/update_elem on it, answered by the module's bpf_map_dev_ops.
// The values' BTF is the module's (/sys/kernel/btf/bpf_ctlmap, split over vmlinux).
//
// What a module cannot know, this side adds to the module's answer, the same way the user-space
// backend finds it (shared.cpp): the per-action counters of xdpctl's pinned maps and the
// monitor's error counts (XDP_STATS), the metadata program's BTF ids and size (XDP_MD). SETUP_MD
// attaches a program, which a module cannot load: it is delegated to the loader, while lookups
// still come from the module.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "shared.hpp"
#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/fd.hpp"

namespace xdpctl::ctl {
namespace {

constexpr const char *kModuleBtf = "/sys/kernel/btf/bpf_ctlmap";
constexpr const char *kCtlDev[] = {nullptr, "ctl_xdp_stats", "ctl_xdp_attr", "ctl_xdp_md"};
// The module reads programs, rings and channels under rtnl taken with a bounded trylock; an
// update that could not have it answers EAGAIN, so retry a few times before giving up.
constexpr int kEagainRetries = 20;

using BtfPtr = std::unique_ptr<struct btf, decltype(&btf__free)>;

std::string ifobj(uint32_t ifindex)
{
	return "ifindex " + std::to_string(ifindex);
}

Result<Fd> create_ctl_map(uint32_t type)
{
	const char *dev = kCtlDev[type];
	uint32_t ifindex = if_nametoindex(dev);
	if (!ifindex)
		return fail(ENODEV, "open kernel backend", dev,
			    "the bpf_ctlmap module is loaded but this network namespace has no control netdev " +
				    std::string(dev));
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_ifindex = ifindex);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, dev, sizeof(uint32_t), value_size(type), 1, &o);
	if (fd < 0)
		return fail(errno, "BPF_MAP_CREATE", dev,
			    errno == EPERM ? "control maps need CAP_SYS_ADMIN" : "the module refused the control map");
	return Fd(fd);
}

class KernelBackend final : public Backend {
public:
	KernelBackend(uint32_t type, Fd map, Fd attr, BtfPtr vmlinux, BtfPtr mod)
		: Backend(type), map_(std::move(map)), attr_(std::move(attr)), vmlinux_(std::move(vmlinux)),
		  mod_(std::move(mod))
	{
	}

	std::string_view name() const override { return "kernel (bpf_ctlmap module)"; }

	Status get_next_key(const uint32_t *key, uint32_t *next) override
	{
		if (bpf_map_get_next_key(map_.get(), key, next) == 0)
			return {};
		int e = errno;
		return fail(e, "get_next_key", ctrl_type_name(type_), e == ENOENT ? "no netdev after this one" : "");
	}

	Status lookup(uint32_t ifindex, std::span<std::byte> value) override
	{
		if (auto st = lookup_raw(map_.get(), ifindex, value); !st)
			return st;
		if (type_ == BPF_CTRL_XDP_STATS)
			add_stats(ifindex, value);
		else if (type_ == BPF_CTRL_XDP_MD)
			add_md(value);
		return {};
	}

	Status update(uint32_t ifindex, std::span<const std::byte> value) override
	{
		if (auto st = detail::check_update(type_, ifindex, value); !st)
			return st;
		if (type_ == BPF_CTRL_XDP_MD)
			return setup_md(ifindex, value);
		for (int i = 0;; i++) {
			if (bpf_map_update_elem(map_.get(), &ifindex, value.data(), BPF_ANY) == 0)
				return {};
			if (errno != EAGAIN || i == kEagainRetries)
				break;
			usleep(10000);
		}
		int e = errno;
		const char *why = e == ENOENT	   ? "no netdev with this ifindex in this namespace"
				  : e == EOPNOTSUPP ? "the driver refuses what was asked (ring size or channels it does not have, or no XDP transmit)"
				  : e == EINVAL	   ? "more channels or a larger ring than the device's maximum"
				  : e == EBUSY	   ? "a queue that would go is in use (AF_XDP socket or RSS configuration)"
				  : e == EAGAIN	   ? "rtnl stayed busy; try again"
						   : "";
		return fail(e, "update", ctrl_type_name(type_) + std::string(" ") + ifobj(ifindex), why);
	}

	const struct btf *btf() const override { return mod_.get(); }

	uint32_t value_type_id() const override
	{
		auto id = find_struct(mod_.get(), value_type_name(type_));
		return id ? *id : 0;
	}

private:
	Status lookup_raw(int fd, uint32_t ifindex, std::span<std::byte> value)
	{
		if (bpf_map_lookup_elem(fd, &ifindex, value.data()) == 0)
			return {};
		int e = errno;
		return fail(e, "lookup", ifobj(ifindex), e == ENOENT ? "no netdev with this ifindex in this namespace" : "");
	}

	// The programs attached to the device, as the module's XDP_ATTR says, decide whether a
	// pinned counter map is the device's own.
	void add_stats(uint32_t ifindex, std::span<std::byte> value)
	{
		struct bpf_ctrl_xdp_stats s;
		std::memcpy(&s, value.data(), sizeof(s));
		struct bpf_ctrl_xdp_attr a {};
		if (lookup_raw(attr_.get(), ifindex, std::as_writable_bytes(std::span(&a, 1))) &&
		    (a.avail & BPF_CTRL_ATTR_PROGS))
			detail::add_action_stats(ifindex, detail::distinct_prog_ids({a.skb_prog_id, a.drv_prog_id, a.hw_prog_id}), s);
		detail::add_monitor_stats(ifindex, s);
		std::memcpy(value.data(), &s, sizeof(s));
	}

	static void add_md(std::span<std::byte> value)
	{
		struct bpf_ctrl_xdp_md m;
		std::memcpy(&m, value.data(), sizeof(m));
		if (m.enable_md && m.prog_id)
			detail::add_md_prog(m.prog_id, m);
		std::memcpy(value.data(), &m, sizeof(m));
	}

	Status setup_md(uint32_t ifindex, std::span<const std::byte> value)
	{
		struct bpf_ctrl_xdp_md want, now {};
		std::memcpy(&want, value.data(), sizeof(want));
		if (auto st = lookup(ifindex, std::as_writable_bytes(std::span(&now, 1))); !st)
			return st;
		char name[IF_NAMESIZE] = {};
		if (!if_indextoname(ifindex, name))
			return fail(ENOENT, "SETUP_MD", ifobj(ifindex), "no netdev with this ifindex in this namespace");
		return detail::setup_md(name, now, want.enable_md == 1);
	}

	Fd map_;
	Fd attr_; // an XDP_ATTR map as well, for XDP_STATS (which programs are attached)
	BtfPtr vmlinux_; // base of mod_: freed after it
	BtfPtr mod_;
};

} // namespace

Result<std::unique_ptr<Backend>> open_kernel_backend(uint32_t ctrl_type)
{
	const char *tname = ctrl_type_name(ctrl_type);
	if (!tname)
		return fail(EINVAL, "open kernel backend", "type " + std::to_string(ctrl_type), "unknown control type");
	if (access(kModuleBtf, R_OK) != 0)
		return fail(ENODEV, "open kernel backend", tname, "the bpf_ctlmap module is not loaded");
	BtfPtr vmlinux(btf__load_vmlinux_btf(), btf__free);
	if (!vmlinux)
		return fail(errno ? errno : ENOENT, "load kernel BTF", "vmlinux");
	BtfPtr mod(btf__parse_split(kModuleBtf, vmlinux.get()), btf__free);
	if (!mod)
		return fail(errno ? errno : EINVAL, "parse module BTF", kModuleBtf);
	if (auto id = find_struct(mod.get(), value_type_name(ctrl_type)); !id)
		return fail(ENOENT, "open kernel backend", kModuleBtf,
			    std::string("the module's BTF has no struct ") + value_type_name(ctrl_type));
	auto map = create_ctl_map(ctrl_type);
	if (!map)
		return std::unexpected(map.error());
	Fd attr;
	if (ctrl_type == BPF_CTRL_XDP_STATS) {
		auto a = create_ctl_map(BPF_CTRL_XDP_ATTR);
		if (!a)
			return std::unexpected(a.error());
		attr = std::move(*a);
	}
	return std::make_unique<KernelBackend>(ctrl_type, std::move(*map), std::move(attr), std::move(vmlinux),
					       std::move(mod));
}

} // namespace xdpctl::ctl
