// Control map values described by BTF alone: the built-in BTF has every value struct, the text
// printer (btf_dump) and the JSON writer show every member, and a field added to a value struct
// is printed by both with no other change.
#include <gtest/gtest.h>

#include <sstream>

#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"

using namespace xdpctl;
using nlohmann::json;

namespace {

template <class T>
std::span<const std::byte> bytes_of(const T &v)
{
	return std::as_bytes(std::span(&v, 1));
}

std::vector<std::string> lines(const std::string &s)
{
	std::vector<std::string> out;
	std::istringstream in(s);
	for (std::string l; std::getline(in, l);) {
		// the last member before "}" may or may not carry a comma: not a difference
		if (!l.empty() && l.back() == ',')
			l.pop_back();
		out.push_back(l);
	}
	return out;
}

struct bpf_ctrl_xdp_stats sample_stats()
{
	struct bpf_ctrl_xdp_stats s {};
	s.ifindex = 7;
	s.avail = BPF_CTRL_STATS_LINK | BPF_CTRL_STATS_XDP_ACTIONS;
	s.rx_packets = 1001;
	s.rx_bytes = 64064;
	s.tx_packets = 3;
	s.xdp[2] = {1000, 64000}; // XDP_PASS
	s.xdp[4] = {1, 64}; // XDP_REDIRECT
	s.qstats_rx_packets = 99; // not vouched for by avail
	return s;
}

} // namespace

TEST(CtlBtf, BuiltInBtfDescribesEveryValueStruct)
{
	auto btf = ctl::value_btf();
	ASSERT_TRUE(btf) << btf.error().message();
	for (uint32_t t : {BPF_CTRL_XDP_STATS, BPF_CTRL_XDP_ATTR, BPF_CTRL_XDP_MD}) {
		auto id = ctl::find_struct(*btf, ctl::value_type_name(t));
		ASSERT_TRUE(id) << "struct for " << ctl::ctrl_type_name(t);
		EXPECT_EQ(btf__resolve_size(*btf, *id), static_cast<long>(ctl::value_size(t)))
			<< "BTF size of " << ctl::value_type_name(t) << " equals sizeof";
	}
	EXPECT_TRUE(ctl::find_struct(*btf, "xdpctl_meta")) << "metadata struct in BTF";
	EXPECT_FALSE(ctl::find_struct(*btf, "no_such_struct")) << "unknown name";
}

TEST(CtlBtf, PrettyPrinterShowsEveryMember)
{
	auto btf = ctl::value_btf();
	ASSERT_TRUE(btf) << btf.error().message();
	auto id = ctl::find_struct(*btf, "bpf_ctrl_xdp_stats");
	ASSERT_TRUE(id);
	auto s = sample_stats();
	auto text = ctl::btf_pretty(*btf, *id, bytes_of(s));
	ASSERT_TRUE(text) << text.error().message();
	for (const char *want : {".ifindex = (__u32)7", ".rx_packets = (__u64)1001", ".packets = 1000",
				 ".bytes = 64000", ".tx_dropped = (__u64)0", ".qstats_tx_bytes = (__u64)0"})
		EXPECT_NE(text->find(want), std::string::npos) << "text has " << want << ":\n" << *text;
}

TEST(CtlBtf, JsonWriterWalksIntsArraysAndNestedStructs)
{
	auto btf = ctl::value_btf();
	ASSERT_TRUE(btf) << btf.error().message();
	auto id = ctl::find_struct(*btf, "bpf_ctrl_xdp_stats");
	ASSERT_TRUE(id);
	auto s = sample_stats();
	auto j = ctl::btf_to_json(*btf, *id, bytes_of(s));
	ASSERT_TRUE(j) << j.error().message();
	EXPECT_EQ((*j)["ifindex"], 7) << "u32 member";
	EXPECT_EQ((*j)["rx_bytes"], 64064) << "u64 member";
	ASSERT_TRUE((*j)["xdp"].is_array()) << "array member";
	EXPECT_EQ((*j)["xdp"].size(), 5u) << "one counter per XDP action";
	EXPECT_EQ((*j)["xdp"][2], (json{{"packets", 1000}, {"bytes", 64000}})) << "nested struct in array";
	EXPECT_EQ((*j)["qstats_rx_packets"], 99) << "raw value before avail is applied";

	ctl::null_unavailable(*j, BPF_CTRL_XDP_STATS, s.avail);
	EXPECT_TRUE((*j)["qstats_rx_packets"].is_null()) << "qstats not vouched for by avail: null";
	EXPECT_TRUE((*j)["xdp_exceptions"].is_null()) << "monitor counters not available: null";
	EXPECT_EQ((*j)["rx_packets"], 1001) << "link counters available: kept";
	EXPECT_EQ((*j)["xdp"][4]["packets"], 1) << "per-action counters available: kept";

	auto short_value = ctl::btf_to_json(*btf, *id, bytes_of(s).first(100));
	ASSERT_FALSE(short_value) << "value shorter than the type";
	EXPECT_EQ(short_value.error().err, EINVAL) << short_value.error().message();
}

TEST(CtlBtf, NestedMemberPathsAreNulledByAvail)
{
	auto btf = ctl::value_btf();
	ASSERT_TRUE(btf) << btf.error().message();
	auto id = ctl::find_struct(*btf, "bpf_ctrl_xdp_attr");
	ASSERT_TRUE(id);
	struct bpf_ctrl_xdp_attr a {};
	a.avail = BPF_CTRL_ATTR_CHANNELS; // rings unknown (veth), channels known
	a.rings.num = 4;
	a.tx_channels = 4;
	auto j = ctl::btf_to_json(*btf, *id, bytes_of(a));
	ASSERT_TRUE(j) << j.error().message();
	ctl::null_unavailable(*j, BPF_CTRL_XDP_ATTR, a.avail);
	EXPECT_EQ((*j)["rings"]["num"], 4) << "rings.num comes from channels";
	EXPECT_TRUE((*j)["rings"]["size"].is_null()) << "rings.size comes from ethtool rings";
	EXPECT_TRUE((*j)["tx_ring_max"].is_null()) << "ring maximum unavailable";
	EXPECT_TRUE((*j)["redirect_target_ready"].is_null()) << "readiness unknown";
}

// The proposal's promise: new attributes print with zero effort. The struct below is
// bpf_ctrl_xdp_stats as the built-in BTF has it, with the same name, plus one appended field,
// made with btf__add_struct/btf__add_field on top of the real BTF. The printers, unchanged,
// show the new field and nothing else differs.
TEST(CtlBtf, AddedFieldIsPrintedByBothWithNoOtherChange)
{
	auto base = ctl::value_btf();
	ASSERT_TRUE(base) << base.error().message();
	auto v1 = ctl::find_struct(*base, "bpf_ctrl_xdp_stats");
	ASSERT_TRUE(v1);
	// the members first: adding types may move the base's type data
	struct Member {
		std::string name;
		uint32_t type, bit_off;
	};
	std::vector<Member> members;
	const struct btf_type *t = btf__type_by_id(*base, *v1);
	const uint32_t size = t->size;
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++)
		members.push_back({btf__name_by_offset(*base, m->name_off), m->type, btf_member_bit_offset(t, i)});

	struct btf *split = btf__new_empty_split(const_cast<struct btf *>(*base));
	ASSERT_NE(split, nullptr) << "split BTF";
	int v2 = btf__add_struct(split, "bpf_ctrl_xdp_stats", size + 8);
	ASSERT_GT(v2, 0) << "btf__add_struct";
	uint32_t u64_id = 0;
	for (const auto &mem : members) {
		ASSERT_EQ(btf__add_field(split, mem.name.c_str(), static_cast<int>(mem.type), mem.bit_off, 0), 0)
			<< "copy member " << mem.name;
		if (mem.name == "rx_packets")
			u64_id = mem.type;
	}
	ASSERT_NE(u64_id, 0u) << "__u64 type id";
	ASSERT_EQ(btf__add_field(split, "xdp_new_counter", static_cast<int>(u64_id), size * 8, 0), 0)
		<< "append the new field";

	auto s = sample_stats();
	std::vector<std::byte> data(size + 8);
	std::memcpy(data.data(), &s, sizeof(s));
	uint64_t added = 4242;
	std::memcpy(data.data() + size, &added, sizeof(added));

	auto old_text = ctl::btf_pretty(*base, *v1, bytes_of(s));
	auto new_text = ctl::btf_pretty(split, static_cast<uint32_t>(v2), data);
	ASSERT_TRUE(old_text) << old_text.error().message();
	ASSERT_TRUE(new_text) << new_text.error().message();
	auto old_lines = lines(*old_text), new_lines = lines(*new_text);
	auto it = std::find_if(new_lines.begin(), new_lines.end(),
			       [](auto &l) { return l.find("xdp_new_counter") != std::string::npos; });
	ASSERT_NE(it, new_lines.end()) << "text shows the new field:\n" << *new_text;
	EXPECT_NE(it->find(".xdp_new_counter = (__u64)4242"), std::string::npos) << "with its value: " << *it;
	new_lines.erase(it);
	EXPECT_EQ(new_lines, old_lines) << "text: nothing else changed\nold:\n" << *old_text << "\nnew:\n" << *new_text;

	auto old_json = ctl::btf_to_json(*base, *v1, bytes_of(s));
	auto new_json = ctl::btf_to_json(split, static_cast<uint32_t>(v2), data);
	ASSERT_TRUE(old_json) << old_json.error().message();
	ASSERT_TRUE(new_json) << new_json.error().message();
	EXPECT_EQ((*new_json)["xdp_new_counter"], 4242) << "JSON shows the new field";
	new_json->erase("xdp_new_counter");
	EXPECT_EQ(*new_json, *old_json) << "JSON: nothing else changed";
	btf__free(split);
}

TEST(CtlBtf, UnknownControlTypeIsRefusedBeforeAnyBackend)
{
	for (uint32_t t : {0u, 4u, 99u}) {
		auto m = ctl::ControlMap::create(t);
		ASSERT_FALSE(m) << "control type " << t;
		EXPECT_EQ(m.error().err, EINVAL) << "EINVAL for type " << t << ": " << m.error().message();
	}
}
