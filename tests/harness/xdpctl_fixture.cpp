#include "xdpctl_fixture.hpp"

#include "xdpctl/loader.hpp"

namespace xt {

void XdpctlNetnsTest::SetUp()
{
	NetnsTest::SetUp();
	if (HasFatalFailure() || IsSkipped())
		return;
	fs_ = std::make_unique<BpffsDir>();
	ASSERT_TRUE(fs_->ok()) << "private bpffs";
}

void XdpctlNetnsTest::TearDown()
{
	if (fs_) {
		(void)xdpctl::unload_all();
		fs_.reset();
	}
	NetnsTest::TearDown();
}

CmdResult XdpctlNetnsTest::xdpctl(const std::string &args, const BpffsDir *fs) const
{
	return run_cmd(ns_->exec() + XDPCTL_BIN + " " + args, "XDPCTL_BPFFS=" + (fs ? fs : fs_.get())->root());
}

std::string XdpctlNetnsTest::env() const
{
	return "XDPCTL_BPFFS=" + fs_->root();
}

} // namespace xt
