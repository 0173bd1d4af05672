// The harness itself: the packet builder produces what the wire format says, and the netns
// fixture really isolates, carries frames between veth ends, and cleans up.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <net/if.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "ethtool_stats.hpp"
#include "netns.hpp"

using namespace xt;

TEST(PacketBuilder, Ipv4UdpHeadersAndChecksums)
{
	auto p = Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(4).build();
	ASSERT_EQ(p.size(), 14u + 20 + 8 + 4) << "frame length";
	EXPECT_EQ(p[12], 0x08) << "ethertype hi";
	EXPECT_EQ(p[13], 0x00) << "ethertype lo";
	EXPECT_EQ(p[14], 0x45) << "version/ihl";
	EXPECT_EQ((p[16] << 8) | p[17], 32) << "ip total length";
	EXPECT_EQ(p[23], 17) << "protocol udp";
	EXPECT_EQ(inet_csum(p.data() + 14, 20), 0) << "ip header checksum verifies";
	EXPECT_EQ((p[38] << 8) | p[39], 12) << "udp length";
	// UDP checksum verifies over pseudo-header + segment
	uint32_t seed = 0;
	for (int i = 26; i < 34; i += 2)
		seed += (p[i] << 8) | p[i + 1];
	seed += 17 + 12;
	EXPECT_EQ(inet_csum(p.data() + 34, 12, seed), 0) << "udp checksum verifies";
}

TEST(PacketBuilder, VlanStackAndPadding)
{
	auto p = Packet().eth(kMacB, kMacA).vlan(0x0064, 0x88a8).vlan(0x00c8).ipv6("fd00::1", "fd00::2").pad_to(200).build();
	ASSERT_EQ(p.size(), 200u) << "padded length";
	EXPECT_EQ((p[12] << 8) | p[13], 0x88a8) << "outer tpid";
	EXPECT_EQ((p[14] << 8) | p[15], 0x0064) << "outer tci";
	EXPECT_EQ((p[16] << 8) | p[17], 0x8100) << "inner tpid";
	EXPECT_EQ((p[18] << 8) | p[19], 0x00c8) << "inner tci";
	EXPECT_EQ((p[20] << 8) | p[21], 0x86dd) << "ipv6 ethertype";
	EXPECT_EQ((p[26] << 8) | p[27], 200 - 22 - 40) << "ipv6 payload length";
}

class NetnsHarness : public NetnsTest {};

TEST_F(NetnsHarness, FrameSentOnOneVethEndArrivesAtTheOther)
{
	auto v = add_veth("h0", "h1");
	ASSERT_GT(v.ifindex, 0) << "veth created in the test namespace";
	ASSERT_EQ(ifindex_of("h0"), v.ifindex) << "thread is inside the namespace";
	Capture cap("h1", kEthTest);

	auto frame = Packet().eth(v.peer_mac, v.mac).payload(50).build();
	int s = socket(AF_PACKET, SOCK_RAW, 0);
	ASSERT_GE(s, 0);
	struct sockaddr_ll to {};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = v.ifindex;
	to.sll_halen = 6;
	ASSERT_EQ(sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)),
		  static_cast<ssize_t>(frame.size()));
	close(s);

	auto got = cap.drain();
	ASSERT_EQ(got.size(), 1u) << "exactly one frame at the peer";
	EXPECT_EQ(got[0], frame) << hex(got[0]);
}

// The ethtool reader the benchmarks count frames with: veth's per-queue XDP counters are there
// and start at zero; frames passed to the stack (no XDP program) do not move them; an unknown
// device is an error, not zeros.
TEST_F(NetnsHarness, EthtoolStatsOfAVeth)
{
	auto v = add_veth("e0", "e1");
	ASSERT_GT(v.ifindex, 0) << "veth";
	auto st = ethtool_stats("e1");
	EXPECT_TRUE(st.contains("rx_queue_0_xdp_packets")) << "veth's per-queue XDP counter";
	EXPECT_EQ(rx_queue_sum(st, "xdp_packets"), 0u) << "nothing ran yet";
	EXPECT_EQ(rx_queue_sum({{"rx_queue_0_xdp_packets", 3}, {"rx_queue_1_xdp_packets", 4}, {"rx_queue_0_xdp_drops", 9},
				{"tx_queue_0_xdp_packets", 5}},
			       "xdp_packets"),
		  7u)
		<< "sums rx queues of that counter only";
	EXPECT_THROW(ethtool_stats("nosuchdev0"), std::runtime_error) << "unknown device";
}

// A worker thread joins a namespace by name; the test thread stays where it is.
TEST_F(NetnsHarness, JoinNetnsMovesOnlyTheCallingThread)
{
	add_veth("j0", "j1");
	NetNs other;
	ASSERT_EQ(sh("ip -n " + other.name() + " link add jo0 type veth peer name jo1"), 0) << "a device only in other";
	int seen_jo0 = -1, seen_j0 = -1;
	std::thread t([&] {
		if (join_netns(other)) {
			seen_jo0 = static_cast<int>(if_nametoindex("jo0"));
			seen_j0 = static_cast<int>(if_nametoindex("j0"));
		}
	});
	t.join();
	EXPECT_GT(seen_jo0, 0) << "the worker is in the other namespace (its jo0)";
	EXPECT_EQ(seen_j0, 0) << "where j0 does not exist";
	EXPECT_GT(ifindex_of("j0"), 0) << "the test thread is still in the test namespace";
	EXPECT_EQ(if_nametoindex("jo0"), 0u) << "and does not see the other namespace's jo0";
}

TEST(NetnsLifecycle, NamespaceAndItsVethsAreGoneAfterTeardown)
{
	// z0's peer lives in `outer`, which outlives the namespace under test: the veth pair
	// going away is seen there
	NetNs outer;
	std::string name;
	{
		NetNs ns;
		name = ns.name();
		ASSERT_EQ(sh("ip -n " + name + " link add z0 type veth peer name z1 netns " + outer.name()), 0);
		ASSERT_EQ(sh("ip -n " + outer.name() + " link show z1 >/dev/null"), 0) << "z1 in the outer namespace";
	}
	std::string out;
	sh("ip netns list", &out);
	EXPECT_EQ(out.find(name), std::string::npos) << "namespace deleted: " << out;
	// the kernel dismantles a deleted namespace's devices in a work item: wait up to 5 s
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = sh("ip -n " + outer.name() + " link show z1 >/dev/null 2>&1") != 0;
		if (!gone)
			usleep(50000);
	}
	EXPECT_TRUE(gone) << "z0's peer z1 went with z0's namespace";
}
