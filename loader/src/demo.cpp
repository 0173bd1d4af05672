// xdpctl::demo::run: see demo.hpp for the topology. Everything the demo makes is made in two
// namespaces of its own, so tearing down is: detach and unpin through the library (unload_all in
// the switch namespace), then delete both namespaces, which takes every veth with it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fmt/core.h>
#include <set>
#include <thread>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/demo.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/nl.hpp"
#include "xdpctl/readiness.hpp"

extern char **environ;

namespace xdpctl::demo {
namespace {

constexpr uint16_t kUnicastPort = 7777, kBroadcastPort = 7778;
constexpr const char *kRxAAddr = "10.77.1.2", *kBroadcastAddr = "10.77.2.255";

// Locally administered MACs that say where a frame has been: 02:58:44:50 is "XDP", then the link.
struct Port {
	const char *sw;      // the switch side
	const char *sw_mac;
	const char *peer;    // rx-* (switch namespace) or gen* (generator namespace)
	const char *peer_mac;
};
constexpr Port kIn{"in0", "02:58:44:50:01:00", "gen0", "02:58:44:50:01:01"};
constexpr Port kBc{"bc0", "02:58:44:50:02:00", "gen1", "02:58:44:50:02:01"};
constexpr std::array<Port, 3> kOut = {{{"out-a", "02:58:44:50:0a:00", "rx-a", "02:58:44:50:0a:01"},
				       {"out-b", "02:58:44:50:0b:00", "rx-b", "02:58:44:50:0b:01"},
				       {"out-c", "02:58:44:50:0c:00", "rx-c", "02:58:44:50:0c:01"}}};

std::string mac_text(const uint8_t *m)
{
	return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

// Runs iproute2's ip with these arguments; its stderr becomes the error's detail.
Status ip(const std::vector<std::string> &args)
{
	std::vector<std::string> all{"ip"};
	all.insert(all.end(), args.begin(), args.end());
	std::vector<char *> argv;
	for (auto &a : all)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return fail(errno, "pipe");
	Fd rd(p[0]), wr(p[1]);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
	// a process group of its own: Ctrl-C reaches xdpctl, which ends the demo between steps and
	// tears down, and not the ip that is half way through a step (or through the teardown)
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, "ip", &fa, &attr, argv.data(), environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	std::string cmd;
	for (auto &a : all)
		cmd += (cmd.empty() ? "" : " ") + a;
	if (rc)
		return fail(rc, cmd, {}, rc == ENOENT ? "iproute2's ip is not in PATH (apt-get install iproute2)" : "");
	wr.reset();
	std::string err;
	char buf[512];
	for (ssize_t n; (n = read(rd.get(), buf, sizeof(buf))) > 0;)
		err.append(buf, static_cast<size_t>(n));
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return {};
	while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
		err.pop_back();
	return std::unexpected(Error{0, cmd, {}, err.empty() ? "failed" : err});
}

// The calling thread inside a named namespace until the guard goes.
class InNs {
public:
	[[nodiscard]] static Result<InNs> enter(const std::string &name)
	{
		Fd saved(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
		if (!saved)
			return fail(errno, "open", "/proc/thread-self/ns/net");
		Fd target(open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
		if (!target)
			return fail(errno, "open netns", name);
		if (setns(target.get(), CLONE_NEWNET))
			return fail(errno, "setns", name);
		return InNs(std::move(saved));
	}
	InNs(InNs &&) = default;
	InNs &operator=(InNs &&) = delete;
	~InNs()
	{
		if (saved_)
			(void)setns(saved_.get(), CLONE_NEWNET);
	}

private:
	explicit InNs(Fd saved) : saved_(std::move(saved)) {}
	Fd saved_;
};

// /proc/sys/net is the opener's namespace: IPv6 off before any link exists, so the kernel sends
// nothing of its own (router solicitations, MLD) through the programs. A kernel without IPv6
// has no such file and nothing to turn off.
void ipv6_off()
{
	for (const char *f : {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
		Fd fd(open(f, O_WRONLY | O_CLOEXEC));
		if (fd)
			(void)!write(fd.get(), "1", 1);
	}
}

// A redirected frame lands in a veth as an skb of a whole page: the default receive buffer
// holds about 50 of them, fewer than the demo sends.
Status big_rcvbuf(int fd)
{
	int size = 16 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		return fail(errno, "SO_RCVBUFFORCE");
	return {};
}

// A receiver's view: every IPv4 frame arriving on one interface (AF_PACKET), counted by UDP
// destination port, with the source MACs it came with.
class Capture {
public:
	[[nodiscard]] static Result<Capture> open(const std::string &ifname)
	{
		auto idx = ifindex_of(ifname);
		if (!idx)
			return std::unexpected(idx.error());
		Fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP)));
		if (!fd)
			return fail(errno, "packet socket", ifname);
		struct sockaddr_ll sll {};
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_IP);
		sll.sll_ifindex = *idx;
		if (bind(fd.get(), reinterpret_cast<sockaddr *>(&sll), sizeof(sll)))
			return fail(errno, "bind packet socket", ifname);
		if (auto st = big_rcvbuf(fd.get()); !st)
			return std::unexpected(st.error());
		return Capture(std::move(fd));
	}

	void drain()
	{
		std::array<uint8_t, 2048> buf;
		for (;;) {
			struct sockaddr_ll from {};
			socklen_t len = sizeof(from);
			ssize_t n = recvfrom(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr *>(&from), &len);
			if (n < 0)
				return;
			if (from.sll_pkttype == PACKET_OUTGOING || n < ETH_HLEN + 20 + 8)
				continue;
			const auto *iph = reinterpret_cast<const struct iphdr *>(buf.data() + ETH_HLEN);
			size_t l4 = ETH_HLEN + iph->ihl * 4u;
			if (iph->protocol != IPPROTO_UDP || static_cast<size_t>(n) < l4 + 8)
				continue;
			const auto *udp = reinterpret_cast<const struct udphdr *>(buf.data() + l4);
			uint16_t port = ntohs(udp->dest);
			if (port != kUnicastPort && port != kBroadcastPort)
				continue;
			(port == kUnicastPort ? unicast : broadcast)++;
			macs.insert(mac_text(buf.data() + ETH_ALEN));
		}
	}

	uint64_t unicast = 0, broadcast = 0;
	std::set<std::string> macs;

private:
	explicit Capture(Fd fd) : fd_(std::move(fd)) {}
	Fd fd_;
};

Result<Fd> udp_socket(const char *bind_addr, uint16_t port)
{
	Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (!fd)
		return fail(errno, "udp socket");
	int one = 1;
	if (setsockopt(fd.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)))
		return fail(errno, "SO_BROADCAST");
	if (bind_addr) {
		struct sockaddr_in a {};
		a.sin_family = AF_INET;
		a.sin_port = htons(port);
		inet_pton(AF_INET, bind_addr, &a.sin_addr);
		if (bind(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)))
			return fail(errno, "bind udp", fmt::format("{}:{}", bind_addr, port));
		if (auto st = big_rcvbuf(fd.get()); !st)
			return std::unexpected(st.error());
	}
	return fd;
}

Result<int> send_udp(int fd, const char *to, uint16_t port, int count)
{
	struct sockaddr_in a {};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, to, &a.sin_addr);
	int sent = 0;
	for (int i = 0; i < count; i++) {
		auto payload = fmt::format("xdpctl demo datagram {}", i);
		if (sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr *>(&a), sizeof(a)) < 0)
			return fail(errno, "sendto", fmt::format("{}:{}", to, port));
		sent++;
		if (i % 10 == 9) // the veth rings hold 256 frames; a short breath keeps a burst well under
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return sent;
}

uint64_t drain_udp(int fd)
{
	uint64_t n = 0;
	char buf[256];
	while (recv(fd, buf, sizeof(buf), 0) >= 0)
		n++;
	return n;
}

class Demo {
public:
	Demo(const Options &o, Report &r) : o_(o), r_(r)
	{
		auto base = fmt::format("xdpctl-demo-{}", getpid());
		r_.gen_ns = base + "-gen";
		r_.sw_ns = base + "-sw";
	}

	void run()
	{
		if (auto l = current_layout(); l && !path_exists(l->root))
			made_root_ = l->root;
		reap_stale();
		build_and_send();
		teardown();
	}

private:
	// One step: progress before and after, the failure recorded; false ends the demo.
	template <class Fn>
	bool step(const std::string &what, Fn &&fn)
	{
		if (o_.stop && *o_.stop) {
			r_.error = "interrupted by a signal before: " + what;
			return false;
		}
		if (o_.progress)
			o_.progress(what, false, false, {});
		std::string detail;
		Status st = fn(detail);
		if (!st) {
			detail = st.error().message();
			r_.error = what + ": " + detail;
		}
		r_.steps.push_back({what, bool(st), detail});
		if (o_.progress)
			o_.progress(what, true, bool(st), detail);
		return bool(st);
	}

	// A demo killed by SIGKILL could not tear down. Its namespaces carry its pid: those of a pid
	// that no longer runs are removed (programs unloaded and unpinned first) before this one
	// starts, so that at most one run's leftovers ever exist.
	void reap_stale()
	{
		std::vector<std::string> stale;
		for (const auto &name : list_dir("/run/netns")) {
			int pid = 0;
			char role[4] = {};
			if (std::sscanf(name.c_str(), "xdpctl-demo-%d-%3s", &pid, role) != 2 || pid <= 0 || pid == getpid())
				continue;
			if (kill(pid, 0) == 0 || errno != ESRCH)
				continue;
			stale.push_back(name);
		}
		if (stale.empty())
			return;
		std::sort(stale.begin(), stale.end()); // -gen before -sw, as they were made
		std::string list;
		for (const auto &n : stale)
			list += (list.empty() ? "" : ", ") + n;
		step("remove what a killed demo left: " + list, [&](std::string &) -> Status {
			for (const auto &name : stale) {
				if (name.ends_with("-sw")) {
					auto g = InNs::enter(name);
					if (!g)
						return std::unexpected(g.error());
					if (auto u = unload_all(); !u)
						return std::unexpected(u.error());
				}
				if (auto st = ip({"netns", "del", name}); !st)
					return st;
			}
			return {};
		});
		r_.error.clear(); // this run's own result does not depend on an earlier run's leftovers
	}

	Status in_sw(const std::function<Status()> &fn)
	{
		auto g = InNs::enter(r_.sw_ns);
		if (!g)
			return std::unexpected(g.error());
		return fn();
	}

	Status topology()
	{
		for (const auto *ns : {&r_.gen_ns, &r_.sw_ns}) {
			auto g = InNs::enter(*ns);
			if (!g)
				return std::unexpected(g.error());
			ipv6_off();
		}
		const std::string &sw = r_.sw_ns, &gen = r_.gen_ns;
		std::vector<std::vector<std::string>> cmds;
		for (const Port &p : {kIn, kBc})
			cmds.push_back({"-n", sw, "link", "add", p.sw, "address", p.sw_mac, "type", "veth", "peer", "name", p.peer,
					"address", p.peer_mac, "netns", gen});
		for (const Port &p : kOut)
			cmds.push_back({"-n", sw, "link", "add", p.sw, "address", p.sw_mac, "type", "veth", "peer", "name", p.peer,
					"address", p.peer_mac});
		for (const Port &p : {kIn, kBc}) {
			cmds.push_back({"-n", sw, "link", "set", p.sw, "up"});
			cmds.push_back({"-n", gen, "link", "set", p.peer, "up"});
		}
		for (const Port &p : kOut) {
			cmds.push_back({"-n", sw, "link", "set", p.sw, "up"});
			cmds.push_back({"-n", sw, "link", "set", p.peer, "up"});
		}
		cmds.push_back({"-n", gen, "addr", "add", "10.77.1.1/24", "dev", kIn.peer});
		cmds.push_back({"-n", gen, "addr", "add", "10.77.2.1/24", "brd", "+", "dev", kBc.peer});
		cmds.push_back({"-n", sw, "addr", "add", std::string(kRxAAddr) + "/24", "dev", kOut[0].peer});
		// gen0 reaches rx-a's MAC without ARP: nothing but the demo's datagrams crosses in0
		cmds.push_back({"-n", gen, "neigh", "add", kRxAAddr, "lladdr", kOut[0].peer_mac, "dev", kIn.peer, "nud",
				"permanent"});
		for (const auto &c : cmds)
			if (auto st = ip(c); !st)
				return st;
		return checksum_in_software();
	}

	// XDP_REDIRECT turns the skb into an xdp_frame and drops CHECKSUM_PARTIAL: a UDP checksum
	// the sender left for veth's "hardware" to finish would arrive unfinished and the receiver's
	// stack would drop the datagram. So the generator computes checksums itself.
	Status checksum_in_software()
	{
		auto g = InNs::enter(r_.gen_ns);
		if (!g)
			return std::unexpected(g.error());
		auto genl = nl::Genl::open();
		if (!genl)
			return std::unexpected(genl.error());
		for (const Port &p : {kIn, kBc}) {
			auto idx = ifindex_of(p.peer);
			if (!idx)
				return std::unexpected(idx.error());
			if (auto st = genl->feature_set(static_cast<uint32_t>(*idx), "tx-checksum-ip-generic", false); !st)
				return st;
		}
		return {};
	}

	bool build_and_send()
	{
		if (!step("create namespaces " + r_.gen_ns + " and " + r_.sw_ns, [&](std::string &) -> Status {
			    if (auto st = ip({"netns", "add", r_.gen_ns}); !st)
				    return st;
			    made_gen_ = true;
			    if (auto st = ip({"netns", "add", r_.sw_ns}); !st)
				    return st;
			    made_sw_ = true;
			    return {};
		    }))
			return false;
		if (!step("create veths gen0-in0, gen1-bc0, out-a-rx-a, out-b-rx-b, out-c-rx-c; IPv6 off",
			  [&](std::string &) { return topology(); }))
			return false;
		if (!step("load xdp_redirect on in0 and xdp_broadcast on bc0", [&](std::string &d) {
			    return in_sw([&]() -> Status {
				    auto layout = current_layout();
				    if (!layout)
					    return std::unexpected(layout.error());
				    ns_dir_ = layout->ns_dir();
				    for (auto [prog, ifname] : {std::pair{"xdp_redirect", kIn.sw}, {"xdp_broadcast", kBc.sw}}) {
					    auto l = load({{prog, {}}, {ifname}});
					    if (!l)
						    return std::unexpected(l.error());
					    d += fmt::format("{}{} prog id {} link id {}", d.empty() ? "" : "; ", ifname,
							     l->front().prog_id, l->front().link_id);
				    }
				    return {};
			    });
		    }))
			return false;
		if (!step("make out-a, out-b, out-c ready redirect targets: xdp_pass on rx-a, rx-b, rx-c", [&](std::string &) {
			    return in_sw([&]() -> Status {
				    for (const Port &p : kOut) {
					    auto idx = ifindex_of(p.sw);
					    if (!idx)
						    return std::unexpected(idx.error());
					    auto r = make_redirect_target_ready(*idx, ReadyPolicy::XdpPass);
					    if (!r)
						    return std::unexpected(r.error());
					    if (!r->ready)
						    return std::unexpected(Error{0, "redirect target", p.sw, r->reason});
				    }
				    return {};
			    });
		    }))
			return false;
		ProgramSource egress{"xdp_egress", {}};
		DevmapOptions refuse;
		refuse.ready = ReadyPolicy::Refuse; // ready already: nothing else may change
		refuse.egress_src_mac = true;       // xdp_egress writes each port's own MAC as source
		if (!step("redirect in0 -> out-a through the devmap egress program xdp_egress (source MAC: out-a's)", [&](std::string &d) {
			    return in_sw([&]() -> Status {
				    auto w = redirect_add({{kIn.sw, kOut[0].sw, egress}}, refuse);
				    if (!w)
					    return std::unexpected(w.error());
				    d = fmt::format("{} key {} -> ifindex {}, egress prog id {}", w->front().map, w->front().key,
						    w->front().ifindex, w->front().egress_prog_id);
				    return {};
			    });
		    }))
			return false;
		if (!step("broadcast group out-a, out-b, out-c through xdp_egress (source MAC: each port's)", [&](std::string &d) {
			    return in_sw([&]() -> Status {
				    std::vector<std::string> ports;
				    for (const Port &p : kOut)
					    ports.emplace_back(p.sw);
				    auto w = broadcast_add(ports, egress, refuse);
				    if (!w)
					    return std::unexpected(w.error());
				    std::set<std::string> maps;
				    for (const auto &x : *w)
					    maps.insert(x.map);
				    for (const auto &m : maps)
					    d += (d.empty() ? "" : " and ") + m;
				    d = fmt::format("{} entries in {}", w->size(), d);
				    return {};
			    });
		    }))
			return false;
		return send_and_check();
	}

	bool send_and_check()
	{
		// receivers first (switch namespace), then the generator's sockets
		std::vector<Capture> caps;
		Fd rx_udp, tx_uni, tx_bc;
		if (!step("open receivers on rx-a, rx-b, rx-c (packet sockets) and UDP 10.77.1.2:7777", [&](std::string &) {
			    return in_sw([&]() -> Status {
				    for (const Port &p : kOut) {
					    auto c = Capture::open(p.peer);
					    if (!c)
						    return std::unexpected(c.error());
					    caps.push_back(std::move(*c));
				    }
				    auto u = udp_socket(kRxAAddr, kUnicastPort);
				    if (!u)
					    return std::unexpected(u.error());
				    rx_udp = std::move(*u);
				    return {};
			    });
		    }))
			return false;
		if (!step(fmt::format("send {} UDP datagrams gen0 -> {}:{} and {} broadcasts gen1 -> {}:{}", o_.unicast, kRxAAddr,
				      kUnicastPort, o_.broadcast, kBroadcastAddr, kBroadcastPort),
			  [&](std::string &d) -> Status {
				  auto g = InNs::enter(r_.gen_ns);
				  if (!g)
					  return std::unexpected(g.error());
				  auto u = udp_socket(nullptr, 0), b = udp_socket(nullptr, 0);
				  if (!u)
					  return std::unexpected(u.error());
				  if (!b)
					  return std::unexpected(b.error());
				  auto su = send_udp(u->get(), kRxAAddr, kUnicastPort, o_.unicast);
				  if (!su)
					  return std::unexpected(su.error());
				  auto sb = send_udp(b->get(), kBroadcastAddr, kBroadcastPort, o_.broadcast);
				  if (!sb)
					  return std::unexpected(sb.error());
				  d = fmt::format("{} + {} sent", *su, *sb);
				  return {};
			  }))
			return false;
		return step("check what arrived where", [&](std::string &d) -> Status {
			// frames cross two veths and up to three NAPI polls: wait until all are in, or 3 s
			auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
			for (;;) {
				bool all = true;
				for (size_t i = 0; i < caps.size(); i++) {
					caps[i].drain();
					all &= caps[i].broadcast >= static_cast<uint64_t>(o_.broadcast) &&
					       caps[i].unicast >= (i == 0 ? static_cast<uint64_t>(o_.unicast) : 0);
				}
				if (all || std::chrono::steady_clock::now() > deadline || (o_.stop && *o_.stop))
					break;
				std::this_thread::sleep_for(std::chrono::milliseconds(50));
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(100)); // and nothing more than that
			bool all_ok = true;
			for (size_t i = 0; i < caps.size(); i++) {
				caps[i].drain();
				Receiver rc;
				rc.ifname = kOut[i].peer;
				rc.egress_port = kOut[i].sw;
				rc.unicast_expected = i == 0 ? o_.unicast : 0;
				rc.broadcast_expected = o_.broadcast;
				rc.unicast_seen = caps[i].unicast;
				rc.broadcast_seen = caps[i].broadcast;
				rc.src_mac_expected = kOut[i].sw_mac;
				rc.src_macs_seen.assign(caps[i].macs.begin(), caps[i].macs.end());
				if (i == 0)
					rc.udp_delivered = drain_udp(rx_udp.get());
				rc.ok = rc.unicast_seen == rc.unicast_expected && rc.broadcast_seen == rc.broadcast_expected &&
					rc.src_macs_seen == std::vector<std::string>{rc.src_mac_expected} &&
					(i != 0 || rc.udp_delivered == rc.unicast_expected);
				all_ok &= rc.ok;
				r_.receivers.push_back(std::move(rc));
			}
			auto counters = in_sw([&]() -> Status {
				auto rd = StatsReader::open({});
				if (!rd)
					return std::unexpected(rd.error());
				auto s = rd->sample();
				if (!s)
					return std::unexpected(s.error());
				r_.counters = std::move(s->interfaces);
				return {};
			});
			if (!counters)
				return counters;
			r_.traffic_ok = all_ok;
			if (!all_ok)
				return std::unexpected(Error{0, "traffic", {}, "not every receiver saw exactly the expected frames (see the table)"});
			d = "every receiver saw exactly the expected frames, each with its egress port's MAC";
			return {};
		});
	}

	void teardown()
	{
		// a signal during the demo must not stop the teardown
		std::string what = "tear down: unload (links, pins, maps), delete both namespaces";
		if (o_.progress)
			o_.progress(what, false, false, {});
		std::string why;
		if (made_sw_) {
			auto g = InNs::enter(r_.sw_ns);
			if (g) {
				if (auto u = unload_all(); !u)
					why = u.error().message();
			} else {
				why = g.error().message();
			}
		}
		for (auto [made, ns] : {std::pair{made_gen_, &r_.gen_ns}, {made_sw_, &r_.sw_ns}})
			if (made)
				if (auto st = ip({"netns", "del", *ns}); !st && why.empty())
					why = st.error().message();
		for (const auto *ns : {&r_.gen_ns, &r_.sw_ns})
			if (path_exists("/run/netns/" + *ns) && why.empty())
				why = "namespace " + *ns + " is still there";
		if (!ns_dir_.empty() && path_exists(ns_dir_) && why.empty())
			why = "pins left at " + ns_dir_;
		// the bpffs root too, when the demo made it; another xdpctl's pins keep it (ENOTEMPTY)
		if (why.empty() && !made_root_.empty())
			(void)rmdir(made_root_.c_str());
		r_.torn_down = why.empty();
		if (!why.empty() && r_.error.empty())
			r_.error = "tear down: " + why;
		r_.steps.push_back({what, r_.torn_down, why});
		if (o_.progress)
			o_.progress(what, true, r_.torn_down, why);
	}

	const Options &o_;
	Report &r_;
	bool made_gen_ = false, made_sw_ = false;
	std::string ns_dir_;    // ROOT/ns<NS> of the switch namespace
	std::string made_root_; // ROOT, when it did not exist before the demo
};

} // namespace

Report run(const Options &o)
{
	Report r;
	Demo(o, r).run();
	return r;
}

} // namespace xdpctl::demo
