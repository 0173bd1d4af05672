#include "xdpctl/tc.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

namespace xdpctl {
namespace {

bool same_netns(int fd)
{
	struct stat a {}, b {};
	return fd >= 0 && fstat(fd, &a) == 0 && stat("/proc/thread-self/ns/net", &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

} // namespace

Result<TcFilter> TcFilter::attach(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	std::string where = "ifindex " + std::to_string(ifindex);
	TcFilter f;
	f.netns_ = Fd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
	if (!f.netns_)
		return fail(errno, "open", "/proc/thread-self/ns/net");

	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return fail(-err, "create clsact qdisc", where);
	f.ifindex_ = ifindex;
	f.point_ = point;
	f.own_qdisc_ = !err;

	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return fail(-err, "attach tc filter", where); // f's destructor removes the qdisc
	f.handle_ = opts.handle;
	f.priority_ = opts.priority;
	return f;
}

void TcFilter::detach() noexcept
{
	if (!ifindex_)
		return;
	if (same_netns(netns_.get())) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = point_);
		if (handle_) {
			LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle_, .priority = priority_);
			bpf_tc_detach(&hook, &opts);
		}
		if (own_qdisc_) {
			hook.attach_point = static_cast<enum bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
			bpf_tc_hook_destroy(&hook);
		}
	}
	ifindex_ = 0;
	handle_ = 0;
	netns_.reset();
}

} // namespace xdpctl
