// Generic netlink: families through nlctrl, the netdev family (dev-get, qstats-get) and ethtool
// (rings, channels, features). Attributes a kernel does not send are left at 0 / absent.
#include <libmnl/libmnl.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>

#include <array>
#include <vector>

#include "xdpctl/netdev_genl.h"
#include "xdpctl/nl.hpp"

namespace xdpctl::nl {
namespace {

constexpr size_t kMaxAttr = 64;
using Tb = std::array<const struct nlattr *, kMaxAttr>;

int attr_cb(const struct nlattr *attr, void *data)
{
	auto &tb = *static_cast<Tb *>(data);
	unsigned type = mnl_attr_get_type(attr);
	if (type < kMaxAttr)
		tb[type] = attr;
	return MNL_CB_OK;
}

Tb parse_genl(const struct nlmsghdr *nlh)
{
	Tb tb{};
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_cb, &tb);
	return tb;
}

Tb parse_nested(const struct nlattr *a)
{
	Tb tb{};
	if (a)
		mnl_attr_parse_nested(a, attr_cb, &tb);
	return tb;
}

uint32_t u32_of(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : 0;
}

// netdev's "uint" attributes are 4 or 8 bytes, whichever the value needs.
uint64_t uint_of(const struct nlattr *a)
{
	if (!a)
		return 0;
	return mnl_attr_get_payload_len(a) >= 8 ? mnl_attr_get_u64(a) : mnl_attr_get_u32(a);
}

struct nlmsghdr *put_genl(char *buf, uint16_t family, uint8_t cmd, uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	auto *g = static_cast<struct genlmsghdr *>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr)));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

// Every ethtool request starts with the same header nest: attribute 1 (ETHTOOL_A_RINGS_HEADER,
// ETHTOOL_A_CHANNELS_HEADER, ETHTOOL_A_FEATURES_HEADER, ...).
constexpr uint16_t kEthtoolHeader = 1;
static_assert(ETHTOOL_A_RINGS_HEADER == kEthtoolHeader && ETHTOOL_A_CHANNELS_HEADER == kEthtoolHeader &&
	      ETHTOOL_A_FEATURES_HEADER == kEthtoolHeader);

void put_ethtool_header(struct nlmsghdr *nlh, uint32_t ifindex)
{
	struct nlattr *h = mnl_attr_nest_start(nlh, kEthtoolHeader);
	mnl_attr_put_u32(nlh, ETHTOOL_A_HEADER_DEV_INDEX, ifindex);
	mnl_attr_nest_end(nlh, h);
}

std::string ifobj(uint32_t ifindex)
{
	return "ifindex " + std::to_string(ifindex);
}

NetdevDev parse_dev(const Tb &tb)
{
	NetdevDev d;
	d.xdp_features = uint_of(tb[NETDEV_A_DEV_XDP_FEATURES]);
	if (tb[NETDEV_A_DEV_XDP_RX_METADATA_FEATURES]) {
		d.has_xdp_rx_metadata_features = true;
		d.xdp_rx_metadata_features = uint_of(tb[NETDEV_A_DEV_XDP_RX_METADATA_FEATURES]);
	}
	if (tb[NETDEV_A_DEV_XDP_ZC_MAX_SEGS])
		d.xdp_zc_max_segs = u32_of(tb[NETDEV_A_DEV_XDP_ZC_MAX_SEGS]);
	if (tb[NETDEV_A_DEV_XSK_FEATURES]) {
		d.has_xsk_features = true;
		d.xsk_features = uint_of(tb[NETDEV_A_DEV_XSK_FEATURES]);
	}
	return d;
}

// A device-scope qstats reply; nullopt when it carries no packet counts.
std::optional<QStats> parse_qstats(const Tb &tb)
{
	if (!tb[NETDEV_A_QSTATS_RX_PACKETS] && !tb[NETDEV_A_QSTATS_TX_PACKETS])
		return std::nullopt;
	QStats s;
	s.rx_packets = uint_of(tb[NETDEV_A_QSTATS_RX_PACKETS]);
	s.rx_bytes = uint_of(tb[NETDEV_A_QSTATS_RX_BYTES]);
	s.tx_packets = uint_of(tb[NETDEV_A_QSTATS_TX_PACKETS]);
	s.tx_bytes = uint_of(tb[NETDEV_A_QSTATS_TX_BYTES]);
	return s;
}

} // namespace

Result<Genl> Genl::open()
{
	auto s = Socket::open(NETLINK_GENERIC);
	if (!s)
		return std::unexpected(s.error());
	Genl g;
	g.sock_ = std::move(*s);
	return g;
}

Result<uint16_t> Genl::family(const std::string &name)
{
	if (auto it = families_.find(name); it != families_.end())
		return it->second;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name.c_str());
	uint16_t id = 0;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			if (tb[CTRL_ATTR_FAMILY_ID])
				id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
		},
		"resolve genl family", name);
	if (!st)
		return std::unexpected(st.error());
	if (!id)
		return fail(ENOENT, "resolve genl family", name, "no family id in the reply");
	families_[name] = id;
	return id;
}

Result<NetdevDev> Genl::netdev_dev_get(uint32_t ifindex)
{
	auto fam = family(NETDEV_FAMILY_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, NETDEV_CMD_DEV_GET, NETDEV_FAMILY_VERSION, 0);
	mnl_attr_put_u32(nlh, NETDEV_A_DEV_IFINDEX, ifindex);
	NetdevDev d;
	auto st = sock_.transact(
		nlh, [&](const struct nlmsghdr *m) { d = parse_dev(parse_genl(m)); }, "netdev dev-get", ifobj(ifindex));
	if (!st)
		return std::unexpected(st.error());
	return d;
}

Result<std::map<uint32_t, NetdevDev>> Genl::netdev_dev_dump()
{
	auto fam = family(NETDEV_FAMILY_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, NETDEV_CMD_DEV_GET, NETDEV_FAMILY_VERSION, NLM_F_DUMP);
	std::map<uint32_t, NetdevDev> out;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			if (uint32_t idx = u32_of(tb[NETDEV_A_DEV_IFINDEX]))
				out[idx] = parse_dev(tb);
		},
		"netdev dev-get dump");
	if (!st)
		return std::unexpected(st.error());
	return out;
}

Result<std::optional<QStats>> Genl::netdev_qstats_get(uint32_t ifindex)
{
	auto fam = family(NETDEV_FAMILY_NAME);
	if (!fam)
		return std::optional<QStats>{};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, NETDEV_CMD_QSTATS_GET, NETDEV_FAMILY_VERSION, NLM_F_DUMP);
	mnl_attr_put_u32(nlh, NETDEV_A_QSTATS_IFINDEX, ifindex);
	std::optional<QStats> q;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			if (u32_of(tb[NETDEV_A_QSTATS_IFINDEX]) == ifindex)
				if (auto s = parse_qstats(tb))
					q = s;
		},
		"netdev qstats-get", ifobj(ifindex));
	if (!st) {
		// kernels before 6.10 have no qstats-get; drivers without stat ops answer nothing
		if (st.error().err == EOPNOTSUPP || st.error().err == EINVAL)
			return std::optional<QStats>{};
		return std::unexpected(st.error());
	}
	return q;
}

Result<std::map<uint32_t, QStats>> Genl::netdev_qstats_dump()
{
	std::map<uint32_t, QStats> out;
	auto fam = family(NETDEV_FAMILY_NAME);
	if (!fam)
		return out;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, NETDEV_CMD_QSTATS_GET, NETDEV_FAMILY_VERSION, NLM_F_DUMP);
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			if (uint32_t idx = u32_of(tb[NETDEV_A_QSTATS_IFINDEX]))
				if (auto s = parse_qstats(tb))
					out[idx] = *s;
		},
		"netdev qstats-get dump");
	if (!st) {
		// as netdev_qstats_get: no qstats-get before 6.10
		if (st.error().err == EOPNOTSUPP || st.error().err == EINVAL)
			return std::map<uint32_t, QStats>{};
		return std::unexpected(st.error());
	}
	return out;
}

Result<Rings> Genl::rings_get(uint32_t ifindex)
{
	auto fam = family(ETHTOOL_GENL_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, ETHTOOL_MSG_RINGS_GET, ETHTOOL_GENL_VERSION, 0);
	put_ethtool_header(nlh, ifindex);
	Rings r;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			r.rx_max = u32_of(tb[ETHTOOL_A_RINGS_RX_MAX]);
			r.tx_max = u32_of(tb[ETHTOOL_A_RINGS_TX_MAX]);
			r.rx = u32_of(tb[ETHTOOL_A_RINGS_RX]);
			r.tx = u32_of(tb[ETHTOOL_A_RINGS_TX]);
		},
		"ethtool rings-get", ifobj(ifindex));
	if (!st)
		return std::unexpected(st.error());
	return r;
}

Status Genl::rings_set(uint32_t ifindex, std::optional<uint32_t> rx, std::optional<uint32_t> tx)
{
	auto fam = family(ETHTOOL_GENL_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, ETHTOOL_MSG_RINGS_SET, ETHTOOL_GENL_VERSION, 0);
	put_ethtool_header(nlh, ifindex);
	if (rx)
		mnl_attr_put_u32(nlh, ETHTOOL_A_RINGS_RX, *rx);
	if (tx)
		mnl_attr_put_u32(nlh, ETHTOOL_A_RINGS_TX, *tx);
	return sock_.transact(nlh, {}, "ethtool rings-set", ifobj(ifindex));
}

Result<Channels> Genl::channels_get(uint32_t ifindex)
{
	auto fam = family(ETHTOOL_GENL_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, ETHTOOL_MSG_CHANNELS_GET, ETHTOOL_GENL_VERSION, 0);
	put_ethtool_header(nlh, ifindex);
	Channels c;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			c.rx_max = u32_of(tb[ETHTOOL_A_CHANNELS_RX_MAX]);
			c.tx_max = u32_of(tb[ETHTOOL_A_CHANNELS_TX_MAX]);
			c.other_max = u32_of(tb[ETHTOOL_A_CHANNELS_OTHER_MAX]);
			c.combined_max = u32_of(tb[ETHTOOL_A_CHANNELS_COMBINED_MAX]);
			c.rx = u32_of(tb[ETHTOOL_A_CHANNELS_RX_COUNT]);
			c.tx = u32_of(tb[ETHTOOL_A_CHANNELS_TX_COUNT]);
			c.other = u32_of(tb[ETHTOOL_A_CHANNELS_OTHER_COUNT]);
			c.combined = u32_of(tb[ETHTOOL_A_CHANNELS_COMBINED_COUNT]);
		},
		"ethtool channels-get", ifobj(ifindex));
	if (!st)
		return std::unexpected(st.error());
	return c;
}

Status Genl::channels_set(uint32_t ifindex, std::optional<uint32_t> rx, std::optional<uint32_t> tx,
			  std::optional<uint32_t> combined)
{
	auto fam = family(ETHTOOL_GENL_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, ETHTOOL_MSG_CHANNELS_SET, ETHTOOL_GENL_VERSION, 0);
	put_ethtool_header(nlh, ifindex);
	if (rx)
		mnl_attr_put_u32(nlh, ETHTOOL_A_CHANNELS_RX_COUNT, *rx);
	if (tx)
		mnl_attr_put_u32(nlh, ETHTOOL_A_CHANNELS_TX_COUNT, *tx);
	if (combined)
		mnl_attr_put_u32(nlh, ETHTOOL_A_CHANNELS_COMBINED_COUNT, *combined);
	return sock_.transact(nlh, {}, "ethtool channels-set", ifobj(ifindex));
}

Result<bool> Genl::feature_active(uint32_t ifindex, const std::string &name)
{
	auto fam = family(ETHTOOL_GENL_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, ETHTOOL_MSG_FEATURES_GET, ETHTOOL_GENL_VERSION, 0);
	// no ETHTOOL_FLAG_COMPACT_BITSETS: bits come with their names, whose indexes vary by kernel
	put_ethtool_header(nlh, ifindex);
	std::optional<bool> active;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			auto tb = parse_genl(m);
			auto set = parse_nested(tb[ETHTOOL_A_FEATURES_ACTIVE]);
			bool nomask = set[ETHTOOL_A_BITSET_NOMASK] != nullptr;
			if (!set[ETHTOOL_A_BITSET_BITS])
				return;
			active = false;
			std::vector<const struct nlattr *> list;
			mnl_attr_parse_nested(
				set[ETHTOOL_A_BITSET_BITS],
				[](const struct nlattr *a, void *d) {
					static_cast<std::vector<const struct nlattr *> *>(d)->push_back(a);
					return MNL_CB_OK;
				},
				&list);
			for (const struct nlattr *bit : list) {
				auto b = parse_nested(bit);
				if (!b[ETHTOOL_A_BITSET_BIT_NAME] ||
				    mnl_attr_validate(b[ETHTOOL_A_BITSET_BIT_NAME], MNL_TYPE_NUL_STRING) < 0 ||
				    name != mnl_attr_get_str(b[ETHTOOL_A_BITSET_BIT_NAME]))
					continue;
				// a list (NOMASK) names only the set bits; a value/mask pair flags each
				active = nomask || b[ETHTOOL_A_BITSET_BIT_VALUE] != nullptr;
			}
		},
		"ethtool features-get", ifobj(ifindex));
	if (!st)
		return std::unexpected(st.error());
	if (!active)
		return fail(EOPNOTSUPP, "ethtool features-get", ifobj(ifindex), "no active feature set in the reply");
	return *active;
}

Status Genl::feature_set(uint32_t ifindex, const std::string &name, bool on)
{
	auto fam = family(ETHTOOL_GENL_NAME);
	if (!fam)
		return std::unexpected(fam.error());
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_genl(buf, *fam, ETHTOOL_MSG_FEATURES_SET, ETHTOOL_GENL_VERSION, 0);
	put_ethtool_header(nlh, ifindex);
	// a value/mask bitset naming one bit: every other feature is left as it is
	struct nlattr *wanted = mnl_attr_nest_start(nlh, ETHTOOL_A_FEATURES_WANTED);
	struct nlattr *bits = mnl_attr_nest_start(nlh, ETHTOOL_A_BITSET_BITS);
	struct nlattr *bit = mnl_attr_nest_start(nlh, ETHTOOL_A_BITSET_BITS_BIT);
	mnl_attr_put_strz(nlh, ETHTOOL_A_BITSET_BIT_NAME, name.c_str());
	if (on)
		mnl_attr_put(nlh, ETHTOOL_A_BITSET_BIT_VALUE, 0, nullptr);
	mnl_attr_nest_end(nlh, bit);
	mnl_attr_nest_end(nlh, bits);
	mnl_attr_nest_end(nlh, wanted);
	return sock_.transact(nlh, {}, "ethtool features-set " + name, ifobj(ifindex));
}

} // namespace xdpctl::nl
