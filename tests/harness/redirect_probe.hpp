// Watches xdp:xdp_redirect_err for one XDP program (tests/progs/xdp_redirect_err_probe.bpf.c), so
// a test can prove a redirect was refused and with which errno, not only that nothing arrived:
//
//   auto probe = RedirectErrProbe::watch(bpf_program__fd(prog));
//   ... live test run ...
//   EXPECT_EQ(probe->errors(), 1u);  EXPECT_EQ(probe->last_err(), -EOPNOTSUPP);
#pragma once

#include <cstdint>

#include "xdp_redirect_err_probe.skel.h"
#include "xdpctl/error.hpp"
#include "xdpctl/skeleton.hpp"

namespace xt {

class RedirectErrProbe {
public:
	// Attached until destroyed. Counts only errors of the program behind xdp_prog_fd.
	static xdpctl::Result<RedirectErrProbe> watch(int xdp_prog_fd);

	[[nodiscard]] uint64_t errors() const;
	[[nodiscard]] int last_err() const; // negative errno, 0 before the first error

private:
	xdpctl::Skel<xdp_redirect_err_probe> skel_;
};

} // namespace xt
