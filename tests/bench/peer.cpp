// The peer section (`--only peer`, and part of `make bench` when XDP_BENCH names an xdp-bench
// binary): xdpctl as a user runs it against xdp-bench (xdp-tools) doing the same job on the same
// live pipeline (pipe.hpp), interleaved in one run. Each round sets its side up on d0 from
// nothing and tears it down after (neither is timed): ours with xdpctl::load and the verb's
// library call in a private bpffs, as `xdpctl load` + `xdpctl redirect add` / `broadcast add`;
// the peer by starting `xdp-bench COMMAND ...` in netns dut, waiting until every interface it
// names has its program, and stopping it with SIGINT as its users do. xdp-bench attaches its
// program to the egress interfaces too (they receive nothing here) and counts every frame in
// its program, as ours do with counters on.
//
// Debian's xdp-tools (1.3.1 in bookworm) cannot run on a current kernel (its xdp-bench needs the
// xdp_redirect_map_err tracepoint, which this project's 6.18 host kernel lacks); docs/bench.md
// says how to build 1.6.3. Without XDP_BENCH the section measures nothing and the table says why.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "bench.hpp"
#include "bpffs_dir.hpp"
#include "pipe.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/loader.hpp"

namespace bench {
namespace {

// The program attached to ifindex in the calling thread's namespace, 0 for none.
uint32_t xdp_prog_id(uint32_t ifindex)
{
	uint32_t id = 0;
	if (bpf_xdp_query_id(static_cast<int>(ifindex), 0, &id))
		return 0;
	return id;
}

// Waits up to 5 s for every interface in ifs (names in the calling thread's namespace) to have
// an XDP program (attached = true) or none (false).
bool wait_attached(const std::vector<std::string> &ifs, bool attached)
{
	for (int i = 0; i < 500; i++) {
		bool all = true;
		for (const auto &n : ifs)
			all = all && ((xdp_prog_id(if_nametoindex(n.c_str())) != 0) == attached);
		if (all)
			return true;
		usleep(10000);
	}
	return false;
}

// One xdp-bench process in the calling thread's network namespace, stopped with SIGINT.
class PeerRun {
public:
	// bpffs: where its libxdp may pin (LIBXDP_BPFFS), the runner's private one: libxdp would
	// otherwise make /sys/fs/bpf/xdp on the host and leave it there.
	PeerRun(const std::string &bin, const std::vector<std::string> &args, const std::vector<std::string> &ifs,
		const std::string &bpffs)
		: ifs_(ifs)
	{
		std::vector<char *> a{const_cast<char *>(bin.c_str())};
		for (const auto &s : args)
			a.push_back(const_cast<char *>(s.c_str()));
		a.push_back(nullptr);
		// the environment is made before fork: the child of a threaded process only execs
		std::vector<std::string> env{"LIBXDP_BPFFS=" + bpffs};
		for (char **e = environ; *e; e++)
			if (!std::string_view(*e).starts_with("LIBXDP_BPFFS="))
				env.emplace_back(*e);
		std::vector<char *> envp;
		for (auto &e : env)
			envp.push_back(e.data());
		envp.push_back(nullptr);
		pid_ = fork();
		if (pid_ < 0)
			throw std::runtime_error(std::string("fork: ") + strerror(errno));
		if (pid_ == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			execve(a[0], a.data(), envp.data());
			_exit(127);
		}
		if (!wait_attached(ifs_, true)) {
			stop();
			throw std::runtime_error(bin + " " + args[0] + ": no program on every interface after 5 s");
		}
		usleep(100000); // its maps are written once the programs are attached
	}
	~PeerRun() { stop(); }
	PeerRun(const PeerRun &) = delete;
	PeerRun &operator=(const PeerRun &) = delete;

	void stop()
	{
		if (pid_ <= 0)
			return;
		kill(pid_, SIGINT);
		int status = 0;
		for (int i = 0; i < 500 && waitpid(pid_, &status, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(pid_, &status, WNOHANG) == 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, &status, 0);
		}
		pid_ = -1;
		if (!wait_attached(ifs_, false))
			throw std::runtime_error("xdp-bench left a program attached");
	}

private:
	pid_t pid_ = -1;
	std::vector<std::string> ifs_;
};

template <class T>
void must(const xdpctl::Result<T> &r, const std::string &what)
{
	if (!r)
		throw std::runtime_error(what + ": " + r.error().message());
}

} // namespace

void peer(const Config &c, std::vector<Figure> &out)
{
	const char *bin_env = getenv("XDP_BENCH");
	if (!bin_env || !*bin_env) {
		note_not_measured("xdpctl against xdp-bench rows (xdpctl_bench --only peer)",
				  "XDP_BENCH does not name an xdp-bench binary (docs/bench.md: build xdp-tools 1.6.3)");
		return;
	}
	const std::string bin = bin_env;
	if (access(bin.c_str(), X_OK))
		throw std::runtime_error("XDP_BENCH=" + bin + ": not an executable file");

	xt::NetNs::reap_stale();
	Pipe pipe(c.smoke);
	xt::BpffsDir bpffs;
	if (!bpffs.ok())
		throw std::runtime_error("cannot mount a private bpffs");
	const std::vector<std::string> ports = {"t0", "t1", "t2", "t3"};

	struct PeerPath {
		const char *name;
		std::string ours_what, peer_what;
		std::function<void()> ours_up; // in dut, d0 free
		std::vector<std::string> peer_args, peer_ifs;
		bool delivers;
	};
	const std::vector<PeerPath> paths = {
		{"pass", "`xdpctl load xdp_pass d0`", "`xdp-bench pass d0`",
		 [] { must(xdpctl::load({.program = {.name_or_path = "xdp_pass"}, .interfaces = {"d0"}}), "xdpctl load xdp_pass"); },
		 {"pass", "-i", "3600", "d0"}, {"d0"}, false},
		{"redirect", "`xdpctl load xdp_redirect d0` + `xdpctl redirect add d0 t0`", "`xdp-bench redirect-map d0 t0`",
		 [] {
			 must(xdpctl::load({.program = {.name_or_path = "xdp_redirect"}, .interfaces = {"d0"}}),
			      "xdpctl load xdp_redirect");
			 must(xdpctl::redirect_add({{"d0", "t0", {}}}, {.ready = xdpctl::ReadyPolicy::Refuse}),
			      "xdpctl redirect add d0 t0");
		 },
		 {"redirect-map", "-i", "3600", "d0", "t0"}, {"d0", "t0"}, true},
		{"broadcast 4 ports", "`xdpctl load xdp_broadcast d0` + `xdpctl broadcast add t0 t1 t2 t3`",
		 "`xdp-bench redirect-multi d0 t0 t1 t2 t3` (d0 excluded as the ingress)",
		 [&] {
			 must(xdpctl::load({.program = {.name_or_path = "xdp_broadcast"}, .interfaces = {"d0"}}),
			      "xdpctl load xdp_broadcast");
			 must(xdpctl::broadcast_add(ports, std::nullopt, {.ready = xdpctl::ReadyPolicy::Refuse}),
			      "xdpctl broadcast add");
		 },
		 {"redirect-multi", "-i", "3600", "d0", "t0", "t1", "t2", "t3"}, {"d0", "t0", "t1", "t2", "t3"}, true},
	};

	pipe.dut.enter();
	try {
		for (const auto &p : paths) {
			for (int threads : {1, 2}) {
				std::string suffix = ", " + std::to_string(threads) + " gen thread(s)";
				Figure proc{.group = "peer", .name = "vs xdp-bench: " + std::string(p.name) + " processed" + suffix,
					    .unit = "Mpps"};
				Figure del{.group = "peer", .name = "vs xdp-bench: " + std::string(p.name) + " delivered" + suffix,
					   .unit = "Mpps"};
				for (Figure *f : {&proc, &del}) {
					f->how = "the live pipeline (g0 -> d0 -> t0..t3), 64-byte frames, " + std::to_string(threads) +
						 " x " + std::to_string(pipe.repeat) +
						 " live test-run frames, wall time; each side set up before and torn down after its round";
					f->higher_is_better = true;
					f->ours.what = p.ours_what;
					f->baseline.what = p.peer_what + " (" + bin + ")";
				}
				auto ours = [&] {
					p.ours_up();
					auto r = pipe.run(threads);
					must(xdpctl::unload({"d0"}), "xdpctl unload d0");
					del.ours.samples.push_back(r.delivered);
					return r.processed;
				};
				auto theirs = [&] {
					PeerRun run(bin, p.peer_args, p.peer_ifs, bpffs.mount_point());
					auto r = pipe.run(threads);
					run.stop();
					del.baseline.samples.push_back(r.delivered);
					return r.processed;
				};
				ours(); // warm-up: rings, page pools
				del.ours.samples.clear();
				interleave(c.pipe_rounds, proc, ours, theirs);
				out.push_back(std::move(proc));
				if (p.delivers)
					out.push_back(std::move(del));
			}
		}
	} catch (...) {
		pipe.dut.leave();
		throw;
	}
	pipe.dut.leave();
}

} // namespace bench
