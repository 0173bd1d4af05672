// libmnl socket with extended ACK: one request, its replies, and the kernel's error in words.
#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cerrno>
#include <vector>

#include "xdpctl/nl.hpp"

namespace xdpctl::nl {
namespace {

// Big enough for one dump batch of links with stats; the kernel sizes its batches to it.
constexpr size_t kRecvBuf = 64 * 1024;

struct RunCtx {
	const Socket::Callback *cb;
	int err = 0;
	std::string msg;
};

int data_cb(const struct nlmsghdr *nlh, void *data)
{
	auto *c = static_cast<RunCtx *>(data);
	if (*c->cb)
		(*c->cb)(nlh);
	return MNL_CB_OK;
}

int noop_cb(const struct nlmsghdr *, void *)
{
	return MNL_CB_OK;
}

int error_cb(const struct nlmsghdr *nlh, void *data)
{
	auto *c = static_cast<RunCtx *>(data);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
		c->err = EBADMSG;
		return MNL_CB_ERROR;
	}
	const auto *e = static_cast<const struct nlmsgerr *>(mnl_nlmsg_get_payload(nlh));
	if (e->error == 0)
		return MNL_CB_STOP; // the ACK of a request
	c->err = -e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(struct nlmsgerr);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		mnl_attr_parse(
			nlh, static_cast<unsigned>(off),
			[](const struct nlattr *attr, void *d) {
				if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
				    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
					*static_cast<std::string *>(d) = mnl_attr_get_str(attr);
				return MNL_CB_OK;
			},
			&c->msg);
	}
	return MNL_CB_ERROR;
}

// A dump ends with NLMSG_DONE carrying an int: negative when the dump itself failed.
int done_cb(const struct nlmsghdr *nlh, void *data)
{
	auto *c = static_cast<RunCtx *>(data);
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
		int v = *static_cast<const int *>(mnl_nlmsg_get_payload(nlh));
		if (v < 0) {
			c->err = -v;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

} // namespace

void Socket::Close::operator()(struct mnl_socket *s) const noexcept
{
	mnl_socket_close(s);
}

Result<Socket> Socket::open(int bus)
{
	Socket s;
	s.bus_ = bus;
	s.sock_.reset(mnl_socket_open2(bus, SOCK_CLOEXEC));
	if (!s.sock_)
		return fail(errno, "netlink socket", bus == NETLINK_ROUTE ? "rtnetlink" : "generic netlink");
	if (mnl_socket_bind(s.sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		return fail(errno, "netlink bind");
	int one = 1;
	/* best effort: without extended ACK the errors carry no message, nothing else changes */
	mnl_socket_setsockopt(s.sock_.get(), NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s.sock_.get(), NETLINK_CAP_ACK, &one, sizeof(one));
	s.portid_ = mnl_socket_get_portid(s.sock_.get());
	return s;
}

Status Socket::transact(struct nlmsghdr *req, const Callback &cb, const std::string &op, const std::string &object)
{
	if (broken_) {
		// the replies of a failed dump may still be queued: start over on a fresh socket
		auto fresh = open(bus_);
		if (!fresh)
			return std::unexpected(fresh.error());
		*this = std::move(*fresh);
	}
	req->nlmsg_seq = ++seq_;
	if (!(req->nlmsg_flags & NLM_F_DUMP))
		req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(sock_.get(), req, req->nlmsg_len) < 0)
		return fail(errno, op, object, "netlink send");

	RunCtx ctx{&cb};
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
	ctl[NLMSG_NOOP] = noop_cb;
	ctl[NLMSG_ERROR] = error_cb;
	ctl[NLMSG_DONE] = done_cb;
	std::vector<char> buf(kRecvBuf);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
		if (n < 0) {
			broken_ = true;
			return fail(errno, op, object, "netlink receive");
		}
		int ret = mnl_cb_run2(buf.data(), static_cast<size_t>(n), req->nlmsg_seq, portid_, data_cb, &ctx, ctl,
				      NLMSG_MIN_TYPE);
		if (ret == MNL_CB_STOP)
			return {};
		if (ret < 0) {
			// a kernel error (NLMSG_ERROR / failed DONE) ends the exchange; anything else
			// (sequence mismatch, interrupted dump) may leave replies queued
			broken_ = ctx.err == 0;
			int err = ctx.err ? ctx.err : (errno ? errno : EPROTO);
			return fail(err, op, object, ctx.msg);
		}
	}
}

} // namespace xdpctl::nl
