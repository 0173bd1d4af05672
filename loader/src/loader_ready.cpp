#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/readiness.hpp"

namespace xdpctl {

namespace {

struct LinkAttrs {
	std::string kind;
	int link = 0;
	bool link_netnsid = false;
};

int linkinfo_cb(const nlattr *a, void *data)
{
	auto *l = static_cast<LinkAttrs *>(data);
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		l->kind = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

int link_attr_cb(const nlattr *a, void *data)
{
	auto *l = static_cast<LinkAttrs *>(data);
	switch (mnl_attr_get_type(a)) {
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			l->link = static_cast<int>(mnl_attr_get_u32(a));
		break;
	case IFLA_LINK_NETNSID:
		l->link_netnsid = true;
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, linkinfo_cb, l);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

int link_msg_cb(const nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(ifinfomsg), link_attr_cb, data);
	return MNL_CB_OK;
}

Result<LinkAttrs> get_link(int ifindex)
{
	std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)> nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
	if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		return fail(errno, "rtnetlink socket");
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	unsigned seq = nlh->nlmsg_seq = 1;
	auto *ifm = static_cast<ifinfomsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
		return fail(errno, "RTM_GETLINK", "ifindex " + std::to_string(ifindex));
	LinkAttrs l;
	unsigned portid = mnl_socket_get_portid(nl.get());
	// a non-dump request has one answer (or an error)
	ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
	if (n <= 0 || mnl_cb_run(buf.data(), n, seq, portid, link_msg_cb, &l) < 0)
		return fail(errno, "RTM_GETLINK", "ifindex " + std::to_string(ifindex));
	return l;
}

Result<bool> gro(const std::string &ifname, std::optional<bool> set)
{
	Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!s)
		return fail(errno, "socket");
	ethtool_value v{};
	v.cmd = set ? ETHTOOL_SGRO : ETHTOOL_GGRO;
	v.data = set && *set ? 1 : 0;
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	ifr.ifr_data = reinterpret_cast<char *>(&v);
	if (ioctl(s.get(), SIOCETHTOOL, &ifr))
		return fail(errno, set ? "ETHTOOL_SGRO" : "ETHTOOL_GGRO", ifname);
	return set ? *set : v.data != 0;
}

} // namespace

Status set_gro(const std::string &ifname, bool on)
{
	if (auto g = gro(ifname, on); !g)
		return std::unexpected(g.error());
	return {};
}

Result<Readiness> redirect_target_readiness(int ifindex)
{
	auto name = ifname_of(ifindex);
	if (!name)
		return std::unexpected(name.error());
	auto l = get_link(ifindex);
	if (!l)
		return std::unexpected(l.error());
	Readiness r;
	if (l->kind != "veth") {
		r.ready = true;
		r.reason = *name + " is not a veth: its driver decides";
		return r;
	}
	r.is_veth = true;
	if (l->link_netnsid || !l->link) {
		r.peer_in_other_ns = true;
		r.reason = "the peer of " + *name + " is in another network namespace; make it ready there (GRO on, or an XDP program)";
		return r;
	}
	r.peer_ifindex = l->link;
	auto peer = ifname_of(l->link);
	if (!peer)
		return std::unexpected(peer.error());
	auto att = xdp_attachment(l->link);
	if (!att)
		return std::unexpected(att.error());
	r.peer_has_xdp = att->prog_id != 0;
	auto g = gro(*peer, std::nullopt);
	if (!g)
		return std::unexpected(g.error());
	r.peer_gro = *g;
	r.ready = r.peer_has_xdp || r.peer_gro;
	r.reason = r.ready ? "the peer " + *peer + (r.peer_has_xdp ? " runs an XDP program" : " has GRO on")
			   : "the peer " + *peer + " has neither an XDP program nor GRO: redirected frames would be dropped";
	return r;
}

Result<Readiness> make_redirect_target_ready(int ifindex, ReadyPolicy policy)
{
	auto r = redirect_target_readiness(ifindex);
	if (!r || r->ready)
		return r;
	auto name = ifname_of(ifindex);
	if (policy == ReadyPolicy::Refuse || r->peer_in_other_ns)
		return fail(EHOSTUNREACH, "redirect target", name ? *name : std::to_string(ifindex), r->reason);
	auto peer = ifname_of(r->peer_ifindex);
	if (!peer)
		return std::unexpected(peer.error());
	if (policy == ReadyPolicy::Gro) {
		if (auto g = gro(*peer, true); !g)
			return std::unexpected(g.error());
	} else {
		auto l = load({{"xdp_pass", {}}, {*peer}});
		if (!l)
			return std::unexpected(l.error());
	}
	return redirect_target_readiness(ifindex);
}

} // namespace xdpctl
