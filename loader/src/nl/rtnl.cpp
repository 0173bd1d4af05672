// rtnetlink RTM_GETLINK: the list of netdevs the control map iterates and each one's counters
// and XDP attachment.
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <array>
#include <cstring>

#include "xdpctl/nl.hpp"

namespace xdpctl::nl {
namespace {

// ifinfomsg attributes this build knows; newer ones are skipped.
using LinkTb = std::array<const struct nlattr *, IFLA_MAX + 1>;

int link_attr_cb(const struct nlattr *attr, void *data)
{
	auto &tb = *static_cast<LinkTb *>(data);
	unsigned type = mnl_attr_get_type(attr);
	if (type <= IFLA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

template <size_t N>
int nested_cb(const struct nlattr *attr, void *data)
{
	auto &tb = *static_cast<std::array<const struct nlattr *, N> *>(data);
	unsigned type = mnl_attr_get_type(attr);
	if (type < N)
		tb[type] = attr;
	return MNL_CB_OK;
}

uint32_t u32_of(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : 0;
}

Link parse_link(const struct nlmsghdr *nlh)
{
	Link l;
	const auto *ifm = static_cast<const struct ifinfomsg *>(mnl_nlmsg_get_payload(nlh));
	l.ifindex = static_cast<uint32_t>(ifm->ifi_index);
	l.flags = ifm->ifi_flags;
	LinkTb tb{};
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, &tb);
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0)
		l.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	if (tb[IFLA_STATS64]) {
		struct rtnl_link_stats64 s {};
		std::memcpy(&s, mnl_attr_get_payload(tb[IFLA_STATS64]),
			    std::min<size_t>(sizeof(s), mnl_attr_get_payload_len(tb[IFLA_STATS64])));
		l.stats64 = s;
	}
	if (tb[IFLA_XDP]) {
		std::array<const struct nlattr *, IFLA_XDP_MAX + 1> x{};
		mnl_attr_parse_nested(tb[IFLA_XDP], nested_cb<IFLA_XDP_MAX + 1>, &x);
		l.xdp_known = true;
		if (x[IFLA_XDP_ATTACHED])
			l.xdp_attached = mnl_attr_get_u8(x[IFLA_XDP_ATTACHED]);
		l.xdp_prog_id = u32_of(x[IFLA_XDP_PROG_ID]);
		l.xdp_drv_prog_id = u32_of(x[IFLA_XDP_DRV_PROG_ID]);
		l.xdp_skb_prog_id = u32_of(x[IFLA_XDP_SKB_PROG_ID]);
		l.xdp_hw_prog_id = u32_of(x[IFLA_XDP_HW_PROG_ID]);
		// with one mode attached the kernel sends only IFLA_XDP_PROG_ID
		if (l.xdp_attached == XDP_ATTACHED_DRV && !l.xdp_drv_prog_id)
			l.xdp_drv_prog_id = l.xdp_prog_id;
		if (l.xdp_attached == XDP_ATTACHED_SKB && !l.xdp_skb_prog_id)
			l.xdp_skb_prog_id = l.xdp_prog_id;
		if (l.xdp_attached == XDP_ATTACHED_HW && !l.xdp_hw_prog_id)
			l.xdp_hw_prog_id = l.xdp_prog_id;
	}
	l.link = u32_of(tb[IFLA_LINK]);
	l.link_other_netns = tb[IFLA_LINK_NETNSID] != nullptr;
	if (tb[IFLA_LINKINFO]) {
		std::array<const struct nlattr *, IFLA_INFO_MAX + 1> li{};
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], nested_cb<IFLA_INFO_MAX + 1>, &li);
		if (li[IFLA_INFO_KIND] && mnl_attr_validate(li[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) >= 0)
			l.kind = mnl_attr_get_str(li[IFLA_INFO_KIND]);
	}
	return l;
}

struct nlmsghdr *put_getlink(char *buf, uint16_t flags, uint32_t ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	auto *ifm = static_cast<struct ifinfomsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg)));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = static_cast<int>(ifindex);
	return nlh;
}

} // namespace

Result<Rtnl> Rtnl::open()
{
	auto s = Socket::open(NETLINK_ROUTE);
	if (!s)
		return std::unexpected(s.error());
	Rtnl r;
	r.sock_ = std::move(*s);
	return r;
}

Result<std::vector<Link>> Rtnl::dump_links()
{
	// A dump interrupted by a concurrent change (NLM_F_DUMP_INTR → EINTR) is taken again.
	for (int attempt = 0;; attempt++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = put_getlink(buf, NLM_F_DUMP, 0);
		std::vector<Link> links;
		auto st = sock_.transact(
			nlh,
			[&](const struct nlmsghdr *m) {
				if (m->nlmsg_type == RTM_NEWLINK)
					links.push_back(parse_link(m));
			},
			"RTM_GETLINK dump");
		if (st)
			return links;
		if (st.error().err != EINTR || attempt >= 3)
			return std::unexpected(st.error());
	}
}

Result<Link> Rtnl::get_link(uint32_t ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_getlink(buf, 0, ifindex);
	std::optional<Link> link;
	auto st = sock_.transact(
		nlh,
		[&](const struct nlmsghdr *m) {
			if (m->nlmsg_type == RTM_NEWLINK)
				link = parse_link(m);
		},
		"RTM_GETLINK", "ifindex " + std::to_string(ifindex));
	if (!st)
		return std::unexpected(st.error());
	if (!link)
		return fail(ENODEV, "RTM_GETLINK", "ifindex " + std::to_string(ifindex), "no reply");
	return *link;
}

} // namespace xdpctl::nl
