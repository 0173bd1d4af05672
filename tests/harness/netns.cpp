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

VethPair NetnsTest::add_veth(const std::string &name, const std::string &peer, NetNs *peer_ns)
{
	VethPair v{name, peer};
	int n = ++veths_;
	char mac0[32], mac1[32];
	snprintf(mac0, sizeof(mac0), "02:00:00:00:%02x:00", n);
	snprintf(mac1, sizeof(mac1), "02:00:00:00:%02x:01", n);
	std::string peer_where = peer_ns ? " netns " + peer_ns->name() : "";
	if (!must("ip -n " + ns_->name() + " link add " + name + " address " + mac0 + " type veth peer name " +
		  peer + " address " + mac1 + peer_where))
		return v;
	std::string peer_ns_name = peer_ns ? peer_ns->name() : ns_->name();
	must("ip -n " + ns_->name() + " link set " + name + " up");
	must("ip -n " + peer_ns_name + " link set " + peer + " up");
	v.ifindex = ifindex_of(name);
	v.mac = mac_of(name);
	if (!peer_ns) {
		v.peer_ifindex = ifindex_of(peer);
		v.peer_mac = mac_of(peer);
	} else {
		std::string out;
		sh("ip -n " + peer_ns_name + " -o link show " + peer + " 2>/dev/null | cut -d: -f1", &out);
		v.peer_ifindex = std::atoi(out.c_str());
		sscanf(mac1, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &v.peer_mac[0], &v.peer_mac[1], &v.peer_mac[2],
		       &v.peer_mac[3], &v.peer_mac[4], &v.peer_mac[5]);
	}
	return v;
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
