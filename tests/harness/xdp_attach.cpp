#include "xdp_attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

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
	// The ethtool ioctl rather than the ethtool binary: minimal guests (the kernel lane) lack it.
	struct ethtool_value ev {};
	ev.cmd = ETHTOOL_SGRO;
	ev.data = on ? 1 : 0;
	struct ifreq ifr {};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
	ifr.ifr_data = reinterpret_cast<char *>(&ev);
	xdpctl::Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!s || ioctl(s.get(), SIOCETHTOOL, &ifr) != 0) {
		ADD_FAILURE() << "ETHTOOL_SGRO " << (on ? "on" : "off") << " on " << ifname << ": " << std::strerror(errno);
		return false;
	}
	return true;
}

} // namespace xt
