#include "xdp_attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netns.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/skeleton.hpp"

namespace xt {

xdpctl::Result<XdpLink> XdpLink::attach(int prog_fd, int ifindex, uint32_t mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return xdpctl::fail(-fd, "attach XDP", "ifindex " + std::to_string(ifindex));
	XdpLink l;
	l.link_.reset(fd);
	return l;
}

xdpctl::Result<XdpLink> attach_xdp_pass(int ifindex)
{
	auto skel = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
	if (!skel)
		return std::unexpected(skel.error());
	return XdpLink::attach(bpf_program__fd((*skel)->progs.xdp_pass_prog), ifindex, XDP_FLAGS_DRV_MODE);
}

bool set_gro(const std::string &ifname, bool on)
{
	return must("ethtool -K " + ifname + " gro " + (on ? "on" : "off"));
}

} // namespace xt
