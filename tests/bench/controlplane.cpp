// Control plane: what the library and the CLI cost against the floor of doing the same with
// bare libbpf or the tool people use today, in the same run, interleaved.
//
//   load+attach       xdpctl::load (one xdp_pass instance per interface, links and counters
//                     pinned) onto 1, 64 and 1,000 veths, against a bare libbpf loader doing
//                     one load per interface (skeleton open+load, bpf_link_create) and against
//                     one load shared by every interface (one program, a bpf_link each: the
//                     floor, which keeps no per-interface counters); and the CLI against
//                     `bpftool prog load` + `bpftool net attach` of the same object
//   devmap fill       xdpctl::devmap_write into a DEVMAP_HASH against a loop of
//                     bpf_map_update_elem: devmaps have no batch op (bpf_map_update_batch is
//                     tried once and its errno recorded), so the element loop is the floor
//   XDP_STATS dump    the control map (user backend: get_next_key + lookup over every netdev)
//                     against `ip -s -j link show` over the same devices
//   ctl stats memory  peak RSS (ru_maxrss, through bench_rss.c) of `xdpctl ctl stats -j` against
//                     `ip -s -j link show`, both over the same devices
//   stats memory      peak RSS of `xdpctl stats -j` watching 1,000 devices that run xdp_pass,
//                     against bench_stats_reader.c, a bare libbpf reader of the same pinned maps
//                     (and `ip -s -j link show` over them in `extra`)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "bench.hpp"
#include "bpffs_dir.hpp"
#include "netns.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/skeleton.hpp"

namespace bench {
namespace {

// veth pairs bench<i>a/bench<i>b, up, created through one `ip -batch` (fast enough for 1,000).
void add_veths(xt::NetNs &ns, int pairs)
{
	std::string path = "/tmp/xdpctl-bench-veths-" + std::to_string(getpid());
	{
		std::ofstream f(path);
		for (int i = 0; i < pairs; i++)
			f << "link add bench" << i << "a up type veth peer name bench" << i << "b\n"
			  << "link set bench" << i << "b up\n";
	}
	std::string o;
	int rc = xt::sh(ns.exec() + "ip -batch " + path, &o);
	unlink(path.c_str());
	if (rc)
		throw std::runtime_error("creating " + std::to_string(pairs) + " veth pairs: " + o);
}

std::vector<std::string> names(int pairs)
{
	std::vector<std::string> v;
	for (int i = 0; i < pairs; i++)
		v.push_back("bench" + std::to_string(i) + "a");
	return v;
}

double ms_since(double t0)
{
	return (now_ns() - t0) / 1e6;
}

xdpctl::Fd xdp_link(int prog_fd, const std::string &ifname)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
	int fd = bpf_link_create(prog_fd, static_cast<int>(if_nametoindex(ifname.c_str())), BPF_XDP, &lo);
	if (fd < 0)
		throw std::runtime_error("bpf_link_create " + ifname + ": " + strerror(-fd));
	return xdpctl::Fd(fd);
}

// The baselines of load+attach: what a bare libbpf loader does, nothing pinned.
enum class LoadBaseline {
	PerInterface, // skeleton open+load and bpf_link_create, per interface
	Shared,       // one skeleton open+load, then bpf_link_create per interface
};

// Figure 1: ours = xdpctl::load of xdp_pass onto every interface of ifs at once. Detaching is
// outside the timed part, for both sides (closing the baseline's links and objects, unload for
// ours).
Figure load_attach(int rounds, const std::string &name, const std::vector<std::string> &ifs, LoadBaseline b)
{
	Figure f{.group = "controlplane", .name = name, .unit = "ms",
		 .how = std::to_string(ifs.size()) + " veth(s), xdp_pass native, one xdpctl::load for all of them"};
	f.ours.what = "xdpctl::load (an instance per interface; links and counters pinned on bpffs)";
	f.baseline.what = b == LoadBaseline::PerInterface
				  ? "libbpf: skeleton open+load, bpf_link_create, per interface"
				  : "libbpf: one skeleton open+load shared by all, bpf_link_create per interface (no per-interface counters)";
	interleave(
		rounds, f,
		[&] {
			double t0 = now_ns();
			auto r = xdpctl::load({.program = {.name_or_path = "xdp_pass"}, .interfaces = ifs});
			double ms = ms_since(t0);
			if (!r)
				throw std::runtime_error("xdpctl::load: " + r.error().message());
			if (auto u = xdpctl::unload(ifs); !u)
				throw std::runtime_error("xdpctl::unload: " + u.error().message());
			return ms;
		},
		[&] {
			std::vector<xdpctl::Skel<xdp_pass>> skels;
			std::vector<xdpctl::Fd> links;
			double t0 = now_ns();
			for (const auto &i : ifs) {
				if (b == LoadBaseline::PerInterface || skels.empty()) {
					auto s = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
					if (!s)
						throw std::runtime_error(s.error().message());
					skels.push_back(std::move(*s));
				}
				links.push_back(xdp_link(bpf_program__fd(skels.back()->progs.xdp_pass_prog), i));
			}
			return ms_since(t0);
		});
	return f;
}

// Figure 2: DEVMAP_HASH fill. Every entry points at the same egress device; keys 1..n.
Figure devmap_fill(const Config &c, uint32_t n, uint32_t ifindex)
{
	Figure f{.group = "controlplane", .name = "DEVMAP_HASH fill", .unit = "ms",
		 .how = std::to_string(n) + " entries, key = 1..n, all to one veth, into an empty map"};
	f.ours.what = "xdpctl::devmap_write (all-or-nothing, batch threshold 8)";
	f.baseline.what = "loop of bpf_map_update_elem";
	std::vector<xdpctl::DevmapEntryWrite> entries;
	std::vector<uint32_t> keys;
	std::vector<struct bpf_devmap_val> vals(n);
	for (uint32_t k = 1; k <= n; k++) {
		entries.push_back({.key = k, .ifindex = ifindex});
		keys.push_back(k);
		vals[k - 1].ifindex = ifindex;
	}
	auto fresh = [&] {
		int fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "bench_fill", sizeof(uint32_t),
					sizeof(struct bpf_devmap_val), n, nullptr);
		if (fd < 0)
			throw std::runtime_error(std::string("DEVMAP_HASH create: ") + strerror(-fd));
		return xdpctl::Fd(fd);
	};
	{
		// the floor the issue names, if the kernel had it
		auto m = fresh();
		uint32_t count = n;
		int err = bpf_map_update_batch(m.get(), keys.data(), vals.data(), &count, nullptr);
		// 524 is the kernel's ENOTSUPP, which libc has no name for
		f.extra["bpf_map_update_batch"] = !err ? std::string("ok")
					     : err == -524 ? std::string("refused: ENOTSUPP (524), devmaps have no batch op")
							   : std::string("refused: ") + strerror(-err);
	}
	interleave(
		c.cp_rounds, f,
		[&] {
			auto m = fresh();
			double t0 = now_ns();
			auto st = xdpctl::devmap_write(m.get(), "bench_fill", entries);
			double ms = ms_since(t0);
			if (!st)
				throw std::runtime_error("devmap_write: " + st.error().message());
			return ms;
		},
		[&] {
			auto m = fresh();
			double t0 = now_ns();
			for (uint32_t i = 0; i < n; i++)
				if (int err = bpf_map_update_elem(m.get(), &keys[i], &vals[i], BPF_ANY))
					throw std::runtime_error(std::string("bpf_map_update_elem: ") + strerror(-err));
			return ms_since(t0);
		});
	return f;
}

// The xdpctl the CLI figures run: XDPCTL_BENCH_XDPCTL when set (to compare two builds of it in
// one run's conditions), else the one built with this runner.
std::string xdpctl_bin()
{
	const char *env = getenv("XDPCTL_BENCH_XDPCTL");
	return env && *env ? env : XDPCTL_BIN;
}

struct ChildRun {
	double ms = 0;
	long maxrss_kib = 0; // 0 unless asked for
};

// Runs argv in the calling thread's namespace with stdout to /dev/null and returns its wall time.
// With rss, it runs under bench_rss (its header says why) and its peak RSS is read from a pipe;
// the time then includes bench_rss's own fork, so figures of time run without it.
ChildRun run_child(const std::vector<std::string> &argv, bool rss = false)
{
	int pfd[2] = {-1, -1};
	if (rss && pipe2(pfd, O_CLOEXEC))
		throw std::runtime_error(std::string("pipe: ") + strerror(errno));
	std::string wfd = std::to_string(pfd[1]);
	std::vector<char *> a;
	if (rss) {
		a.push_back(const_cast<char *>(XDPCTL_BENCH_RSS));
		a.push_back(wfd.data());
	}
	for (const auto &s : argv)
		a.push_back(const_cast<char *>(s.c_str()));
	a.push_back(nullptr);
	double t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		throw std::runtime_error(std::string("fork: ") + strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		if (rss)
			fcntl(pfd[1], F_SETFD, 0); // bench_rss writes the figure here
		execvp(a[0], a.data());
		_exit(127);
	}
	int status = 0;
	struct rusage ru {};
	if (wait4(pid, &status, 0, &ru) < 0)
		throw std::runtime_error(std::string("wait4: ") + strerror(errno));
	ChildRun r{ms_since(t0), 0};
	if (rss) {
		close(pfd[1]);
		char buf[32] = {};
		ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
		close(pfd[0]);
		r.maxrss_kib = n > 0 ? atol(buf) : 0;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (rss && r.maxrss_kib <= 0))
		throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed (status " +
					 std::to_string(status) + ")");
	return r;
}

const std::vector<std::string> kIpLinkStats = {"ip", "-s", "-j", "link", "show"};

// Figure 1b: one interface from the command line: `xdpctl load` against `bpftool prog load` +
// `bpftool net attach` of the same object (the skeleton's own ELF bytes, written to a file).
// Each side's undo (`xdpctl unload`; `bpftool net detach` and the pin removed) is not timed.
Figure load_attach_cli(int rounds, const std::string &ifname, const std::string &bpffs_mount)
{
	Figure f{.group = "controlplane", .name = "load+attach, 1 interface, CLI", .unit = "ms",
		 .how = "1 veth, xdp_pass native, fork+exec of each command, wall time"};
	f.ours.what = "`xdpctl load xdp_pass IFNAME` (link and counters pinned)";
	f.baseline.what = "`bpftool prog load OBJ PIN` + `bpftool net attach xdpdrv pinned PIN dev IFNAME`";
	std::string obj = "/tmp/xdpctl-bench-xdp_pass-" + std::to_string(getpid()) + ".bpf.o";
	{
		size_t sz = 0;
		const void *elf = xdp_pass::elf_bytes(&sz);
		std::ofstream o(obj, std::ios::binary);
		o.write(static_cast<const char *>(elf), static_cast<std::streamsize>(sz));
		if (!o)
			throw std::runtime_error("writing " + obj);
	}
	const std::string pin = bpffs_mount + "/bench_bpftool_prog";
	const std::string bpftool = "bpftool";
	try {
		interleave(
			rounds, f,
			[&] {
				double ms = run_child({xdpctl_bin(), "load", "xdp_pass", ifname}).ms;
				run_child({xdpctl_bin(), "unload", ifname});
				return ms;
			},
			[&] {
				double ms = run_child({bpftool, "prog", "load", obj, pin}).ms;
				ms += run_child({bpftool, "net", "attach", "xdpdrv", "pinned", pin, "dev", ifname}).ms;
				run_child({bpftool, "net", "detach", "xdpdrv", "dev", ifname});
				unlink(pin.c_str());
				return ms;
			});
	} catch (...) {
		unlink(obj.c_str());
		unlink(pin.c_str());
		throw;
	}
	unlink(obj.c_str());
	return f;
}

// Figure 3: XDP_STATS over every netdev of the namespace through the control map, in process.
Figure stats_dump(const Config &c, int devices)
{
	Figure f{.group = "controlplane", .name = "XDP_STATS dump", .unit = "ms",
		 .how = std::to_string(devices) + " veths (+ lo), every netdev of the namespace"};
	f.ours.what = "ControlMap XDP_STATS (user backend): get_next_key + lookup per netdev";
	f.baseline.what = "`ip -s -j link show` (fork+exec, output discarded)";
	size_t seen = 0;
	interleave(
		c.cp_rounds, f,
		[&] {
			double t0 = now_ns();
			auto m = xdpctl::ctl::ControlMap::create(BPF_CTRL_XDP_STATS, xdpctl::ctl::BackendChoice::User);
			if (!m)
				throw std::runtime_error("control map: " + m.error().message());
			std::vector<std::byte> v(m->value_size());
			uint32_t key = 0, next = 0;
			const uint32_t *cur = nullptr;
			seen = 0;
			while (m->get_next_key(cur, &next)) {
				if (auto st = m->lookup(next, v); !st)
					throw std::runtime_error("XDP_STATS lookup: " + st.error().message());
				seen++;
				key = next;
				cur = &key;
			}
			return ms_since(t0);
		},
		[&] { return run_child(kIpLinkStats).ms; });
	f.extra["netdevs_seen"] = seen;
	if (seen < static_cast<size_t>(devices))
		throw std::runtime_error("XDP_STATS walk saw " + std::to_string(seen) + " netdevs of " +
					 std::to_string(devices));
	return f;
}

// Figure 4: peak memory of the CLI over the same devices (KiB; smaller is better, so the ratio
// baseline / ours reads like the time ratios).
Figure stats_memory(const Config &c, int devices)
{
	Figure f{.group = "controlplane", .name = "ctl stats peak RSS", .unit = "KiB",
		 .how = std::to_string(devices) + " veths (+ lo), ru_maxrss of the command (spawned by bench_rss)"};
	f.ours.what = "`xdpctl ctl --backend user stats -j`";
	f.baseline.what = "`ip -s -j link show`";
	interleave(
		c.cp_rounds, f,
		[&] {
			return static_cast<double>(
				run_child({xdpctl_bin(), "ctl", "--backend", "user", "stats", "-j"}, true).maxrss_kib);
		},
		[&] { return static_cast<double>(run_child(kIpLinkStats, true).maxrss_kib); });
	return f;
}

// Figure 5: peak memory of `xdpctl stats` watching every interface of the namespace, all running
// xdp_pass loaded by xdpctl (one xdpctl::load for all of them, once per run), against a bare
// reader of the same pinned counters; `ip -s -j link show` over the same devices for scale.
Figure watch_memory(const Config &c, const std::vector<std::string> &ifs)
{
	const std::string interval = c.smoke ? "0.05" : "0.25", count = c.smoke ? "2" : "4";
	Figure f{.group = "controlplane", .name = "xdpctl stats peak RSS", .unit = "KiB",
		 .how = std::to_string(ifs.size()) + " veths, each running xdp_pass loaded by xdpctl; -i " + interval +
			" -c " + count + "; ru_maxrss of the command (spawned by bench_rss)"};
	f.ours.what = "`xdpctl stats -j -i " + interval + " -c " + count + "` (every interface xdpctl attached to)";
	f.baseline.what = "bench_stats_reader.c: libbpf, each pinned xdpctl_stats read per interval, one line printed";
	double t0 = now_ns();
	auto r = xdpctl::load({.program = {.name_or_path = "xdp_pass"}, .interfaces = ifs});
	if (!r)
		throw std::runtime_error("xdpctl::load onto " + std::to_string(ifs.size()) + " veths: " + r.error().message());
	f.extra["load_ms"] = ms_since(t0);
	auto layout = xdpctl::current_layout();
	if (!layout)
		throw std::runtime_error(layout.error().message());
	const std::string ns_dir = layout->ns_dir();
	std::vector<double> ip_rss;
	interleave(
		c.cp_rounds, f,
		[&] {
			return static_cast<double>(
				run_child({xdpctl_bin(), "stats", "-j", "-i", interval, "-c", count}, true).maxrss_kib);
		},
		[&] {
			ip_rss.push_back(static_cast<double>(run_child(kIpLinkStats, true).maxrss_kib));
			return static_cast<double>(run_child({XDPCTL_BENCH_STATS_READER, ns_dir, std::to_string(ifs.size()),
							      interval, count},
							     true)
							   .maxrss_kib);
		});
	auto ip = spread(ip_rss);
	f.extra["ip_s_j_link_show_KiB"] = {{"median", ip.median}, {"min", ip.min}, {"max", ip.max}};
	return f;
}

} // namespace

void controlplane(const Config &c, std::vector<Figure> &out)
{
	const int attach_many = c.smoke ? 4 : 64;
	const int dump_devices = c.smoke ? 32 : 1000;
	const uint32_t fill = c.smoke ? 256 : 65536;

	xt::BpffsDir bpffs; // xdpctl::load pins links here, never under /sys/fs/bpf
	if (!bpffs.ok())
		throw std::runtime_error("cannot mount a private bpffs");
	xt::NetNs::reap_stale();
	{
		xt::NetNs ns;
		ns.enter();
		add_veths(ns, attach_many);
		auto ifs = names(attach_many);
		out.push_back(load_attach(c.cp_rounds, "load+attach, 1 interface", {ifs[0]}, LoadBaseline::PerInterface));
		out.push_back(load_attach(c.cp_rounds, "load+attach, 1 interface, vs one shared load", {ifs[0]},
					  LoadBaseline::Shared));
		out.push_back(load_attach_cli(c.cp_rounds, ifs[0], bpffs.mount_point()));
		// a round is ~2 x 64 program loads: 3 rounds keep `make bench` within its bound
		out.push_back(load_attach(std::min(c.cp_rounds, 3), "load+attach, 64 interfaces", ifs, LoadBaseline::PerInterface));
		out.push_back(load_attach(std::min(c.cp_rounds, 3), "load+attach, 64 interfaces, vs one shared load", ifs,
					  LoadBaseline::Shared));
		out.push_back(devmap_fill(c, fill, if_nametoindex(ifs[0].c_str())));
	}
	{
		// 1,000 devices = 500 pairs, both ends in the namespace
		xt::NetNs ns;
		ns.enter();
		add_veths(ns, dump_devices / 2);
		out.push_back(stats_dump(c, dump_devices));
		out.push_back(stats_memory(c, dump_devices));
		std::vector<std::string> all;
		for (int i = 0; i < dump_devices / 2; i++)
			for (const char *end : {"a", "b"})
				all.push_back("bench" + std::to_string(i) + end);
		// a round is seconds (1,000 loads and as many detaches on each side)
		out.push_back(load_attach(std::min(c.cp_rounds, 3), "load+attach, 1,000 interfaces", all, LoadBaseline::PerInterface));
		out.push_back(load_attach(std::min(c.cp_rounds, 3), "load+attach, 1,000 interfaces, vs one shared load", all,
					  LoadBaseline::Shared));
		// last: it attaches xdp_pass to every device (they go with the namespace)
		out.push_back(watch_memory(c, all));
	}
}

} // namespace bench
