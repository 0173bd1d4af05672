#include "netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <stdexcept>

namespace xt {

int sh(const std::string &cmd, std::string *out)
{
	std::string full = cmd + " 2>&1";
	FILE *p = popen(full.c_str(), "r");
	if (!p)
		return -1;
	std::string buf;
	char chunk[512];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf.append(chunk, n);
	int st = pclose(p);
	if (out)
		*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool must(const std::string &cmd)
{
	std::string out;
	int rc = sh(cmd, &out);
	if (rc != 0)
		ADD_FAILURE() << "command failed (" << rc << "): " << cmd << "\n" << out;
	return rc == 0;
}

namespace {
std::atomic<int> g_ns_counter{0};

[[noreturn]] void die(const std::string &what)
{
	throw std::runtime_error(what + ": " + std::strerror(errno));
}
} // namespace

NetNs::NetNs() : NetNs("xdpctl-t" + std::to_string(getpid()) + "-" + std::to_string(g_ns_counter++)) {}

NetNs::NetNs(std::string name) : name_(std::move(name))
{
	std::string out;
	if (sh("ip netns add " + name_, &out) != 0)
		throw std::runtime_error("ip netns add " + name_ + ": " + out);
	sh(exec() + "ip link set lo up");
	sh(exec() + "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
}

NetNs::~NetNs()
{
	leave();
	sh("ip netns del " + name_);
}

void NetNs::enter()
{
	if (saved_ >= 0)
		return;
	saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved_ < 0)
		die("open own netns");
	int fd = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open netns " + name_);
	int rc = setns(fd, CLONE_NEWNET);
	close(fd);
	if (rc)
		die("setns " + name_);
}

bool join_netns(const NetNs &ns)
{
	int fd = open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int rc = setns(fd, CLONE_NEWNET);
	int err = errno;
	close(fd);
	errno = err;
	return rc == 0;
}

void NetNs::leave()
{
	if (saved_ < 0)
		return;
	if (setns(saved_, CLONE_NEWNET))
		die("setns back");
	close(saved_);
	saved_ = -1;
}

void NetNs::reap_stale()
{
	DIR *d = opendir("/run/netns");
	if (!d)
		return;
	std::vector<std::string> dead;
	while (auto *e = readdir(d)) {
		int pid = 0, n = 0;
		if (sscanf(e->d_name, "xdpctl-t%d-%d", &pid, &n) == 2 && kill(pid, 0) != 0 && errno == ESRCH)
			dead.emplace_back(e->d_name);
	}
	closedir(d);
	for (auto &name : dead)
		sh("ip netns del " + name);
}

void NetnsTest::SetUp()
{
	NetNs::reap_stale();
	ns_ = std::make_unique<NetNs>();
	ns_->enter();
}

void NetnsTest::TearDown()
{
	ns_.reset();
}

namespace {
// The `ip -b` lines that make pair n (MACs 02:00:00:00:<n>:<0|1>), the peer in peer_ns when
// given; a peer in the same namespace is set up here too.
std::string veth_lines(VethPair &v, int n, const std::string &peer_ns)
{
	char mac0[32], mac1[32];
	snprintf(mac0, sizeof(mac0), "02:00:00:00:%02x:00", n);
	snprintf(mac1, sizeof(mac1), "02:00:00:00:%02x:01", n);
	sscanf(mac1, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &v.peer_mac[0], &v.peer_mac[1], &v.peer_mac[2], &v.peer_mac[3],
	       &v.peer_mac[4], &v.peer_mac[5]);
	// "up" cannot go on the link add line (ENOTCONN for a veth whose peer is not up yet)
	std::string l = " 'link add " + v.name + " address " + mac0 + " type veth peer name " + v.peer + " address " +
			mac1 + (peer_ns.empty() ? "" : " netns " + peer_ns) + "' 'link set " + v.name + " up'";
	if (peer_ns.empty())
		l += " 'link set " + v.peer + " up'";
	return l;
}

// Runs the lines in namespace ns as one `ip -b` batch (it stops at the first line that fails).
bool ip_batch(const std::string &ns, const std::string &lines)
{
	return must("printf '%s\\n'" + lines + " | ip -n " + ns + " -b -");
}
} // namespace

VethPair NetnsTest::add_veth(const std::string &name, const std::string &peer, NetNs *peer_ns)
{
	if (!peer_ns) {
		auto v = add_veths({{name, peer}});
		return v.empty() ? VethPair{name, peer} : v.front();
	}
	VethPair v{name, peer};
	if (!ip_batch(ns_->name(), veth_lines(v, ++veths_, peer_ns->name())) ||
	    !must("ip -n " + peer_ns->name() + " link set " + peer + " up"))
		return v;
	v.ifindex = ifindex_of(name);
	v.mac = mac_of(name);
	std::string out;
	sh("ip -n " + peer_ns->name() + " -o link show " + peer + " 2>/dev/null | cut -d: -f1", &out);
	v.peer_ifindex = std::atoi(out.c_str());
	return v;
}

std::vector<VethPair> NetnsTest::add_veths(const std::vector<std::pair<std::string, std::string>> &pairs)
{
	std::vector<VethPair> out;
	std::string lines;
	for (const auto &[name, peer] : pairs) {
		out.push_back({name, peer});
		lines += veth_lines(out.back(), ++veths_, "");
	}
	if (out.empty() || !ip_batch(ns_->name(), lines))
		return out;
	for (auto &v : out) {
		v.ifindex = ifindex_of(v.name);
		v.mac = mac_of(v.name);
		v.peer_ifindex = ifindex_of(v.peer);
		v.peer_mac = mac_of(v.peer);
	}
	return out;
}

int ifindex_of(const std::string &ifname)
{
	return static_cast<int>(if_nametoindex(ifname.c_str()));
}

Mac mac_of(const std::string &ifname)
{
	Mac m{};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return m;
	struct ifreq ifr {};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return m;
}

Capture::Capture(const std::string &ifname, uint16_t ethertype)
{
	uint16_t proto = htons(ethertype ? ethertype : ETH_P_ALL);
	fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd_ < 0)
		die("socket(AF_PACKET)");
	struct sockaddr_ll sll {};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = proto;
	sll.sll_ifindex = ifindex_of(ifname);
	if (!sll.sll_ifindex || bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)))
		die("bind capture to " + ifname);
}

Capture::~Capture()
{
	if (fd_ >= 0)
		close(fd_);
}

std::vector<Bytes> Capture::drain(std::chrono::milliseconds wait, const std::function<bool(const Bytes &)> &keep)
{
	std::vector<Bytes> frames;
	auto deadline = std::chrono::steady_clock::now() + wait;
	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			break;
		struct pollfd pfd {fd_, POLLIN, 0};
		if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
			break;
		for (;;) {
			Bytes buf(65536);
			struct sockaddr_ll from {};
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr *>(&from), &fl);
			if (n < 0)
				break;
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			buf.resize(static_cast<size_t>(n));
			if (!keep || keep(buf))
				frames.push_back(std::move(buf));
		}
	}
	return frames;
}

} // namespace xt
