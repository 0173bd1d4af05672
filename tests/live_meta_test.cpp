// The metadata programs on a real veth with real traffic. Our end (m0) sits in the test
// namespace with an XDP producer attached natively and tc_meta_consumer on its clsact ingress;
// the peer end (m1) sits in a second namespace and sends ping and UDP to us. The consumer's
// meta_flows map then shows, per flow hash recomputed here from the addresses and ports, what
// arrived in data_meta. Static neighbours on both sides keep ARP off the link, so every frame
// that reaches m0 is one we sent and the counters are exact.
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>

#include "meta_ref.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "tc_meta_consumer.skel.h"
#include "xdp_meta_kfunc.skel.h"
#include "xdp_meta_producer.skel.h"
#include "xdpctl/meta.hpp"
#include "xdpctl/skeleton.hpp"
#include "xdpctl/tc.hpp"

using namespace xt;

namespace {

constexpr const char *kOurIp = "10.77.0.1";
constexpr const char *kPeerIp = "10.77.0.2";
constexpr uint16_t kPeerPort = 4242;
constexpr uint16_t kMarkedPort = 2000;
constexpr uint16_t kUnmarkedPort = 2001;
constexpr uint32_t kPortMark = 0x7d0;
constexpr int kPings = 3;
// enum xdp_rss_hash_type lives in the kernel's include/net/xdp.h, not in uapi.
constexpr uint32_t kRssTypeNone = 0;
constexpr uint32_t kRssTypeL4Any = 1 << 3; // XDP_RSS_L4

using Link = std::unique_ptr<struct bpf_link, decltype(&bpf_link__destroy)>;

std::string mac_text(const Mac &m)
{
	char b[18];
	snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

// A UDP socket in the calling thread's namespace, bound to addr:port.
int udp_socket(const char *addr, uint16_t port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a {};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, addr, &a.sin_addr);
	if (s >= 0 && bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a))) {
		close(s);
		return -1;
	}
	return s;
}

bool send_udp(int s, const char *addr, uint16_t port, const std::string &msg)
{
	struct sockaddr_in a {};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, addr, &a.sin_addr);
	return sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr *>(&a), sizeof(a)) ==
	       static_cast<ssize_t>(msg.size());
}

// Datagrams waiting on s (non-blocking after a short poll for the first).
std::vector<std::string> received(int s, int expect)
{
	std::vector<std::string> got;
	struct timeval tv {0, 500000};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < expect + 1; i++) {
		char buf[256];
		ssize_t n = recv(s, buf, sizeof(buf), i < expect ? 0 : MSG_DONTWAIT);
		if (n < 0)
			break;
		got.emplace_back(buf, static_cast<size_t>(n));
	}
	return got;
}

class MetaLive : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		peer_ = std::make_unique<NetNs>();
		v_ = add_veth("m0", "m1", peer_.get());
		ASSERT_GT(v_.ifindex, 0) << "veth m0";
		ASSERT_TRUE(must(std::string("ip addr add ") + kOurIp + "/24 dev m0"));
		ASSERT_TRUE(must(peer_->exec() + "ip addr add " + kPeerIp + "/24 dev m1"));
		ASSERT_TRUE(must(std::string("ip neigh replace ") + kPeerIp + " lladdr " + mac_text(v_.peer_mac) +
				 " dev m0 nud permanent"));
		ASSERT_TRUE(must(peer_->exec() + "ip neigh replace " + kOurIp + " lladdr " + mac_text(v_.mac) +
				 " dev m1 nud permanent"));
		auto c = xdpctl::open_and_load_skel<tc_meta_consumer>("tc_meta_consumer");
		ASSERT_TRUE(c) << "load consumer: " << c.error().message();
		consumer_ = std::move(*c);
	}

	void TearDown() override
	{
		tc_.reset();
		link_.reset();
		NetnsTest::TearDown();
		peer_.reset();
	}

	void attach(const struct bpf_program *prog)
	{
		link_ = std::make_unique<Link>(bpf_program__attach_xdp(prog, v_.ifindex), bpf_link__destroy);
		ASSERT_TRUE(link_->get()) << "attach XDP to m0: " << strerror(errno);
		auto t = xdpctl::TcFilter::attach(v_.ifindex, BPF_TC_INGRESS,
						  bpf_program__fd(consumer_->progs.tc_meta_consumer));
		ASSERT_TRUE(t) << "attach consumer to m0 ingress: " << t.error().message();
		tc_ = std::make_unique<xdpctl::TcFilter>(std::move(*t));
	}

	// Sends `n` datagrams from the peer (kPeerIp:kPeerPort) to us at dport; returns what our
	// socket on dport received.
	std::vector<std::string> udp_from_peer(uint16_t dport, int n)
	{
		int rx = udp_socket(kOurIp, dport);
		EXPECT_GE(rx, 0) << "our udp socket on port " << dport;
		peer_->enter();
		int tx = udp_socket(kPeerIp, kPeerPort);
		EXPECT_GE(tx, 0) << "peer udp socket";
		for (int i = 0; i < n; i++)
			EXPECT_TRUE(send_udp(tx, kOurIp, dport, "meta " + std::to_string(i))) << "send datagram " << i;
		close(tx);
		peer_->leave();
		auto got = received(rx, n);
		close(rx);
		return got;
	}

	bool ping_from_peer()
	{
		return must(peer_->exec() + "ping -q -c " + std::to_string(kPings) + " -i 0.2 -W 2 " + kOurIp);
	}

	std::optional<struct xdpctl_meta_flow> flow(const FlowTuple &t)
	{
		uint32_t key = flow_hash(t);
		struct xdpctl_meta_flow f {};
		if (bpf_map__lookup_elem(consumer_->maps.meta_flows, &key, sizeof(key), &f, sizeof(f), 0))
			return std::nullopt;
		return f;
	}

	uint64_t consumed(uint32_t counter)
	{
		return percpu_u64(bpf_map__fd(consumer_->maps.consumer_counters), counter);
	}

	std::unique_ptr<NetNs> peer_;
	VethPair v_;
	xdpctl::Skel<tc_meta_consumer> consumer_;
	std::unique_ptr<Link> link_;
	std::unique_ptr<xdpctl::TcFilter> tc_;
};

const FlowTuple kPingFlow{kPeerIp, kOurIp, 1};
const FlowTuple kMarkedFlow{kPeerIp, kOurIp, 17, kPeerPort, kMarkedPort};
const FlowTuple kUnmarkedFlow{kPeerIp, kOurIp, 17, kPeerPort, kUnmarkedPort};

} // namespace

TEST_F(MetaLive, ProducerMetadataReachesTcConsumer)
{
	auto p = xdpctl::open_and_load_skel<xdp_meta_producer>("xdp_meta_producer");
	ASSERT_TRUE(p) << "load producer: " << p.error().message();
	uint32_t port = kMarkedPort;
	uint32_t mark = kPortMark;
	ASSERT_EQ(bpf_map__update_elem((*p)->maps.meta_marks, &port, sizeof(port), &mark, sizeof(mark), BPF_ANY), 0)
		<< "meta_marks[" << port << "]";
	attach((*p)->progs.xdp_meta_producer);

	ASSERT_TRUE(ping_from_peer()) << "ping through producer and consumer";
	EXPECT_EQ(udp_from_peer(kMarkedPort, 2).size(), 2u) << "datagrams to the marked port delivered";
	EXPECT_EQ(udp_from_peer(kUnmarkedPort, 1).size(), 1u) << "datagram to the unmarked port delivered";

	auto ping = flow(kPingFlow);
	ASSERT_TRUE(ping) << "meta_flows has the ping flow (hash recomputed here)";
	EXPECT_EQ(ping->packets, uint64_t(kPings)) << "echo requests seen with metadata";
	EXPECT_EQ(meta_bytes(ping->last), meta_bytes(producer_meta(kPingFlow, std::nullopt)))
		<< "ping metadata: " << describe(ping->last);

	auto marked = flow(kMarkedFlow);
	ASSERT_TRUE(marked) << "meta_flows has the marked udp flow";
	EXPECT_EQ(marked->packets, 2u) << "marked datagrams";
	EXPECT_EQ(meta_bytes(marked->last), meta_bytes(producer_meta(kMarkedFlow, kPortMark)))
		<< "marked udp metadata: " << describe(marked->last);
	EXPECT_EQ(marked->skb_mark, kPortMark) << "consumer set skb->mark from the metadata";

	auto unmarked = flow(kUnmarkedFlow);
	ASSERT_TRUE(unmarked) << "meta_flows has the unmarked udp flow";
	EXPECT_EQ(meta_bytes(unmarked->last), meta_bytes(producer_meta(kUnmarkedFlow, std::nullopt)))
		<< "unmarked udp metadata: " << describe(unmarked->last);
	EXPECT_EQ(unmarked->skb_mark, 0u) << "skb->mark untouched without a mark";

	uint64_t frames = kPings + 3;
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_WITH_META), frames) << "consumer: frames with our metadata";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_NO_META), 0u) << "consumer: frames without metadata";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_BAD_MAGIC), 0u) << "consumer: foreign metadata";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_MARK_SET), 2u) << "consumer: skb->mark set";
	auto stats = read_action_stats((*p)->maps.xdpctl_stats);
	EXPECT_EQ(stats[XDP_PASS].packets, frames) << "producer XDP_PASS";
	EXPECT_EQ(percpu_u64(bpf_map__fd((*p)->maps.meta_counters), XDPCTL_METACNT_NO_ROOM), 0u)
		<< "producer NO_ROOM: every frame carries our metadata";
}

// Without any XDP program the consumer sees no metadata and leaves traffic alone.
TEST_F(MetaLive, ConsumerWithoutProducerCountsFramesWithoutMetadata)
{
	auto t = xdpctl::TcFilter::attach(v_.ifindex, BPF_TC_INGRESS, bpf_program__fd(consumer_->progs.tc_meta_consumer));
	ASSERT_TRUE(t) << "attach consumer: " << t.error().message();
	ASSERT_TRUE(ping_from_peer()) << "ping through the consumer alone";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_NO_META), uint64_t(kPings)) << "consumer: frames without metadata";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_WITH_META), 0u) << "consumer: frames with metadata";
	EXPECT_FALSE(flow(kPingFlow)) << "no flow recorded without metadata";
}

// What the kfunc program must leave for a frame of flow t on this kernel's veth (6.18):
// rx_hash is skb_get_hash() of the frame (the consumer sees the same skb->hash), typed L4_ANY
// when the hash covered ports; rx_timestamp answers 0 (the skb's hardware stamp: veth has no
// clock); rx_vlan_tag answers -ENODATA for an untagged frame: neither valid nor refused.
struct xdpctl_meta kfunc_meta(const FlowTuple &t, std::optional<uint32_t> mark, uint32_t skb_hash)
{
	auto m = producer_meta(t, mark);
	m.rx_hash = skb_hash;
	m.rx_hash_type = (t.proto == 6 || t.proto == 17) ? kRssTypeL4Any : kRssTypeNone;
	m.valid |= XDPCTL_META_RX_HASH | XDPCTL_META_RX_TIMESTAMP;
	return m;
}

// On 6.18.44 this machine's kernel oopsed once (use-after-free in __bpf_prog_offload_destroy
// from cleanup_net, rtnl left held) right when a device-bound program was released while its
// veth's namespace was being deleted. Until that is understood these tests run only on request
// (XDPCTL_DEVBOUND_LIVE=1), and TearDown removes the veth while the program is still alive, so
// the kernel never walks a device's bound programs while one of them is being freed.
class MetaKfuncLive : public MetaLive {
protected:
	void SetUp() override
	{
		XT_REQUIRE_KERNEL(6, 3, "RX metadata kfuncs");
		XT_REQUIRE_DEVBOUND_LIVE();
		MetaLive::SetUp();
		if (HasFatalFailure())
			return;
		auto k = xdpctl::open_skel<xdp_meta_kfunc>("xdp_meta_kfunc");
		ASSERT_TRUE(k) << "open: " << k.error().message();
		auto st = xdpctl::prepare_meta_kfunc(*k, v_.ifindex);
		ASSERT_TRUE(st) << "bind to m0: " << st.error().message();
		st = xdpctl::load_skel(*k, "xdp_meta_kfunc");
		ASSERT_TRUE(st) << "load device-bound: " << st.error().message();
		uint32_t port = kMarkedPort;
		uint32_t mark = kPortMark;
		ASSERT_EQ(bpf_map__update_elem((*k)->maps.meta_marks, &port, sizeof(port), &mark, sizeof(mark), BPF_ANY), 0)
			<< "meta_marks[" << port << "]";
		kfunc_ = std::move(*k);
		attach(kfunc_->progs.xdp_meta_kfunc);
	}
	void TearDown() override
	{
		if (kfunc_)
			must("ip link del m0");
		MetaLive::TearDown();
		kfunc_.reset();
	}

	struct xdpctl_kfunc_counters kcount(uint32_t kfunc)
	{
		return kfunc_counters(bpf_map__fd(kfunc_->maps.kfunc_counters), kfunc);
	}

	xdpctl::Skel<xdp_meta_kfunc> kfunc_;
};

TEST_F(MetaKfuncLive, VethRxMetadataReachesTcConsumer)
{
	ASSERT_TRUE(ping_from_peer()) << "ping through kfunc program and consumer";
	EXPECT_EQ(udp_from_peer(kMarkedPort, 2).size(), 2u) << "datagrams to the marked port delivered";

	auto ping = flow(kPingFlow);
	ASSERT_TRUE(ping) << "meta_flows has the ping flow (hash recomputed here)";
	EXPECT_EQ(ping->packets, uint64_t(kPings)) << "echo requests seen with metadata";
	EXPECT_NE(ping->skb_hash, 0u) << "the stack hashed the frame";
	auto want = kfunc_meta(kPingFlow, std::nullopt, ping->skb_hash);
	EXPECT_EQ(meta_bytes(ping->last), meta_bytes(want)) << "ping metadata\n got " << describe(ping->last)
							    << "\nwant " << describe(want);

	auto marked = flow(kMarkedFlow);
	ASSERT_TRUE(marked) << "meta_flows has the marked udp flow";
	EXPECT_EQ(marked->packets, 2u) << "marked datagrams";
	want = kfunc_meta(kMarkedFlow, kPortMark, marked->skb_hash);
	EXPECT_EQ(meta_bytes(marked->last), meta_bytes(want)) << "udp metadata\n got " << describe(marked->last)
							      << "\nwant " << describe(want);
	EXPECT_EQ(marked->skb_mark, kPortMark) << "consumer set skb->mark from the metadata";

	uint64_t frames = kPings + 2;
	auto hash = kcount(XDPCTL_KFUNC_RX_HASH), ts = kcount(XDPCTL_KFUNC_RX_TIMESTAMP),
	     vlan = kcount(XDPCTL_KFUNC_RX_VLAN_TAG);
	EXPECT_EQ(hash.ok, frames) << "rx_hash answered every frame";
	EXPECT_EQ(hash.refused + hash.nodata + hash.other, 0u) << "rx_hash never failed";
	EXPECT_EQ(ts.ok, frames) << "rx_timestamp answered every frame";
	EXPECT_EQ(ts.refused + ts.nodata + ts.other, 0u) << "rx_timestamp never failed";
	EXPECT_EQ(vlan.nodata, frames) << "rx_vlan_tag: -ENODATA for untagged frames";
	EXPECT_EQ(vlan.ok + vlan.refused + vlan.other, 0u) << "rx_vlan_tag: nothing else";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_WITH_META), frames) << "consumer: frames with our metadata";
	EXPECT_EQ(consumed(XDPCTL_CONSCNT_NO_META), 0u) << "consumer: frames without metadata";
	auto stats = read_action_stats(kfunc_->maps.xdpctl_stats);
	EXPECT_EQ(stats[XDP_PASS].packets, frames) << "kfunc program XDP_PASS";
}
