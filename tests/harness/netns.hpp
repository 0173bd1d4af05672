// Network namespace + veth fixture. Every test that touches interfaces runs in a namespace of
// its own, named xdpctl-t<pid>-<n> so that concurrent runs never collide; the calling thread
// enters it for the test and the namespace (with every veth and program in it) is deleted in
// TearDown, which GoogleTest runs even when an assertion failed. Namespaces left by a crashed
// run of a dead process are removed at the next run's start.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "packet.hpp"

namespace xt {

// Runs a shell command; returns its exit status and leaves its output in `out` when given.
int sh(const std::string &cmd, std::string *out = nullptr);
// Runs a command and fails the current test (ADD_FAILURE) when it does not exit 0.
bool must(const std::string &cmd);

// A named network namespace. The constructor creates it; enter()/leave() switch the calling
// thread; the destructor leaves (if inside) and deletes it.
class NetNs {
public:
	NetNs();
	explicit NetNs(std::string name);
	~NetNs();
	NetNs(const NetNs &) = delete;
	NetNs &operator=(const NetNs &) = delete;

	[[nodiscard]] const std::string &name() const { return name_; }
	void enter();
	void leave();
	// Prefix for commands that must run inside: "ip netns exec NAME ".
	[[nodiscard]] std::string exec() const { return "ip netns exec " + name_ + " "; }

	// Removes xdpctl-t<pid>-* namespaces whose pid no longer runs.
	static void reap_stale();

private:
	std::string name_;
	int saved_ = -1; // the thread's namespace before enter()
};

// Moves the calling thread into ns for the rest of its life, for a worker thread (NetNs::enter
// and leave are the test thread's); false with errno set when it cannot.
bool join_netns(const NetNs &ns);

struct VethPair {
	std::string name, peer;
	int ifindex = 0, peer_ifindex = 0; // ifindex of peer is in the peer's namespace
	Mac mac{}, peer_mac{};
};

// The fixture: SetUp creates and enters a fresh namespace (loopback up, IPv6 off so the kernel
// sends nothing of its own on test links); TearDown leaves and deletes it.
class NetnsTest : public ::testing::Test {
protected:
	void SetUp() override;
	void TearDown() override;

	// Creates veth pair name<->peer in the test namespace (or peer in peer_ns), both up, MACs
	// set to locally administered 02:00:00:00:<n>:<0|1>. One `ip -b` process (plus one to set a
	// peer in peer_ns up): a process costs ~0.3 s in the kernel lane's TCG guests.
	VethPair add_veth(const std::string &name, const std::string &peer, NetNs *peer_ns = nullptr);
	// Creates every pair {name, peer} in the test namespace as add_veth does, all in one `ip -b`
	// batch; in the order given. On failure (the test failed, with ip's line) the pairs come
	// back with ifindex 0.
	std::vector<VethPair> add_veths(const std::vector<std::pair<std::string, std::string>> &pairs);

	NetNs &ns() { return *ns_; }
	std::unique_ptr<NetNs> ns_;
	int veths_ = 0;
};

int ifindex_of(const std::string &ifname);
Mac mac_of(const std::string &ifname);

// Raw AF_PACKET socket bound to one interface of the current namespace, for asserting what
// arrived there, byte for byte. Only frames received (not sent) are kept.
class Capture {
public:
	explicit Capture(const std::string &ifname, uint16_t ethertype = 0 /* all */);
	~Capture();
	Capture(const Capture &) = delete;
	Capture &operator=(const Capture &) = delete;

	// Frames that arrive within `wait`, filtered by `keep` when given.
	std::vector<Bytes> drain(std::chrono::milliseconds wait = std::chrono::milliseconds(200),
				 const std::function<bool(const Bytes &)> &keep = {});

private:
	int fd_ = -1;
};

} // namespace xt
