// Bad input to the control map, one row each: the error it must give, and that nothing changed
// (the device's XDP_ATTR, its channels and its peer's GRO read the same before and after).
#include <gtest/gtest.h>

#include <functional>

#include "kmod/ctl_backend.hpp"
#include "netns.hpp"
#include "xdpctl/ctlmap.hpp"

using namespace xt;
using namespace xdpctl;

// Parameterized over the backend (kmod/ctl_backend.hpp).
class CtlErrors : public NetnsTest, public ::testing::WithParamInterface<ctl::BackendChoice> {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		XT_REQUIRE_CTL_BACKEND(GetParam());
	}
};

namespace {

std::string device_state()
{
	std::string a, b;
	sh("ethtool -l ea0", &a);
	sh("ethtool -k eb0 | grep '^generic-receive-offload:'", &b);
	return a + b;
}

std::span<const std::byte> bytes(const void *p, size_t n)
{
	return {static_cast<const std::byte *>(p), n};
}

} // namespace

TEST_P(CtlErrors, EachBadInputGivesItsErrorAndChangesNothing)
{
	must("ip link add ea0 numtxqueues 4 numrxqueues 4 type veth peer name eb0 numtxqueues 4 numrxqueues 4");
	must("ip link set ea0 up");
	must("ip link set eb0 up");
	const uint32_t idx = static_cast<uint32_t>(ifindex_of("ea0"));

	auto attr = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	auto stats = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, GetParam());
	auto md = ctl::ControlMap::create(BPF_CTRL_XDP_MD, GetParam());
	ASSERT_TRUE(attr && stats && md) << "maps";

	auto redirect = [](uint32_t num, uint32_t size) {
		struct bpf_ctrl_xdp_attr v {};
		v.command = BPF_CTRL_SETUP_REDIRECT;
		v.rings.num = num;
		v.rings.size = size;
		return v;
	};

	struct Row {
		const char *what;
		int err;
		std::function<Status()> call;
	};
	const Row rows[] = {
		{"unknown control type", EINVAL,
		 [] {
			 auto m = ctl::ControlMap::create(42);
			 return m ? Status{} : std::unexpected(m.error());
		 }},
		{"lookup with a 2-byte key", EINVAL,
		 [&] {
			 uint16_t k = static_cast<uint16_t>(idx);
			 std::vector<std::byte> v(attr->value_size());
			 return attr->lookup_elem(bytes(&k, sizeof(k)), v);
		 }},
		{"update with an 8-byte key", EINVAL,
		 [&] {
			 uint64_t k = idx;
			 auto v = redirect(0, 0);
			 return attr->update_elem(bytes(&k, sizeof(k)), bytes(&v, sizeof(v)));
		 }},
		{"get_next_key with a 1-byte key", EINVAL,
		 [&] {
			 uint8_t k = 1;
			 uint32_t n;
			 return attr->get_next_key_elem(bytes(&k, 1), std::as_writable_bytes(std::span(&n, 1)));
		 }},
		{"update with a value one byte short", EINVAL,
		 [&] {
			 auto v = redirect(0, 0);
			 return attr->update_elem(bytes(&idx, 4), bytes(&v, sizeof(v) - 1));
		 }},
		{"lookup of an ifindex that does not exist", ENOENT,
		 [&] {
			 std::vector<std::byte> v(stats->value_size());
			 return stats->lookup(999999, v);
		 }},
		{"update of an ifindex that does not exist", ENOENT, [&] { return attr->update_as(999999, redirect(0, 0)); }},
		{"unknown command", EINVAL,
		 [&] {
			 auto v = redirect(0, 0);
			 v.command = 77;
			 return attr->update_as(idx, v);
		 }},
		{"SETUP_MD sent to XDP_ATTR", EINVAL,
		 [&] {
			 auto v = redirect(0, 0);
			 v.command = BPF_CTRL_SETUP_MD;
			 return attr->update_as(idx, v);
		 }},
		{"update of the read-only XDP_STATS", EINVAL,
		 [&] {
			 struct bpf_ctrl_xdp_stats v {};
			 return stats->update_as(idx, v);
		 }},
		{"value.ifindex naming another device", EINVAL,
		 [&] {
			 auto v = redirect(0, 0);
			 v.ifindex = idx + 1;
			 return attr->update_as(idx, v);
		 }},
		{"ring size on veth, which has no rings (with channels asked too)", EOPNOTSUPP,
		 [&] { return attr->update_as(idx, redirect(2, 256)); }},
		{"more channels than the device has", EINVAL, [&] { return attr->update_as(idx, redirect(64, 0)); }},
		{"SETUP_MD with enable_md neither 0 nor 1", EINVAL,
		 [&] {
			 struct bpf_ctrl_xdp_md v {};
			 v.command = BPF_CTRL_SETUP_MD;
			 v.enable_md = 2;
			 return md->update_as(idx, v);
		 }},
	};

	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		auto before = attr->lookup(idx);
		ASSERT_TRUE(before) << before.error().message();
		std::string state = device_state();
		auto st = row.call();
		ASSERT_FALSE(st) << "must fail";
		EXPECT_EQ(st.error().err, row.err) << "errno; message: " << st.error().message();
		EXPECT_FALSE(st.error().message().empty()) << "a clear message";
		auto after = attr->lookup(idx);
		ASSERT_TRUE(after) << after.error().message();
		EXPECT_EQ(*after, *before) << "XDP_ATTR unchanged";
		EXPECT_EQ(device_state(), state) << "channels and peer GRO unchanged";
	}
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlErrors, ::testing::ValuesIn(ctl_backends()), ctl_backend_name);
