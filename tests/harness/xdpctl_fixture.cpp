#include "xdpctl_fixture.hpp"

#include "spawn.hpp"
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
	// one process: no shell, no `ip netns exec` (it would add two, and a mount namespace of the
	// command's own, which xdpctl with XDPCTL_BPFFS in a private bpffs does not look at)
	std::vector<std::string> argv{XDPCTL_BIN};
	for (auto &w : split_args(args))
		argv.push_back(std::move(w));
	DirectRun o;
	o.env = {"XDPCTL_BPFFS=" + (fs ? fs : fs_.get())->root()};
	o.netns = ns_->name();
	return run_direct(argv, o);
}

std::string XdpctlNetnsTest::env() const
{
	return "XDPCTL_BPFFS=" + fs_->root();
}

} // namespace xt
