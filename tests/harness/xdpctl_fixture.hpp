// The fixture of tests that drive xdpctl in a network namespace of their own: NetnsTest, plus a
// private bpffs for xdpctl's pins (BpffsDir points XDPCTL_BPFFS into it, for the library in this
// process and for the xdpctl commands the test runs), and at TearDown everything xdpctl loaded in
// the namespace unloaded before the namespace goes, whatever the test left.
//
//   class CliThing : public xt::XdpctlNetnsTest {};
//   TEST_F(CliThing, Loads) { add_veth("a0", "b0"); EXPECT_EQ(xdpctl("load xdp_pass a0").rc, 0); }
#pragma once

#include <memory>
#include <string>

#include "bpffs_dir.hpp"
#include "netns.hpp"

namespace xt {

class XdpctlNetnsTest : public NetnsTest {
protected:
	void SetUp() override;
	void TearDown() override;

	// `xdpctl ARGS` run inside the test namespace, with this test's bpffs (or fs): ARGS split at
	// whitespace, no shell (run_direct); for redirections or a wrapper, run_cmd(ns().exec() + ...).
	CmdResult xdpctl(const std::string &args, const BpffsDir *fs = nullptr) const;
	// "XDPCTL_BPFFS=<this test's root>", for commands run by hand.
	std::string env() const;

	std::unique_ptr<BpffsDir> fs_;
};

} // namespace xt
