// A broadcast group resized under traffic through the real CLI loses no frame. Frames go out of
// in0p into in0 (xdp_broadcast or xdp_broadcast_hash, loaded by xdpctl) while `xdpctl broadcast
// add` grows the group past its devmap (8 -> 16 -> 32 slots) and `broadcast del` shrinks it
// again; every receiver r<N>q runs xdp_pass (loaded by xdpctl), whose pinned counters say what
// it got. A port that was in the group all along gets every frame sent; a port added mid-stream
// gets at least every frame in0 handled after its `add` returned.
#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "prog_run.hpp"
#include "traffic.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl_fixture.hpp"

using namespace xt;
using namespace std::chrono_literals;

namespace {

constexpr int kPorts = 20;
constexpr int kBatch = 16; // frames in flight at most: well below a veth's 256-frame ring

std::string rx(int n)
{
	return "r" + std::to_string(n);
}

std::string ports(int from, int to)
{
	std::string s;
	for (int i = from; i < to; i++)
		s += " " + rx(i);
	return s;
}

class GroupGrow : public XdpctlNetnsTest, public ::testing::WithParamInterface<const char *> {
protected:
	void SetUp() override
	{
		XdpctlNetnsTest::SetUp();
		// every pair in one `ip -b` (kPorts + 1 pairs: a process each would cost seconds in the lane)
		std::vector<std::pair<std::string, std::string>> pairs = {{"in0", "in0p"}};
		for (int i = 0; i < kPorts; i++)
			pairs.emplace_back(rx(i), rx(i) + "q");
		auto made = add_veths(pairs);
		ASSERT_EQ(made.size(), pairs.size());
		in_ = made[0];
		ASSERT_GT(in_.ifindex, 0) << "veth in0";
		std::string peers;
		for (int i = 0; i < kPorts; i++) {
			const auto &v = made[static_cast<size_t>(i) + 1];
			ASSERT_GT(v.ifindex, 0) << "veth " << rx(i);
			rx_.push_back(v);
			peers += " " + v.peer;
		}
		auto l = xdpctl(std::string("load ") + GetParam() + " in0");
		ASSERT_EQ(l.rc, 0) << l.out << l.err;
		auto p = xdpctl("load xdp_pass" + peers);
		ASSERT_EQ(p.rc, 0) << p.out << p.err;
		auto layout = xdpctl::current_layout();
		ASSERT_TRUE(layout) << layout.error().message();
		layout_ = *layout;
	}

	uint64_t counted(int ifindex, uint32_t action) const
	{
		xdpctl::Fd fd(bpf_obj_get(layout_.if_map_pin(ifindex, "xdpctl_stats").c_str()));
		return fd ? read_action_stats(fd.get())[action].packets : 0;
	}
	uint64_t at_in0() const { return counted(in_.ifindex, XDP_REDIRECT); }
	std::vector<uint64_t> at_receivers() const
	{
		std::vector<uint64_t> out;
		for (const auto &v : rx_)
			out.push_back(counted(v.peer_ifindex, XDP_PASS));
		return out;
	}

	// Sends kBatch frames at a time out of in0p, each batch once in0 handled the one before,
	// until stop (and then `tail` more batches); returns frames sent, or -1 when in0 stalled.
	int64_t send_paced(const std::atomic<bool> &stop, int tail)
	{
		auto frame = Packet().eth(kMacBcast, in_.peer_mac).ipv4("10.0.0.1", "10.0.0.255").udp(1000, 2000).payload(18).build();
		uint64_t base = at_in0();
		int64_t sent = 0;
		while (!stop || tail-- > 0) {
			sent += send_frames("in0p", frame, kBatch);
			auto deadline = std::chrono::steady_clock::now() + 2s;
			while (at_in0() - base < static_cast<uint64_t>(sent)) {
				if (std::chrono::steady_clock::now() > deadline)
					return -1;
				std::this_thread::sleep_for(200us);
			}
		}
		return sent;
	}

	// Waits until the receivers' counters stop moving (their NAPI may lag in0's).
	std::vector<uint64_t> settled() const
	{
		auto last = at_receivers();
		for (int i = 0; i < 40; i++) {
			std::this_thread::sleep_for(25ms);
			auto now = at_receivers();
			if (now == last)
				return now;
			last = now;
		}
		return last;
	}

	// Runs commands while frames flow; returns frames sent and, per command, in0's count (since
	// the start) when it returned.
	std::pair<int64_t, std::vector<uint64_t>> under_traffic(const std::vector<std::string> &cmds)
	{
		std::atomic<bool> stop{false};
		int64_t sent = 0;
		uint64_t base = at_in0();
		std::thread sender([&] {
			if (join_netns(ns()))
				sent = send_paced(stop, 20);
			else
				sent = -2;
		});
		std::vector<uint64_t> done_at;
		for (const auto &c : cmds) {
			std::this_thread::sleep_for(30ms);
			auto r = xdpctl(c);
			done_at.push_back(at_in0() - base);
			EXPECT_EQ(r.rc, 0) << c << ": " << r.out << r.err;
		}
		std::this_thread::sleep_for(30ms);
		stop = true;
		sender.join();
		return {sent, done_at};
	}

	// status -j's entry for the pinned devmap `name`.
	nlohmann::json devmap(const std::string &name)
	{
		auto s = xdpctl("status -j");
		EXPECT_EQ(s.rc, 0) << s.err;
		auto j = nlohmann::json::parse(s.out);
		for (const auto &d : j.at("devmaps"))
			if (d.at("name") == name)
				return d;
		ADD_FAILURE() << "status lists no devmap " << name;
		return nlohmann::json::object();
	}

	void expect_group(size_t members, uint32_t size)
	{
		for (const char *m : {"bcast_ports", "bcast_ports_hash"}) {
			auto d = devmap(m);
			EXPECT_EQ(d.value("max_entries", 0u), size) << m << " sized to the group (status)";
			EXPECT_EQ(d.value("entries", nlohmann::json::array()).size(), members) << m << " entries (status)";
			std::string out;
			ASSERT_EQ(sh("bpftool -j map show pinned " + layout_.map_pin(m), &out), 0) << "bpftool on the pin";
			EXPECT_EQ(nlohmann::json::parse(out).value("max_entries", 0u), size) << m << ": the pin names the devmap in use";
		}
	}

	VethPair in_;
	std::vector<VethPair> rx_;
	xdpctl::Layout layout_;
};

} // namespace

TEST_P(GroupGrow, NoFrameLostWhileTheGroupGrowsAndShrinks)
{
	auto a = xdpctl("broadcast add" + ports(0, 7));
	ASSERT_EQ(a.rc, 0) << a.out << a.err;
	expect_group(7, 8);

	// before: 7 ports in a devmap of 8
	std::atomic<bool> stop{true};
	auto before0 = at_receivers();
	int64_t sent = send_paced(stop, 20);
	ASSERT_EQ(sent, 20 * kBatch) << "in0 handled every frame";
	auto before = settled();
	for (int i = 0; i < kPorts; i++)
		EXPECT_EQ(before[i] - before0[i], i < 7 ? static_cast<uint64_t>(sent) : 0u) << "before the grow, " << rx(i);

	// during: 8 (fits), 9 (grows to 16), 20 (grows to 32) while frames flow
	auto [during_sent, done_at] =
		under_traffic({"broadcast add r7", "broadcast add r8", "broadcast add" + ports(9, kPorts)});
	ASSERT_GT(during_sent, 0) << "in0 handled every frame during the grow";
	auto during = settled();
	for (int i = 0; i < kPorts; i++) {
		uint64_t got = during[i] - before[i];
		if (i < 7) {
			EXPECT_EQ(got, static_cast<uint64_t>(during_sent)) << "member all along, " << rx(i);
			continue;
		}
		uint64_t after_add = during_sent - done_at[i == 7 ? 0 : i == 8 ? 1 : 2];
		EXPECT_GE(got, after_add) << rx(i) << " got every frame after its add returned";
		EXPECT_LE(got, static_cast<uint64_t>(during_sent)) << rx(i) << " got no frame twice";
	}
	expect_group(kPorts, 32);

	// after: every port gets every frame
	sent = send_paced(stop, 20);
	auto after = settled();
	for (int i = 0; i < kPorts; i++)
		EXPECT_EQ(after[i] - during[i], static_cast<uint64_t>(sent)) << "after the grow, " << rx(i);

	// shrink while frames flow: 3 left, the devmap goes back to 8
	auto [shrink_sent, _] = under_traffic({"broadcast del" + ports(3, kPorts)});
	ASSERT_GT(shrink_sent, 0) << "in0 handled every frame during the shrink";
	auto shrunk = settled();
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(shrunk[i] - after[i], static_cast<uint64_t>(shrink_sent)) << "member all along, " << rx(i);
	expect_group(3, 8);
	sent = send_paced(stop, 20);
	auto last = settled();
	for (int i = 0; i < kPorts; i++)
		EXPECT_EQ(last[i] - shrunk[i], i < 3 ? static_cast<uint64_t>(sent) : 0u) << "after the shrink, " << rx(i);
}

INSTANTIATE_TEST_SUITE_P(Flavours, GroupGrow, ::testing::Values("xdp_broadcast", "xdp_broadcast_hash"),
			 [](const auto &info) { return std::string(info.param); });
