#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/readiness.hpp"

namespace xdpctl {

namespace {

struct LinkAttrs {
	std::string kind;
	int link = 0;
	std::optional<int32_t> link_netnsid; // the peer's namespace, as this namespace numbers it
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
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			l->link_netnsid = static_cast<int32_t>(mnl_attr_get_u32(a));
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

using MnlSocket = std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)>;

Result<LinkAttrs> get_link(int ifindex)
{
	MnlSocket nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
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

int nsid_attr_cb(const nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
		*static_cast<int32_t *>(data) = static_cast<int32_t>(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

int nsid_msg_cb(const nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(rtgenmsg), nsid_attr_cb, data);
	return MNL_CB_OK;
}

// The id this namespace gives the namespace of netns_fd (RTM_GETNSID), -1 when it has none.
int32_t nsid_of(mnl_socket *nl, int netns_fd, unsigned seq)
{
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	auto *g = static_cast<rtgenmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtgenmsg)));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, static_cast<uint32_t>(netns_fd));
	int32_t id = NETNSA_NSID_NOT_ASSIGNED;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return id;
	ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
	if (n > 0)
		(void)mnl_cb_run(buf.data(), n, seq, mnl_socket_get_portid(nl), nsid_msg_cb, &id);
	return id;
}

constexpr const char *kNamedNetns = "/run/netns"; // where `ip netns` keeps its namespaces

// A veth peer in another namespace can only be looked at from inside it. The kernel tells us
// that namespace as an nsid, which has no path: it is found among the named namespaces (`ip
// netns`) by asking for each one's nsid. {name, fd}, or nothing when it is not a named one.
std::optional<std::pair<std::string, Fd>> named_netns_of(int32_t nsid)
{
	MnlSocket nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
	if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		return std::nullopt;
	unsigned seq = 1;
	for (const auto &name : list_dir(kNamedNetns)) {
		Fd fd(open((std::string(kNamedNetns) + "/" + name).c_str(), O_RDONLY | O_CLOEXEC));
		if (fd && nsid_of(nl.get(), fd.get(), seq++) == nsid)
			return std::pair{name, std::move(fd)};
	}
	return std::nullopt;
}

// Runs fn in a thread that joined netns_fd, so that the caller's namespace never changes.
template <typename F> auto in_netns(int netns_fd, F fn) -> decltype(fn())
{
	decltype(fn()) out = fail(EINVAL, "setns");
	std::thread t([&] {
		if (setns(netns_fd, CLONE_NEWNET)) {
			out = fail(errno, "setns", "the veth peer's namespace");
			return;
		}
		out = fn();
	});
	t.join();
	return out;
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

namespace {

// The peer's side of readiness, read in the peer's namespace: its name, XDP program and GRO.
Result<Readiness> read_peer(Readiness r)
{
	auto peer = ifname_of(r.peer_ifindex);
	if (!peer)
		return std::unexpected(peer.error());
	r.peer_name = *peer;
	auto att = xdp_attachment(r.peer_ifindex);
	if (!att)
		return std::unexpected(att.error());
	r.peer_has_xdp = att->prog_id != 0;
	auto g = gro(*peer, std::nullopt);
	if (!g)
		return std::unexpected(g.error());
	r.peer_gro = *g;
	r.ready = r.peer_has_xdp || r.peer_gro;
	return r;
}

std::string peer_words(const Readiness &r)
{
	return "the peer " + r.peer_name + (r.peer_netns.empty() ? "" : " (namespace " + r.peer_netns + ")");
}

} // namespace

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
	r.peer_ifindex = l->link;
	Result<Readiness> read = r;
	if (l->link_netnsid) {
		r.peer_in_other_ns = true;
		auto ns = l->link ? named_netns_of(*l->link_netnsid) : std::nullopt;
		if (!ns) {
			r.peer_ifindex = 0;
			r.reason = "the peer of " + *name +
				   " is in another network namespace that is not a named one (ip netns); make it ready there (GRO on, or an XDP program)";
			return r;
		}
		r.peer_netns = ns->first;
		read = in_netns(ns->second.get(), [&] { return read_peer(r); });
	} else if (l->link) {
		read = read_peer(r);
	} else {
		r.reason = *name + " has no peer";
		return r;
	}
	if (!read)
		return read;
	read->reason = peer_words(*read) +
		       (read->ready ? (read->peer_has_xdp ? " runs an XDP program" : " has GRO on")
				    : " has neither an XDP program nor GRO: redirected frames would be dropped");
	return read;
}

Status set_peer_gro(const Readiness &r, bool on)
{
	if (r.peer_netns.empty())
		return set_gro(r.peer_name, on);
	Fd ns(open((std::string(kNamedNetns) + "/" + r.peer_netns).c_str(), O_RDONLY | O_CLOEXEC));
	if (!ns)
		return fail(errno, "open", std::string(kNamedNetns) + "/" + r.peer_netns);
	return in_netns(ns.get(), [&] { return set_gro(r.peer_name, on); });
}

Result<Readiness> make_redirect_target_ready(int ifindex, ReadyPolicy policy)
{
	auto r = redirect_target_readiness(ifindex);
	if (!r || r->ready)
		return r;
	auto name = ifname_of(ifindex);
	if (policy == ReadyPolicy::Refuse || !r->peer_ifindex)
		return fail(EHOSTUNREACH, "redirect target", name ? *name : std::to_string(ifindex), r->reason);
	if (policy == ReadyPolicy::Gro) {
		if (auto st = set_peer_gro(*r, true); !st)
			return std::unexpected(st.error());
	} else {
		// xdp_pass is pinned in the peer's namespace, where `xdpctl unload` finds it
		auto load_pass = [&]() -> Status {
			auto l = load({{"xdp_pass", {}}, {r->peer_name}});
			if (!l)
				return std::unexpected(l.error());
			return {};
		};
		Status st;
		if (r->peer_netns.empty()) {
			st = load_pass();
		} else {
			Fd ns(open((std::string(kNamedNetns) + "/" + r->peer_netns).c_str(), O_RDONLY | O_CLOEXEC));
			st = ns ? in_netns(ns.get(), load_pass) : fail(errno, "open", r->peer_netns);
		}
		if (!st)
			return std::unexpected(st.error());
	}
	return redirect_target_readiness(ifindex);
}

} // namespace xdpctl
