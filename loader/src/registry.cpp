// The program collection. A program of bpf/ becomes loadable by name with one entry below; the
// entries of programs whose skeleton this build does not have are left out at compile time.
#include <algorithm>

#include "xdpctl/registry.hpp"

#include "xdp_pass.skel.h"
#if __has_include("xdp_redirect.skel.h")
#include "xdp_redirect.skel.h"
#define XDPCTL_HAVE_REDIRECT 1
#endif
#if __has_include("xdp_broadcast.skel.h")
#include "xdp_broadcast.skel.h"
#define XDPCTL_HAVE_BROADCAST 1
#endif
#if __has_include("xdp_egress.skel.h")
// the skeleton's rodata port_cfg is a struct xdpctl_egress_port: declared first
#include "xdpctl/egress.h"

#include "xdp_egress.skel.h"
#define XDPCTL_HAVE_EGRESS 1
#endif
#if __has_include("xdp_meta_producer.skel.h")
#include "xdp_meta_producer.skel.h"
#define XDPCTL_HAVE_META_PRODUCER 1
#endif
#if __has_include("xdp_meta_kfunc.skel.h")
#include "xdp_meta_kfunc.skel.h"
#include "xdpctl/meta.hpp"
#define XDPCTL_HAVE_META_KFUNC 1
#endif

namespace xdpctl {

namespace {
#ifdef XDPCTL_HAVE_META_KFUNC
// As open_skeleton_object, with the RX metadata kfuncs the kernel lacks switched off (6.3-6.7
// have no rx_vlan_tag): left on, the verifier refuses the unresolved call and the load fails.
Result<Object> open_meta_kfunc(const std::string &name)
{
	auto s = open_skel<xdp_meta_kfunc>(name);
	if (!s)
		return std::unexpected(s.error());
	if (auto st = switch_meta_kfuncs(*s); !st)
		return std::unexpected(st.error());
	xdp_meta_kfunc *raw = s->release();
	return Object(raw->obj, [raw] { xdp_meta_kfunc::destroy(raw); }, name);
}
#endif

const std::vector<ProgramSpec> kRegistry = {
	{.name = "xdp_pass", .collection = "xdp_pass", .prog = "xdp_pass_prog",
	 .summary = "pass every frame, counting it (makes a veth peer a ready redirect target)",
	 .if_maps = {"xdpctl_stats"}, .open = open_skeleton_object<xdp_pass>},
#ifdef XDPCTL_HAVE_REDIRECT
	{.name = "xdp_redirect", .collection = "xdp_redirect", .prog = "xdp_redirect_devmap",
	 .summary = "redirect by DEVMAP tx_port, key = ingress ifindex (xdpctl redirect)",
	 .if_maps = {"xdpctl_stats"}, .shared_maps = {"tx_port", "tx_port_hash"},
	 .open = open_skeleton_object<xdp_redirect>},
	{.name = "xdp_redirect_hash", .collection = "xdp_redirect", .prog = "xdp_redirect_devmap_hash",
	 .summary = "redirect by DEVMAP_HASH tx_port_hash, key = ingress ifindex (xdpctl redirect)",
	 .if_maps = {"xdpctl_stats"}, .shared_maps = {"tx_port", "tx_port_hash"},
	 .open = open_skeleton_object<xdp_redirect>},
#endif
#ifdef XDPCTL_HAVE_BROADCAST
	{.name = "xdp_broadcast", .collection = "xdp_broadcast", .prog = "xdp_broadcast_devmap",
	 .summary = "broadcast to the ports of DEVMAP bcast_ports, sized to the group (xdpctl broadcast)",
	 .if_maps = {"xdpctl_stats"}, .shared_maps = {"bcast_ports", "bcast_ports_hash", "bcast_group", "bcast_group_hash"},
	 .open = open_skeleton_object<xdp_broadcast>},
	{.name = "xdp_broadcast_hash", .collection = "xdp_broadcast", .prog = "xdp_broadcast_devmap_hash",
	 .summary = "broadcast to the ports of DEVMAP_HASH bcast_ports_hash, sized to the group (xdpctl broadcast)",
	 .if_maps = {"xdpctl_stats"}, .shared_maps = {"bcast_ports", "bcast_ports_hash", "bcast_group", "bcast_group_hash"},
	 .open = open_skeleton_object<xdp_broadcast>},
	{.name = "xdp_multicast", .collection = "xdp_broadcast", .prog = "xdp_multicast",
	 .summary = "multicast: destination MAC -> group devmap (xdpctl multicast)",
	 // the MAC table and the arrays of group devmaps are the namespace's, like the devmaps: a
	 // second interface's instance reuses the pinned ones (libbpf then skips presetting slots)
	 .if_maps = {"xdpctl_stats"},
	 .shared_maps = {"bcast_ports", "bcast_ports_hash", "bcast_group", "bcast_group_hash", "mcast_groups", "mcast_macs"},
	 .open = open_skeleton_object<xdp_broadcast>},
#endif
#ifdef XDPCTL_HAVE_EGRESS
	{.name = "xdp_egress", .collection = "xdp_egress", .prog = "xdp_egress",
	 .summary = "devmap egress program, one instance per port: MAC rewrite, VLAN push/pop, counters (--egress)",
	 .kind = ProgKind::DevmapEgress, .open = open_skeleton_object<xdp_egress>},
	{.name = "xdp_egress_frags", .collection = "xdp_egress", .prog = "xdp_egress_frags",
	 .summary = "xdp_egress for multi-buffer (frags) devmaps (--egress)",
	 .kind = ProgKind::DevmapEgress, .open = open_skeleton_object<xdp_egress>},
#endif
#ifdef XDPCTL_HAVE_META_PRODUCER
	{.name = "xdp_meta_producer", .collection = "xdp_meta_producer", .prog = "xdp_meta_producer",
	 .summary = "write struct xdpctl_meta into data_meta for TC/AF_XDP consumers",
	 .if_maps = {"xdpctl_stats"}, .open = open_skeleton_object<xdp_meta_producer>},
#endif
#ifdef XDPCTL_HAVE_META_KFUNC
	{.name = "xdp_meta_kfunc", .collection = "xdp_meta_kfunc", .prog = "xdp_meta_kfunc",
	 .summary = "device-bound: RX hash/timestamp/VLAN through the metadata kfuncs",
	 .dev_bound = true, .if_maps = {"xdpctl_stats"},
	 .open = open_meta_kfunc},
#endif
};

bool wanted_kind(const bpf_program *p, ProgKind want)
{
	if (bpf_program__type(p) != BPF_PROG_TYPE_XDP)
		return false;
	auto at = bpf_program__expected_attach_type(p);
	return want == ProgKind::DevmapEgress ? at == BPF_XDP_DEVMAP : at != BPF_XDP_DEVMAP && at != BPF_XDP_CPUMAP;
}

std::string known_names()
{
	std::string s;
	for (const auto &e : kRegistry)
		s += (s.empty() ? "" : ", ") + e.name;
	return s;
}
} // namespace

std::span<const ProgramSpec> registry()
{
	return kRegistry;
}

const ProgramSpec *find_program(const std::string &name)
{
	auto it = std::find_if(kRegistry.begin(), kRegistry.end(), [&](const auto &e) { return e.name == name; });
	return it == kRegistry.end() ? nullptr : &*it;
}

bool ProgramSource::is_file() const
{
	const auto &s = name_or_path;
	return s.find('/') != std::string::npos || (s.size() > 2 && s.ends_with(".o"));
}

Result<ResolvedProgram> resolve_program(const ProgramSource &src, ProgKind want)
{
	const char *kind_word = want == ProgKind::DevmapEgress ? "devmap egress (SEC(\"xdp/devmap\"))" : "XDP (SEC(\"xdp\"))";
	if (!src.is_file()) {
		const ProgramSpec *spec = find_program(src.name_or_path);
		if (!spec)
			return fail(ENOENT, "program", src.name_or_path,
				    "unknown program; known: " + known_names() + ", or give an object file path");
		if (spec->kind != want)
			return fail(EINVAL, "program", spec->name,
				    std::string("is not a ") + kind_word + " program; see xdpctl load --list");
		auto obj = spec->open(spec->name);
		if (!obj)
			return std::unexpected(obj.error());
		bpf_program *prog = obj->program(spec->prog);
		if (!prog)
			return fail(ENOENT, "program", spec->name, "skeleton " + spec->collection + " has no program " + spec->prog);
		bpf_program *p = nullptr;
		bpf_object__for_each_program(p, obj->get())
			bpf_program__set_autoload(p, p == prog);
		std::vector<std::string> shared = spec->shared_maps;
		// devmaps are always per namespace (rules and groups span interfaces); xdp_egress has
		// an instance per egress port whose counters are that port's, so none of its maps is
		bpf_map *m = nullptr;
		bpf_object__for_each_map(m, obj->get()) {
			auto t = bpf_map__type(m);
			bool share = t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH;
			if (share && !bpf_map__is_internal(m) &&
			    std::find(shared.begin(), shared.end(), bpf_map__name(m)) == shared.end())
				shared.emplace_back(bpf_map__name(m));
		}
		return ResolvedProgram{std::move(*obj), prog, spec->name, spec->if_maps, std::move(shared), spec->kind,
				       spec->dev_bound};
	}

	auto obj = open_object_file(src.name_or_path);
	if (!obj)
		return std::unexpected(obj.error());
	bpf_program *prog = nullptr;
	if (!src.prog.empty()) {
		prog = obj->program(src.prog);
		if (!prog)
			return fail(ENOENT, "program", src.prog, "not in " + src.name_or_path);
		if (!wanted_kind(prog, want))
			return fail(EINVAL, "program", src.prog, std::string("is not a ") + kind_word + " program");
	} else {
		bpf_program *p = nullptr;
		bpf_object__for_each_program(p, obj->get())
			if (!prog && wanted_kind(p, want))
				prog = p;
		if (!prog)
			return fail(ENOENT, "open", src.name_or_path,
				    std::string("the object has no ") + kind_word + " program; build one with that section");
	}
	bpf_program *p = nullptr;
	bpf_object__for_each_program(p, obj->get())
		bpf_program__set_autoload(p, p == prog);

	// An object file does not say which maps are shared: devmaps are, and every map of an egress
	// program (loaded once per egress port, its instances share its maps: what it configures or
	// counts is the namespace's); the rest belong to the interface.
	ResolvedProgram r{std::move(*obj), prog, bpf_program__name(prog), {}, {}, want, false};
	bpf_map *m = nullptr;
	bpf_object__for_each_map(m, r.obj.get()) {
		if (bpf_map__is_internal(m))
			continue;
		auto t = bpf_map__type(m);
		bool shared = want == ProgKind::DevmapEgress || t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH;
		(shared ? r.shared_maps : r.if_maps).emplace_back(bpf_map__name(m));
	}
	return r;
}

} // namespace xdpctl
