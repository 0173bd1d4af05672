// xdp_egress, the devmap egress programs: proven with live frames, and what the kernel refuses.
//
// The kernel refuses BPF_PROG_TEST_RUN of a program whose expected attach type is
// BPF_XDP_DEVMAP (net/bpf/test_run.c: -EINVAL before anything runs), and a test run cannot set
// ctx->egress_ifindex either. So the table below is driven the way frames really reach an
// egress program: tests/progs/egress_ingress.bpf.c redirects each frame (BPF_PROG_TEST_RUN with
// BPF_F_TEST_XDP_LIVE_FRAMES) through a devmap whose entry carries xdp_egress, the kernel runs
// xdp_egress for the egress veth, and the veth's peer (made a ready redirect target by xdp_pass)
// receives what the egress program let through. Each port has its own xdp_egress instance, its
// configuration in the instance's rodata port_cfg, as the loader makes them. Each row: a
// described frame, the port, what that port's peer must receive byte for byte (or nothing), and
// what was done to it (for the port's counters). The egress program runs inside the test-run
// syscall, so its counters are exact when the call returns; only the peer's receive is
// asynchronous.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sys/utsname.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "egress_ingress.skel.h"
#include "kernel.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "wire_capture.hpp"
// the skeleton's rodata port_cfg is a struct xdpctl_egress_port: declared first
#include "xdpctl/egress.h"

#include "xdp_egress.skel.h"
#include "xdp_pass.skel.h"
#include "xdpctl/compat.h"
#include "xdpctl/fd.hpp"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t kTrunkTci = (3 << 13) | 100; // PCP 3, VID 100
constexpr uint16_t kServiceTci = 300;            // 802.1ad service VLAN

struct PortSpec {
	const char *name;
	bool configured;
	uint8_t vlan_action;
	uint16_t vlan_proto;
	uint16_t vlan_tci;
	uint8_t drop;
};

// The egress ports of the live tests; each is veth e_NAME whose peer p_NAME receives.
constexpr PortSpec kPorts[] = {
	{"plain", true, XDPCTL_EGRESS_VLAN_NONE, 0, 0, 0},
	{"trunk", true, XDPCTL_EGRESS_VLAN_PUSH, 0x8100, kTrunkTci, 0},
	{"access", true, XDPCTL_EGRESS_VLAN_POP, 0, 0, 0},
	{"closed", true, XDPCTL_EGRESS_VLAN_NONE, 0, 0, XDPCTL_EGRESS_DROP_ALL},
	{"svlan", true, XDPCTL_EGRESS_VLAN_PUSH, 0x88a8, kServiceTci, 0},
	{"tagonly", true, XDPCTL_EGRESS_VLAN_NONE, 0, 0, XDPCTL_EGRESS_DROP_UNTAGGED},
	{"untagonly", true, XDPCTL_EGRESS_VLAN_NONE, 0, 0, XDPCTL_EGRESS_DROP_TAGGED},
	{"unconf", false, 0, 0, 0, 0},
};

// What the egress program did to a frame: decides which per-port counter moves.
enum class Effect { Sent, Pushed, Popped, Unconfigured, PolicyDrop, Malformed };

struct Row {
	std::string what;
	std::string port;
	Bytes in;
	std::optional<Bytes> out; // what the port transmits; nullopt: the frame was dropped
	Effect effect;
	// The receiving stack drops a tagged frame with less than 2 bytes after the tag
	// (skb_vlan_untag() pulls VLAN_HLEN + 2) before AF_PACKET sees it: such a frame is proven by
	// the counters (transmitted, its length) only.
	bool on_wire = true;
};

// One port's counters: its instance's xdpctl_stats and egress_counters, summed over CPUs.
struct PortCounters {
	uint64_t pass_packets = 0, pass_bytes = 0, drop_packets = 0, drop_bytes = 0;
	uint64_t policy_drops = 0, malformed = 0, errors = 0, popped = 0;
	bool operator==(const PortCounters &) const = default;
};

PortCounters read_port_counters(const xdpctl::Skel<xdp_egress> &eg)
{
	PortCounters c;
	auto a = read_action_stats(eg->maps.xdpctl_stats);
	c.pass_packets = a[XDP_PASS].packets;
	c.pass_bytes = a[XDP_PASS].bytes;
	c.drop_packets = a[XDP_DROP].packets;
	c.drop_bytes = a[XDP_DROP].bytes;
	int fd = bpf_map__fd(eg->maps.egress_counters);
	c.policy_drops = percpu_u64(fd, XDPCTL_EGRESS_CNT_POLICY_DROP);
	c.malformed = percpu_u64(fd, XDPCTL_EGRESS_CNT_MALFORMED);
	c.errors = percpu_u64(fd, XDPCTL_EGRESS_CNT_ERROR);
	c.popped = percpu_u64(fd, XDPCTL_EGRESS_CNT_VLAN_POPPED);
	return c;
}

void expect_port_counters(const PortCounters &got, const PortCounters &want, const std::string &port)
{
	EXPECT_EQ(got.pass_packets, want.pass_packets) << port << ": packets transmitted (XDP_PASS)";
	EXPECT_EQ(got.pass_bytes, want.pass_bytes) << port << ": bytes transmitted";
	EXPECT_EQ(got.drop_packets, want.drop_packets) << port << ": packets dropped (XDP_DROP)";
	EXPECT_EQ(got.drop_bytes, want.drop_bytes) << port << ": bytes dropped, as they came";
	EXPECT_EQ(got.policy_drops, want.policy_drops) << port << ": policy drops";
	EXPECT_EQ(got.malformed, want.malformed) << port << ": malformed drops";
	EXPECT_EQ(got.errors, want.errors) << port << ": adjust_head errors";
	EXPECT_EQ(got.popped, want.popped) << port << ": tags popped";
}

void account(PortCounters &c, const Row &row)
{
	if (row.out) {
		c.pass_packets++;
		c.pass_bytes += row.out->size();
	} else {
		c.drop_packets++;
		c.drop_bytes += row.in.size();
	}
	switch (row.effect) {
	case Effect::Sent:
	case Effect::Pushed:
	case Effect::Unconfigured: break;
	case Effect::Popped: c.popped++; break;
	case Effect::PolicyDrop: c.policy_drops++; break;
	case Effect::Malformed: c.malformed++; break;
	}
}

// An xdp_egress instance for one port, configured through its rodata as the loader does.
xdpctl::Result<xdpctl::Skel<xdp_egress>> load_port_instance(const struct xdpctl_egress_port &cfg)
{
	auto eg = xdpctl::open_skel<xdp_egress>("xdp_egress");
	if (!eg)
		return std::unexpected(eg.error());
	(*eg)->rodata->port_cfg = cfg;
	if (auto st = xdpctl::load_skel(*eg, "xdp_egress"); !st)
		return std::unexpected(st.error());
	return eg;
}

int devmap_val_update(int map_fd, uint32_t key, int ifindex, int prog_fd)
{
	struct bpf_devmap_val v {};
	v.ifindex = static_cast<uint32_t>(ifindex);
	v.bpf_prog.fd = prog_fd;
	return bpf_map_update_elem(map_fd, &key, &v, 0) ? -errno : 0;
}

class XdpEgressLive : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		in_ = add_veth("in0", "in0p");
		ASSERT_GT(in_.ifindex, 0) << "ingress veth";
		for (const auto &p : kPorts) {
			ports_[p.name] = add_veth(std::string("e_") + p.name, std::string("p_") + p.name);
			ASSERT_GT(ports_[p.name].ifindex, 0) << "egress veth " << p.name;
		}

		auto pass = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
		ASSERT_TRUE(pass) << pass.error().message();
		pass_ = std::move(*pass);
		auto ing = xdpctl::open_and_load_skel<egress_ingress>("egress_ingress");
		ASSERT_TRUE(ing) << ing.error().message();
		ingress_ = std::move(*ing);

		// A veth transmits XDP frames only when its peer runs XDP: xdp_pass, native mode.
		// The programs go away with the namespace's devices in TearDown.
		for (const auto &p : kPorts)
			ASSERT_EQ(bpf_xdp_attach(ports_[p.name].peer_ifindex, bpf_program__fd(pass_->progs.xdp_pass_prog),
						 XDP_FLAGS_DRV_MODE, nullptr),
				  0)
				<< "xdp_pass on p_" << p.name;

		for (const auto &p : kPorts) {
			struct xdpctl_egress_port cfg {};
			if (p.configured) {
				std::copy(ports_[p.name].mac.begin(), ports_[p.name].mac.end(), cfg.src_mac);
				cfg.set_src_mac = 1;
				cfg.vlan_action = p.vlan_action;
				cfg.vlan_proto = p.vlan_proto;
				cfg.vlan_tci = p.vlan_tci;
				cfg.drop = p.drop;
			}
			auto eg = load_port_instance(cfg);
			ASSERT_TRUE(eg) << "xdp_egress instance for " << p.name << ": " << eg.error().message();
			egress_[p.name] = std::move(*eg);
		}
	}

	int egress_fd(const std::string &port, bool frags) const
	{
		const auto &eg = egress_.at(port);
		return bpf_program__fd(frags ? eg->progs.xdp_egress_frags : eg->progs.xdp_egress);
	}

	Mac mac(const std::string &port) { return ports_.at(port).mac; }

	// The rows: every port, and the frames the issue names (plain, tagged, VLAN-in-VLAN, runt,
	// truncated, maximum size).
	std::vector<Row> rows()
	{
		auto plain = [](const Mac &src) { return Packet().eth(kMacB, src).payload(46).build(); };
		auto tagged = [](const Mac &src) { return Packet().eth(kMacB, src).vlan(20).payload(46).build(); };
		auto udp = [](const Mac &src) {
			return Packet().eth(kMacB, src).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(18).build();
		};
		auto big = [](const Mac &src) {
			return Packet().eth(kMacB, src).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).pad_to(1514).build();
		};
		// Header only (ethertype kEthTest), and a tag cut after its TCI (no inner ethertype).
		Bytes runt = truncated(plain(kMacA), 14);
		Bytes cut_tag = truncated(tagged(kMacA), 16);

		return {
			{"plain frame, plain port: only the source MAC changes", "plain", plain(kMacA), plain(mac("plain")),
			 Effect::Sent},
			{"udp frame, trunk port: 802.1Q tag pushed", "trunk", udp(kMacA),
			 Packet().eth(kMacB, mac("trunk")).vlan(kTrunkTci).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(18).build(),
			 Effect::Pushed},
			{"tagged frame, trunk port: second tag pushed outside the first", "trunk", tagged(kMacA),
			 Packet().eth(kMacB, mac("trunk")).vlan(kTrunkTci).vlan(20).payload(46).build(), Effect::Pushed},
			{"runt (Ethernet header only), plain port", "plain", runt, truncated(plain(mac("plain")), 14), Effect::Sent},
			{"runt (Ethernet header only), unconfigured port: unchanged", "unconf", runt, runt, Effect::Unconfigured},
			{"runt (Ethernet header only), trunk port: tag pushed", "trunk", runt,
			 truncated(Packet().eth(kMacB, mac("trunk")).vlan(kTrunkTci).payload(46).build(), 18), Effect::Pushed,
			 false},
			{"runt (Ethernet header only), access port: nothing to pop", "access", runt,
			 truncated(plain(mac("access")), 14), Effect::Sent},
			{"maximum-size frame (1514), trunk port: leaves as 1518", "trunk", big(kMacA),
			 Packet().eth(kMacB, mac("trunk")).vlan(kTrunkTci).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).pad_to(1518).build(),
			 Effect::Pushed},
			{"tagged frame, service-VLAN port: 802.1ad tag pushed outside (QinQ)", "svlan", tagged(kMacA),
			 Packet().eth(kMacB, mac("svlan")).vlan(kServiceTci, 0x88a8).vlan(20).payload(46).build(),
			 Effect::Pushed},
			{"tagged frame, access port: tag popped", "access", tagged(kMacA), plain(mac("access")), Effect::Popped},
			{"untagged frame, access port: nothing to pop", "access", udp(kMacA), udp(mac("access")), Effect::Sent},
			{"vlan in vlan, access port: only the outer 802.1ad tag popped", "access",
			 Packet().eth(kMacB, kMacA).vlan(10, 0x88a8).vlan(20).payload(46).build(), tagged(mac("access")),
			 Effect::Popped},
			{"truncated tag, access port: dropped as malformed", "access", cut_tag, std::nullopt, Effect::Malformed},
			{"maximum-size frame (1514), plain port", "plain", big(kMacA), big(mac("plain")), Effect::Sent},
			{"plain frame, closed port: dropped by policy", "closed", plain(kMacA), std::nullopt, Effect::PolicyDrop},
			{"maximum-size frame, closed port: dropped by policy", "closed", big(kMacA), std::nullopt,
			 Effect::PolicyDrop},
			{"untagged frame, tagged-only port: dropped by policy", "tagonly", plain(kMacA), std::nullopt,
			 Effect::PolicyDrop},
			{"tagged frame, tagged-only port: tag kept, MAC rewritten", "tagonly", tagged(kMacA), tagged(mac("tagonly")),
			 Effect::Sent},
			{"tagged frame, untagged-only port: dropped by policy", "untagonly", tagged(kMacA), std::nullopt,
			 Effect::PolicyDrop},
			{"udp frame, untagged-only port: passes, MAC rewritten", "untagonly", udp(kMacA), udp(mac("untagonly")),
			 Effect::Sent},
			{"plain frame, unconfigured port: unchanged", "unconf", plain(kMacA), plain(kMacA), Effect::Unconfigured},
			{"tagged frame, unconfigured port: unchanged", "unconf", tagged(kMacA), tagged(kMacA),
			 Effect::Unconfigured},
		};
	}

	// Sends every row through the ingress program, then checks each peer and the counters.
	void run_table(bool frags)
	{
		std::map<std::string, std::unique_ptr<WireCapture>> caps;
		for (const auto &p : kPorts)
			caps[p.name] = std::make_unique<WireCapture>(std::string("p_") + p.name);

		const struct bpf_program *prog =
			frags ? ingress_->progs.egress_redirect_frags : ingress_->progs.egress_redirect;
		int tx_fd = bpf_map__fd(frags ? ingress_->maps.tx_port_frags : ingress_->maps.tx_port);

		std::map<std::string, std::vector<const Row *>> arrive;
		std::map<std::string, PortCounters> want;
		const auto table = rows();
		for (const auto &row : table) {
			SCOPED_TRACE(row.what);
			ASSERT_EQ(devmap_val_update(tx_fd, static_cast<uint32_t>(in_.ifindex), ports_[row.port].ifindex,
						    egress_fd(row.port, frags)),
				  0)
				<< "devmap entry: ingress -> " << row.port << " with the port's egress program";
			auto r = run_xdp(prog, row.in, {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex), .live = true});
			ASSERT_EQ(r.err, 0) << "live test run";
			account(want[row.port], row);
			if (row.out && row.on_wire)
				arrive[row.port].push_back(&row);
		}

		for (const auto &p : kPorts) {
			SCOPED_TRACE(std::string("port ") + p.name);
			const auto &exp = arrive[p.name];
			auto got = caps[p.name]->drain(exp.size(), exp.empty() ? 100ms : 2000ms, to_mac(kMacB));
			EXPECT_EQ(got.size(), exp.size()) << "frames received on p_" << p.name << [&] {
				std::string s;
				for (const auto &f : got)
					s += "\n got " + hex(f, 64) + " (" + std::to_string(f.size()) + " bytes)";
				return s;
			}();
			for (size_t i = 0; i < exp.size() && i < got.size(); i++)
				EXPECT_EQ(got[i], *exp[i]->out) << exp[i]->what << "\n got " << hex(got[i]) << "\nwant "
								 << hex(*exp[i]->out);
			expect_port_counters(read_port_counters(egress_.at(p.name)), want[p.name], p.name);
			EXPECT_EQ(read_action_stats(egress_.at(p.name)->maps.xdpctl_stats)[XDP_ABORTED].packets, 0u)
				<< p.name << ": XDP_ABORTED";
		}

		auto in = read_action_stats(ingress_->maps.xdpctl_stats);
		EXPECT_EQ(in[XDP_REDIRECT].packets, table.size()) << "ingress redirected every row";
		EXPECT_EQ(in[XDP_DROP].packets, 0u) << "no devmap lookup miss";
	}

	// One frame to every port at once: BPF_F_BROADCAST gives each entry its own copy, and each
	// copy meets its own port's egress program.
	void run_broadcast(bool frags)
	{
		std::map<std::string, std::unique_ptr<WireCapture>> caps;
		int bcast_fd = bpf_map__fd(frags ? ingress_->maps.bcast_ports_frags : ingress_->maps.bcast_ports);
		uint32_t key = 0;
		for (const auto &p : kPorts) {
			caps[p.name] = std::make_unique<WireCapture>(std::string("p_") + p.name);
			ASSERT_EQ(devmap_val_update(bcast_fd, key++, ports_[p.name].ifindex, egress_fd(p.name, frags)), 0)
				<< "broadcast devmap entry " << p.name;
		}
		auto tagged = [](const Mac &src) { return Packet().eth(kMacB, src).vlan(20).payload(46).build(); };
		Bytes in = tagged(kMacA);
		std::map<std::string, std::optional<Bytes>> want = {
			{"plain", tagged(mac("plain"))},
			{"trunk", Packet().eth(kMacB, mac("trunk")).vlan(kTrunkTci).vlan(20).payload(46).build()},
			{"access", Packet().eth(kMacB, mac("access")).payload(46).build()},
			{"closed", std::nullopt},
			{"svlan", Packet().eth(kMacB, mac("svlan")).vlan(kServiceTci, 0x88a8).vlan(20).payload(46).build()},
			{"tagonly", tagged(mac("tagonly"))},
			{"untagonly", std::nullopt},
			{"unconf", in},
		};

		const struct bpf_program *prog =
			frags ? ingress_->progs.egress_broadcast_frags : ingress_->progs.egress_broadcast;
		auto r = run_xdp(prog, in, {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex), .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";

		for (const auto &p : kPorts) {
			SCOPED_TRACE(std::string("port ") + p.name);
			const auto &exp = want[p.name];
			auto got = caps[p.name]->drain(exp ? 1 : 0, exp ? 2000ms : 100ms, to_mac(kMacB));
			ASSERT_EQ(got.size(), exp ? 1u : 0u) << "frames received on p_" << p.name;
			if (exp) {
				EXPECT_EQ(got[0], *exp) << "\n got " << hex(got[0]) << "\nwant " << hex(*exp);
			}
			auto c = read_port_counters(egress_.at(p.name));
			EXPECT_EQ(c.pass_packets, exp ? 1u : 0u) << "packets transmitted";
			EXPECT_EQ(c.pass_bytes, exp ? exp->size() : 0u) << "bytes transmitted";
			EXPECT_EQ(c.policy_drops, exp ? 0u : 1u) << "policy drops";
		}
		auto in_stats = read_action_stats(ingress_->maps.xdpctl_stats);
		EXPECT_EQ(in_stats[XDP_REDIRECT].packets, 1u) << "one broadcast redirect";
	}

	VethPair in_;
	std::map<std::string, VethPair> ports_;
	xdpctl::Skel<xdp_pass> pass_;
	std::map<std::string, xdpctl::Skel<xdp_egress>> egress_; // one instance per port
	xdpctl::Skel<egress_ingress> ingress_;
};

} // namespace

TEST_F(XdpEgressLive, RedirectedFramesAreRewrittenPerPort)
{
	run_table(false);
}

TEST_F(XdpEgressLive, RedirectedFramesAreRewrittenPerPortFrags)
{
	run_table(true);
}

TEST_F(XdpEgressLive, BroadcastCopiesAreRewrittenPerPort)
{
	XT_REQUIRE_KERNEL(6, 12, "live-frame broadcast delivering a copy to every destination (the 6.1 guest loses the lowest-ifindex destination's copy; verified on 6.12)");
	run_broadcast(false);
}

TEST_F(XdpEgressLive, BroadcastCopiesAreRewrittenPerPortFrags)
{
	XT_REQUIRE_KERNEL(6, 12, "live-frame broadcast delivering a copy to every destination (the 6.1 guest loses the lowest-ifindex destination's copy; verified on 6.12)");
	run_broadcast(true);
}

// ---- What the kernel must refuse --------------------------------------------------------------

namespace {

const Bytes kFrame = Packet().eth(kMacB, kMacA).payload(46).build();

// Deletes a link of the test namespace when it goes out of scope.
struct LinkDeletedFirst {
	std::string name;
	~LinkDeletedFirst() { must("ip link del " + name); }
};

// Negative cases need a real device for devmap entries and device binding.
class XdpEgressRefused : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		v_ = add_veth("r0", "r1");
		ASSERT_GT(v_.ifindex, 0) << "veth";
	}
	VethPair v_;
};

} // namespace

// net/bpf/test_run.c: a program with expected attach type BPF_XDP_DEVMAP (or CPUMAP) is refused
// with -EINVAL before it runs; this is why the table above uses live frames.
TEST(XdpEgressKernel, RefusesTestRunOfDevmapPrograms)
{
	auto eg = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	for (const auto *prog : {(*eg)->progs.xdp_egress, (*eg)->progs.xdp_egress_frags}) {
		SCOPED_TRACE(bpf_program__name(prog));
		auto r = run_xdp(prog, kFrame);
		EXPECT_EQ(r.err, -EINVAL) << "BPF_PROG_TEST_RUN of an xdp/devmap program";
	}
	auto c = read_action_stats((*eg)->maps.xdpctl_stats);
	for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++)
		EXPECT_EQ(c[a].packets, 0u) << "the program never ran, action " << a;
}

// The configuration is rodata, so the verifier decides every branch on it and removes the code
// a port does not use: an unconfigured port's instance is a counter and little else.
TEST(XdpEgressKernel, AnUnconfiguredPortsInstanceRunsNoConfigurationCode)
{
	auto xlated_len = [](const xdpctl::Skel<xdp_egress> &eg) {
		bpf_prog_info pi{};
		uint32_t len = sizeof(pi);
		EXPECT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(eg->progs.xdp_egress), &pi, &len), 0) << "prog info";
		return pi.xlated_prog_len / 8;
	};
	auto bare = load_port_instance({});
	ASSERT_TRUE(bare) << bare.error().message();
	struct xdpctl_egress_port all {};
	all.set_src_mac = 1;
	all.src_mac[0] = 0x02;
	all.vlan_action = XDPCTL_EGRESS_VLAN_POP;
	all.drop = XDPCTL_EGRESS_DROP_TAGGED;
	auto full = load_port_instance(all);
	ASSERT_TRUE(full) << full.error().message();
	uint32_t n_bare = xlated_len(*bare), n_full = xlated_len(*full);
	EXPECT_LT(n_bare * 3, n_full) << "unconfigured " << n_bare << " instructions, pop+policy+MAC " << n_full;
	EXPECT_LT(n_bare, 64u) << "unconfigured instance: the per-action counter and the returns (44 on 6.18)";
}

// dev_xdp_attach(): a BPF_XDP_DEVMAP program runs only from a devmap entry.
TEST_F(XdpEgressRefused, EgressProgramAttachedToADevice)
{
	auto eg = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	int err = bpf_xdp_attach(v_.ifindex, bpf_program__fd((*eg)->progs.xdp_egress), XDP_FLAGS_DRV_MODE, nullptr);
	EXPECT_EQ(err, -EINVAL) << "native attach of xdp/devmap program";
	err = bpf_xdp_attach(v_.ifindex, bpf_program__fd((*eg)->progs.xdp_egress), XDP_FLAGS_SKB_MODE, nullptr);
	EXPECT_EQ(err, -EINVAL) << "generic attach of xdp/devmap program";
}

// A device-bound program (bpf_program__set_ifindex + BPF_F_XDP_DEV_BOUND_ONLY, as the RX metadata
// kfuncs need) is tied to its device; a devmap runs its entries' programs for any device. The
// kernel loads an xdp/devmap program device-bound without complaint and refuses it only when
// it is written into an entry (__dev_map_alloc_node() gets it with bpf_prog_get_type_dev(),
// which does not hand out device-bound programs): -EINVAL from the map update.
//
// Teardown order matters here. On this 6.18 machine the kernel oopsed (use-after-free in
// __bpf_prog_offload_destroy() under cleanup_net -> bpf_dev_bound_netdev_unregister()) while
// namespaces whose devices had device-bound programs were torn down as those programs were
// being freed, and the dead worker kept the RTNL lock, hanging every later namespace operation.
// So the device is deleted synchronously (ip link del, in this thread) while the program is
// still open, and the program is closed only afterwards: the two never overlap.
TEST_F(XdpEgressRefused, DeviceBoundProgramAsDevmapEntry)
{
	XT_REQUIRE_KERNEL(6, 3, "device-bound programs (BPF_F_XDP_DEV_BOUND_ONLY)");
	XT_REQUIRE_DEVBOUND_LIVE();
	auto eg = xdpctl::open_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	// destroyed before eg: the device goes first, whatever assertion ends the test
	LinkDeletedFirst device_first{v_.name};
	struct bpf_program *prog = (*eg)->progs.xdp_egress;
	bpf_program__set_ifindex(prog, static_cast<uint32_t>(v_.ifindex));
	ASSERT_EQ(bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_XDP_DEV_BOUND_ONLY), 0) << "set_flags";
	ASSERT_EQ(bpf_program__set_autoload((*eg)->progs.xdp_egress_frags, false), 0) << "only the bound program";
	auto st = xdpctl::load_skel(*eg, "xdp_egress (device-bound)");
	ASSERT_TRUE(st) << "a device-bound xdp/devmap program loads: " << st.error().message();

	auto ing = xdpctl::open_and_load_skel<egress_ingress>("egress_ingress");
	ASSERT_TRUE(ing) << ing.error().message();
	int map_fd = bpf_map__fd((*ing)->maps.tx_port);
	EXPECT_EQ(devmap_val_update(map_fd, 1, v_.ifindex, bpf_program__fd(prog)), -EINVAL)
		<< "device-bound program as devmap entry";

	auto ok = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(ok) << ok.error().message();
	EXPECT_EQ(devmap_val_update(map_fd, 1, v_.ifindex, bpf_program__fd((*ok)->progs.xdp_egress)), 0)
		<< "control: the same program, not bound, is accepted";
}

// __dev_map_alloc_node(): an entry's program must have expected attach type BPF_XDP_DEVMAP.
TEST_F(XdpEgressRefused, NonDevmapProgramAsDevmapEntry)
{
	auto ing = xdpctl::open_and_load_skel<egress_ingress>("egress_ingress");
	ASSERT_TRUE(ing) << ing.error().message();
	auto pass = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
	ASSERT_TRUE(pass) << pass.error().message();
	for (int map_fd : {bpf_map__fd((*ing)->maps.tx_port), bpf_map__fd((*ing)->maps.bcast_ports)}) {
		EXPECT_EQ(devmap_val_update(map_fd, 1, v_.ifindex, bpf_program__fd((*pass)->progs.xdp_pass_prog)), -EINVAL)
			<< "plain SEC(\"xdp\") program as devmap entry";
		EXPECT_EQ(devmap_val_update(map_fd, 1, v_.ifindex, 0), 0) << "control: an entry without a program";
	}
}

// The frags flag. The kernel keeps, per map, the "owner" program type, JIT state and
// xdp_has_frags (struct bpf_map_owner; bpf_prog_map_compatible() in kernel/bpf/core.c), and every
// later program must match the first. On 6.18 two places take part:
//  - __dev_map_alloc_node(): every program put into an entry, for DEVMAP and DEVMAP_HASH alike;
//  - bpf_check_tail_call() at program load: every map the program uses for which
//    map_type_contains_progs() holds, which is PROG_ARRAY, DEVMAP and CPUMAP but not
//    DEVMAP_HASH.
// So an ingress program claims its DEVMAP when it is loaded, and later entries with the other
// frags flag are refused (-EINVAL); in a DEVMAP_HASH only the entries are held to each other,
// and the kernel does not notice a frags entry behind a non-frags ingress program. The loader
// must keep the two apart itself (tests/progs/egress_ingress.bpf.c uses a map per flag).

// DEVMAP: the ingress program's flag, set at its load, decides.
TEST_F(XdpEgressRefused, DevmapEntryFragsFlagMustMatchTheIngressProgram)
{
	auto eg = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	auto ing = xdpctl::open_and_load_skel<egress_ingress>("egress_ingress");
	ASSERT_TRUE(ing) << ing.error().message();
	int plain_fd = bpf_program__fd((*eg)->progs.xdp_egress);
	int frags_fd = bpf_program__fd((*eg)->progs.xdp_egress_frags);

	int map = bpf_map__fd((*ing)->maps.bcast_ports); // used by SEC("xdp") egress_broadcast
	EXPECT_EQ(devmap_val_update(map, 1, v_.ifindex, frags_fd), -EINVAL)
		<< "xdp.frags/devmap entry in the DEVMAP of a non-frags ingress program";
	EXPECT_EQ(devmap_val_update(map, 1, v_.ifindex, plain_fd), 0) << "control: xdp/devmap entry";

	map = bpf_map__fd((*ing)->maps.bcast_ports_frags); // used by SEC("xdp.frags") egress_broadcast_frags
	EXPECT_EQ(devmap_val_update(map, 1, v_.ifindex, plain_fd), -EINVAL)
		<< "xdp/devmap entry in the DEVMAP of a frags ingress program";
	EXPECT_EQ(devmap_val_update(map, 1, v_.ifindex, frags_fd), 0) << "control: xdp.frags/devmap entry";
}

// DEVMAP_HASH: loading the ingress program does not claim the map (6.18). This documents the
// gap: if a kernel starts refusing here, flip the expectation and drop the comment above.
TEST_F(XdpEgressRefused, DevmapHashIsNotCheckedAgainstTheIngressProgram)
{
	auto eg = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	auto ing = xdpctl::open_and_load_skel<egress_ingress>("egress_ingress");
	ASSERT_TRUE(ing) << ing.error().message();
	int map = bpf_map__fd((*ing)->maps.tx_port); // used by SEC("xdp") egress_redirect
	EXPECT_EQ(devmap_val_update(map, 1, v_.ifindex, bpf_program__fd((*eg)->progs.xdp_egress_frags)), 0)
		<< "xdp.frags/devmap entry in the DEVMAP_HASH of a non-frags ingress program is accepted";
	EXPECT_EQ(devmap_val_update(map, 2, v_.ifindex, bpf_program__fd((*eg)->progs.xdp_egress)), -EINVAL)
		<< "but from then on the entries hold each other to the frags flag";
}

// With no program using the map, the first entry's program decides; entries of one devmap must
// agree with each other, in DEVMAP and DEVMAP_HASH alike.
TEST_F(XdpEgressRefused, FragsAndNonFragsEntriesInOneMap)
{
	auto eg = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	int plain_fd = bpf_program__fd((*eg)->progs.xdp_egress);
	int frags_fd = bpf_program__fd((*eg)->progs.xdp_egress_frags);
	for (auto type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
		for (bool frags_first : {false, true}) {
			SCOPED_TRACE(std::string(type == BPF_MAP_TYPE_DEVMAP ? "DEVMAP" : "DEVMAP_HASH") +
				     (frags_first ? ", frags entry first" : ", non-frags entry first"));
			xdpctl::Fd map{bpf_map_create(type, "egress_neg", 4, sizeof(struct bpf_devmap_val), 4, nullptr)};
			ASSERT_TRUE(map) << "bpf_map_create: " << std::strerror(errno);
			int first = frags_first ? frags_fd : plain_fd, second = frags_first ? plain_fd : frags_fd;
			EXPECT_EQ(devmap_val_update(map.get(), 0, v_.ifindex, first), 0) << "first entry sets the owner";
			EXPECT_EQ(devmap_val_update(map.get(), 1, v_.ifindex, second), -EINVAL)
				<< "entry with the other frags flag";
			EXPECT_EQ(devmap_val_update(map.get(), 1, v_.ifindex, first), 0) << "control: same flag";
		}
	}
}

// The other order: the map already holds an xdp.frags/devmap entry, then a non-frags ingress
// program that redirects into it is loaded. For a DEVMAP the load itself is refused; for a
// DEVMAP_HASH it is not (see above).
TEST_F(XdpEgressRefused, IngressProgramLoadAgainstFragsEntries)
{
	auto eg = xdpctl::open_and_load_skel<xdp_egress>("xdp_egress");
	ASSERT_TRUE(eg) << eg.error().message();
	for (auto type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
		bool hash = type == BPF_MAP_TYPE_DEVMAP_HASH;
		SCOPED_TRACE(hash ? "DEVMAP_HASH" : "DEVMAP");
		xdpctl::Fd map{bpf_map_create(type, "egress_neg", 4, sizeof(struct bpf_devmap_val), 64, nullptr)};
		ASSERT_TRUE(map) << "bpf_map_create: " << std::strerror(errno);
		ASSERT_EQ(devmap_val_update(map.get(), 1, v_.ifindex, bpf_program__fd((*eg)->progs.xdp_egress_frags)), 0)
			<< "frags entry";

		auto ing = xdpctl::open_skel<egress_ingress>("egress_ingress");
		ASSERT_TRUE(ing) << ing.error().message();
		// egress_redirect (SEC "xdp") uses tx_port, egress_broadcast (SEC "xdp") bcast_ports
		ASSERT_EQ(bpf_map__reuse_fd(hash ? (*ing)->maps.tx_port : (*ing)->maps.bcast_ports, map.get()), 0)
			<< "the non-frags ingress program uses our map";
		auto st = xdpctl::load_skel(*ing, "egress_ingress");
		if (hash) {
			EXPECT_TRUE(st) << "DEVMAP_HASH is not checked at load: " << (st ? "" : st.error().message());
		} else {
			ASSERT_FALSE(st) << "non-frags program using a DEVMAP with a frags entry loaded";
			EXPECT_EQ(st.error().err, EINVAL) << "load error: " << st.error().message();
		}
	}
}
