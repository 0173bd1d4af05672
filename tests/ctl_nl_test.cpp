// The netlink layer under the control map, against what iproute2 and ethtool say about the same
// veth pair: link dump and doit, netdev dev-get, ethtool channels/rings/features.
#include <gtest/gtest.h>
#include <net/if.h>

#include <algorithm>

#include "netns.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/nl.hpp"

using namespace xt;
using namespace xdpctl;

class CtlNl : public NetnsTest {};

TEST_F(CtlNl, LinkDumpAndGetAgreeWithIproute)
{
	auto v = add_veth("nla", "nlb");
	auto rt = nl::Rtnl::open();
	ASSERT_TRUE(rt) << rt.error().message();
	auto links = rt->dump_links();
	ASSERT_TRUE(links) << links.error().message();
	std::vector<std::string> names;
	for (auto &l : *links)
		names.push_back(l.name);
	std::sort(names.begin(), names.end());
	EXPECT_EQ(names, (std::vector<std::string>{"lo", "nla", "nlb"})) << "dump lists the namespace's netdevs";

	auto l = rt->get_link(v.ifindex);
	ASSERT_TRUE(l) << l.error().message();
	EXPECT_EQ(l->name, "nla") << "name";
	EXPECT_EQ(l->kind, "veth") << "IFLA_INFO_KIND";
	EXPECT_EQ(l->link, static_cast<uint32_t>(v.peer_ifindex)) << "IFLA_LINK is the peer";
	EXPECT_FALSE(l->link_other_netns) << "peer in the same namespace";
	EXPECT_TRUE(l->stats64.has_value()) << "IFLA_STATS64";
	EXPECT_TRUE(l->xdp_known) << "IFLA_XDP";
	EXPECT_EQ(l->xdp_attached, XDP_ATTACHED_NONE) << "no program";

	auto none = rt->get_link(999999);
	ASSERT_FALSE(none) << "nonexistent ifindex";
	EXPECT_EQ(none.error().err, ENODEV) << "ENODEV for a missing ifindex: " << none.error().message();
}

TEST_F(CtlNl, EthtoolChannelsRingsAndGroOnVeth)
{
	must("ip link add nlc numtxqueues 4 numrxqueues 4 type veth peer name nld numtxqueues 4 numrxqueues 4");
	uint32_t idx = if_nametoindex("nlc");
	auto g = nl::Genl::open();
	ASSERT_TRUE(g) << g.error().message();

	auto ch = g->channels_get(idx);
	ASSERT_TRUE(ch) << ch.error().message();
	EXPECT_EQ(ch->rx_max, 4u) << "rx max = numrxqueues";
	EXPECT_EQ(ch->tx_max, 4u) << "tx max = numtxqueues";
	EXPECT_EQ(ch->combined_max, 0u) << "veth has no combined channels";
	ASSERT_TRUE(g->channels_set(idx, 2, 2, std::nullopt)) << "veth takes rx/tx channel counts";
	std::string out;
	sh("ethtool -l nlc | tail -5 | grep -E '^(RX|TX):' | tr -s '\\t' ' '", &out);
	EXPECT_EQ(out, "RX: 2\nTX: 2\n") << "ethtool -l current settings";

	auto bad = g->channels_set(idx, 9, 9, std::nullopt);
	ASSERT_FALSE(bad) << "more channels than the maximum";
	EXPECT_EQ(bad.error().err, EINVAL) << bad.error().message();

	auto r = g->rings_get(idx);
	ASSERT_FALSE(r) << "veth has no ring parameters";
	EXPECT_EQ(r.error().err, EOPNOTSUPP) << r.error().message();

	auto gro = g->feature_active(idx, "rx-gro");
	ASSERT_TRUE(gro) << gro.error().message();
	EXPECT_FALSE(*gro) << "veth starts with GRO off";
	ASSERT_TRUE(g->feature_set(idx, "rx-gro", true)) << "enable GRO";
	gro = g->feature_active(idx, "rx-gro");
	ASSERT_TRUE(gro) << gro.error().message();
	EXPECT_TRUE(*gro) << "GRO on after features-set";
	sh("ethtool -k nlc | grep generic-receive-offload", &out);
	EXPECT_EQ(out, "generic-receive-offload: on\n") << "ethtool -k agrees";
}

TEST_F(CtlNl, NetdevDevGetGivesXdpFeatures)
{
	auto v = add_veth("nle", "nlf");
	auto g = nl::Genl::open();
	ASSERT_TRUE(g) << g.error().message();
	auto d = g->netdev_dev_get(v.ifindex);
	if (!d && d.error().err == ENOENT)
		GTEST_SKIP() << "no netdev genl family (kernel < 6.3): " << d.error().message();
	ASSERT_TRUE(d) << d.error().message();
	EXPECT_TRUE(d->xdp_features & NETDEV_XDP_ACT_BASIC) << "veth does basic XDP";
	EXPECT_TRUE(d->xdp_features & NETDEV_XDP_ACT_REDIRECT) << "veth redirects";
	EXPECT_TRUE(d->has_xdp_rx_metadata_features) << "6.3+ reports rx metadata features";
	EXPECT_EQ(d->xdp_rx_metadata_features, uint64_t{NETDEV_XDP_RX_METADATA_TIMESTAMP | NETDEV_XDP_RX_METADATA_HASH |
							 NETDEV_XDP_RX_METADATA_VLAN_TAG})
		<< "veth implements all three kfuncs";
	auto q = g->netdev_qstats_get(v.ifindex);
	ASSERT_TRUE(q) << q.error().message();

	// the dumps a control map walk takes: every device, each as its own request says
	auto all = g->netdev_dev_dump();
	ASSERT_TRUE(all) << all.error().message();
	EXPECT_EQ(all->size(), 3u) << "lo, nle, nlf";
	for (int idx : {v.ifindex, v.peer_ifindex}) {
		ASSERT_TRUE(all->count(idx)) << "ifindex " << idx << " in the dev-get dump";
		auto one = g->netdev_dev_get(idx);
		ASSERT_TRUE(one) << one.error().message();
		EXPECT_EQ(all->at(idx).xdp_features, one->xdp_features) << "xdp-features as dev-get says";
		EXPECT_EQ(all->at(idx).xdp_rx_metadata_features, one->xdp_rx_metadata_features) << "rx metadata features";
	}
	auto qs = g->netdev_qstats_dump();
	ASSERT_TRUE(qs) << qs.error().message();
	EXPECT_EQ(qs->count(v.ifindex) != 0, q->has_value()) << "qstats dump has the veth exactly when qstats-get does";
}
