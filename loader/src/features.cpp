// xdpctl::device_features: one dev-get, one RTM_GETLINK, two ethtool requests, each failure kept
// as the reason for its own fields so that one missing family never hides the others.
#include <array>
#include <utility>

#include "xdpctl/features.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/nl.hpp"

namespace xdpctl {
namespace {

using Names = std::array<std::pair<uint64_t, const char *>, 7>;

// The netdev family's spec (Documentation/netlink/specs/netdev.yaml) spells them so.
constexpr Names kXdpActs = {{{NETDEV_XDP_ACT_BASIC, "basic"},
			     {NETDEV_XDP_ACT_REDIRECT, "redirect"},
			     {NETDEV_XDP_ACT_NDO_XMIT, "ndo-xmit"},
			     {NETDEV_XDP_ACT_XSK_ZEROCOPY, "xsk-zerocopy"},
			     {NETDEV_XDP_ACT_HW_OFFLOAD, "hw-offload"},
			     {NETDEV_XDP_ACT_RX_SG, "rx-sg"},
			     {NETDEV_XDP_ACT_NDO_XMIT_SG, "ndo-xmit-sg"}}};
constexpr Names kRxMeta = {{{NETDEV_XDP_RX_METADATA_TIMESTAMP, "timestamp"},
			    {NETDEV_XDP_RX_METADATA_HASH, "hash"},
			    {NETDEV_XDP_RX_METADATA_VLAN_TAG, "vlan-tag"}}};
constexpr Names kXsk = {{{NETDEV_XSK_FLAGS_TX_TIMESTAMP, "tx-timestamp"},
			 {NETDEV_XSK_FLAGS_TX_CHECKSUM, "tx-checksum"},
			 {NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO, "tx-launch-time-fifo"}}};

std::vector<std::string> names_of(uint64_t bits, const Names &names)
{
	std::vector<std::string> out;
	for (const auto &[bit, name] : names) {
		if (name && (bits & bit)) {
			out.emplace_back(name);
			bits &= ~bit;
		}
	}
	for (unsigned b = 0; b < 64; b++)
		if (bits & (1ULL << b))
			out.push_back("bit" + std::to_string(b));
	return out;
}

constexpr const char *kNoNetdevFamily = "kernel has no netdev genl family";
constexpr const char *kNotReported = "not reported by this kernel";

void fill_netdev(nl::Genl &genl, DeviceFeatures &f)
{
	std::string why;
	auto fam = genl.family(NETDEV_FAMILY_NAME);
	if (!fam)
		why = fam.error().err == ENOENT ? kNoNetdevFamily : fam.error().message();
	std::optional<nl::NetdevDev> dev;
	if (why.empty()) {
		auto d = genl.netdev_dev_get(static_cast<uint32_t>(f.ifindex));
		if (d)
			dev = *d;
		else
			why = d.error().message();
	}
	if (!dev) {
		f.xdp_features = Reported<uint64_t>::none(why);
		f.xdp_zc_max_segs = Reported<uint32_t>::none(why);
		f.xdp_rx_metadata_features = Reported<uint64_t>::none(why);
		f.xsk_features = Reported<uint64_t>::none(why);
		return;
	}
	f.xdp_features = Reported<uint64_t>::of(dev->xdp_features);
	if (dev->xdp_zc_max_segs)
		f.xdp_zc_max_segs = Reported<uint32_t>::of(*dev->xdp_zc_max_segs);
	else
		// the kernel sends it only for devices that do AF_XDP zero-copy
		f.xdp_zc_max_segs = Reported<uint32_t>::none(dev->xdp_features & NETDEV_XDP_ACT_XSK_ZEROCOPY
								     ? kNotReported
								     : "not reported: the device has no xsk-zerocopy");
	f.xdp_rx_metadata_features = dev->has_xdp_rx_metadata_features
					     ? Reported<uint64_t>::of(dev->xdp_rx_metadata_features)
					     : Reported<uint64_t>::none(kNotReported);
	f.xsk_features = dev->has_xsk_features ? Reported<uint64_t>::of(dev->xsk_features)
					       : Reported<uint64_t>::none(kNotReported);
}

void fill_programs(DeviceFeatures &f)
{
	auto att = xdp_attachment(f.ifindex);
	if (!att) {
		f.programs = Reported<std::vector<AttachedProg>>::none(att.error().message());
		return;
	}
	std::vector<AttachedProg> progs;
	for (auto [mode, id] : {std::pair{"native", att->drv_prog_id}, {"skb", att->skb_prog_id}, {"hw", att->hw_prog_id}})
		if (id)
			progs.push_back({mode, id, prog_name(id)});
	f.programs = Reported<std::vector<AttachedProg>>::of(std::move(progs));
}

void fill_ethtool(nl::Genl &genl, DeviceFeatures &f)
{
	auto why = [](const Error &e) {
		return e.err == EOPNOTSUPP ? std::string("the driver does not report it (EOPNOTSUPP)") : e.message();
	};
	auto idx = static_cast<uint32_t>(f.ifindex);
	if (auto r = genl.rings_get(idx))
		f.rings = Reported<RingSizes>::of({r->rx, r->rx_max, r->tx, r->tx_max});
	else
		f.rings = Reported<RingSizes>::none(why(r.error()));
	if (auto c = genl.channels_get(idx))
		f.channels = Reported<ChannelCounts>::of({c->rx, c->rx_max, c->tx, c->tx_max, c->combined, c->combined_max});
	else
		f.channels = Reported<ChannelCounts>::none(why(c.error()));
}

} // namespace

std::vector<std::string> xdp_feature_names(uint64_t bits)
{
	return names_of(bits, kXdpActs);
}

std::vector<std::string> rx_metadata_feature_names(uint64_t bits)
{
	return names_of(bits, kRxMeta);
}

std::vector<std::string> xsk_feature_names(uint64_t bits)
{
	return names_of(bits, kXsk);
}

Result<DeviceFeatures> device_features(const std::string &ifname)
{
	auto idx = ifindex_of(ifname);
	if (!idx)
		return std::unexpected(idx.error());
	DeviceFeatures f;
	f.ifindex = *idx;
	f.ifname = ifname;
	auto genl = nl::Genl::open();
	if (!genl)
		return std::unexpected(genl.error());
	fill_netdev(*genl, f);
	fill_programs(f);
	fill_ethtool(*genl, f);
	return f;
}

} // namespace xdpctl
