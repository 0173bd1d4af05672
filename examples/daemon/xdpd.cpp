// xdpd: libxdpctl embedded in a small daemon. It loads an XDP program onto interfaces, says what
// runs there, prints the program's per-action counters every interval, and on SIGTERM or SIGINT
// detaches everything it attached, leaving nothing pinned.
//
//   xdpd [-i MILLISECONDS] PROGRAM IFNAME...
//
// PROGRAM is a program of the collection (`xdpctl load --list`) or a BPF object file. Run it as
// root, in the network namespace of the interfaces (nsenter --net=...); pins go under
// $XDPCTL_BPFFS (default /sys/fs/bpf/xdpctl), where `xdpctl status` sees them too.
//
// Output, one fact per line (what the install test, tests/scripts/install_tree.sh, reads):
//   loaded PROG on IFNAME prog_id N link_id N
//   status IFNAME PROG MODE owned|foreign        (every interface with an XDP program; PROG is
//                                                the kernel's name of the program)
//   ready
//   counters IFNAME ACTION packets N bytes N      (each interval that changed them; non-zero only)
//   unloaded IFNAME
#include <poll.h>
#include <sys/signalfd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <xdpctl/live_stats.hpp>
#include <xdpctl/loader.hpp>
#include <xdpctl/status.hpp>
#include <xdpctl/version.hpp>

namespace {
int die(const xdpctl::Error &e)
{
	std::fprintf(stderr, "xdpd: %s\n", e.message().c_str());
	return 1;
}

void print_counters(const xdpctl::StatsSample &s, std::vector<uint64_t> &last)
{
	last.resize(s.interfaces.size());
	for (size_t n = 0; n < s.interfaces.size(); n++) {
		const auto &i = s.interfaces[n];
		uint64_t total = 0;
		for (const auto &c : i.xdp)
			total += c.packets;
		if (total == last[n])
			continue;
		last[n] = total;
		for (size_t a = 0; a < i.xdp.size(); a++)
			if (i.xdp[a].packets)
				std::printf("counters %s %s packets %llu bytes %llu\n", i.ifname.c_str(),
					    xdpctl::kXdpActionNames[a], (unsigned long long)i.xdp[a].packets,
					    (unsigned long long)i.xdp[a].bytes);
	}
	std::fflush(stdout);
}
} // namespace

int main(int argc, char **argv)
{
	int interval_ms = 1000;
	std::vector<std::string> args(argv + 1, argv + argc);
	if (args.size() >= 2 && args[0] == "-i") {
		interval_ms = std::atoi(args[1].c_str());
		args.erase(args.begin(), args.begin() + 2);
	}
	if (args.size() < 2 || interval_ms <= 0) {
		std::fprintf(stderr, "usage: xdpd [-i MILLISECONDS] PROGRAM IFNAME... (libxdpctl %s)\n", XDPCTL_VERSION);
		return 2;
	}

	// Signals arrive through a descriptor, so the loop below waits for them and the interval at
	// once, and the teardown runs in normal context, not in a handler.
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, nullptr);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		std::perror("xdpd: signalfd");
		return 1;
	}

	xdpctl::LoadRequest req;
	req.program.name_or_path = args[0];
	req.interfaces.assign(args.begin() + 1, args.end());
	auto loaded = xdpctl::load(req); // all or nothing
	if (!loaded)
		return die(loaded.error());
	for (const auto &a : *loaded)
		std::printf("loaded %s on %s prog_id %u link_id %u\n", a.prog.c_str(), a.ifname.c_str(), a.prog_id,
			    a.link_id);

	int rc = 0;
	if (auto st = xdpctl::status(); st) {
		for (const auto &i : st->interfaces)
			if (i.prog_id)
				std::printf("status %s %s %s %s\n", i.name.c_str(), i.prog.c_str(), xdpctl::to_string(i.mode),
				    i.owned ? "owned" : "foreign");
	} else {
		rc = die(st.error());
	}

	auto reader = xdpctl::StatsReader::open(req.interfaces);
	if (!reader)
		rc = die(reader.error());
	std::printf("ready\n");
	std::fflush(stdout);

	std::vector<uint64_t> last;
	for (bool stop = rc != 0; !stop;) {
		pollfd p{.fd = sfd, .events = POLLIN, .revents = 0};
		if (poll(&p, 1, interval_ms) > 0) {
			signalfd_siginfo si;
			stop = read(sfd, &si, sizeof(si)) == sizeof(si);
		}
		auto s = reader->sample();
		if (!s) {
			rc = die(s.error());
			break;
		}
		print_counters(*s, last);
	}

	auto gone = xdpctl::unload(req.interfaces);
	if (!gone)
		return die(gone.error());
	for (const auto &d : *gone)
		std::printf("unloaded %s\n", d.ifname.c_str());
	return rc;
}
