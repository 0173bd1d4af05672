// ControlMap: the proposal's operations with the kernel's size checks, over whichever backend
// answers; and the per-type tables (value size, names, avail groups).
#include <cstring>

#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"

namespace xdpctl::ctl {

uint32_t value_size(uint32_t ctrl_type)
{
	switch (ctrl_type) {
	case BPF_CTRL_XDP_STATS:
		return sizeof(struct bpf_ctrl_xdp_stats);
	case BPF_CTRL_XDP_ATTR:
		return sizeof(struct bpf_ctrl_xdp_attr);
	case BPF_CTRL_XDP_MD:
		return sizeof(struct bpf_ctrl_xdp_md);
	default:
		return 0;
	}
}

const char *ctrl_type_name(uint32_t ctrl_type)
{
	switch (ctrl_type) {
	case BPF_CTRL_XDP_STATS:
		return "XDP_STATS";
	case BPF_CTRL_XDP_ATTR:
		return "XDP_ATTR";
	case BPF_CTRL_XDP_MD:
		return "XDP_MD";
	default:
		return nullptr;
	}
}

const char *value_type_name(uint32_t ctrl_type)
{
	switch (ctrl_type) {
	case BPF_CTRL_XDP_STATS:
		return "bpf_ctrl_xdp_stats";
	case BPF_CTRL_XDP_ATTR:
		return "bpf_ctrl_xdp_attr";
	case BPF_CTRL_XDP_MD:
		return "bpf_ctrl_xdp_md";
	default:
		return nullptr;
	}
}

const std::vector<AvailGroup> &avail_groups(uint32_t ctrl_type)
{
	static const std::vector<AvailGroup> stats{
		{BPF_CTRL_STATS_LINK, "link",
		 {"rx_packets", "rx_bytes", "rx_dropped", "tx_packets", "tx_bytes", "tx_dropped"}},
		{BPF_CTRL_STATS_XDP_ACTIONS, "xdp_actions", {"xdp"}},
		{BPF_CTRL_STATS_XDP_ERRORS, "xdp_errors",
		 {"xdp_exceptions", "xdp_redirect_errors", "xdp_devmap_xmit_sent", "xdp_devmap_xmit_drops"}},
		{BPF_CTRL_STATS_QSTATS, "qstats",
		 {"qstats_rx_packets", "qstats_rx_bytes", "qstats_tx_packets", "qstats_tx_bytes"}},
	};
	static const std::vector<AvailGroup> attr{
		{BPF_CTRL_ATTR_PROGS, "progs", {"attach_mode", "prog_id", "drv_prog_id", "skb_prog_id", "hw_prog_id"}},
		{BPF_CTRL_ATTR_FEATURES, "xdp_features", {"xdp_features"}},
		{BPF_CTRL_ATTR_XSK_FEATURES, "xsk_features", {"xsk_features"}},
		{BPF_CTRL_ATTR_RINGS, "rings", {"rings.size", "rx_ring_size", "rx_ring_max", "tx_ring_size", "tx_ring_max"}},
		{BPF_CTRL_ATTR_CHANNELS, "channels",
		 {"rings.num", "combined_channels", "combined_max", "rx_channels", "rx_max", "tx_channels", "tx_max"}},
		{BPF_CTRL_ATTR_REDIRECT_TARGET, "redirect_target", {"redirect_target_ready"}},
	};
	static const std::vector<AvailGroup> md{
		{BPF_CTRL_MD_FEATURES, "rx_metadata_features", {"rx_metadata_features"}},
		{BPF_CTRL_MD_STATE, "md_state", {"enable_md", "prog_id", "md_btf_obj_id", "md_btf_type_id", "md_size"}},
	};
	static const std::vector<AvailGroup> none;
	switch (ctrl_type) {
	case BPF_CTRL_XDP_STATS:
		return stats;
	case BPF_CTRL_XDP_ATTR:
		return attr;
	case BPF_CTRL_XDP_MD:
		return md;
	default:
		return none;
	}
}

const struct btf *Backend::btf() const
{
	auto b = value_btf();
	return b ? *b : nullptr;
}

uint32_t Backend::value_type_id() const
{
	const struct btf *b = btf();
	const char *name = value_type_name(type_);
	if (!b || !name)
		return 0;
	auto id = find_struct(b, name);
	return id ? *id : 0;
}

Result<ControlMap> ControlMap::create(uint32_t ctrl_type, BackendChoice which)
{
	if (!ctl::value_size(ctrl_type))
		return fail(EINVAL, "create control map", "type " + std::to_string(ctrl_type),
			    "unknown control type (XDP_STATS=1, XDP_ATTR=2, XDP_MD=3)");
	if (which != BackendChoice::User) {
		auto k = open_kernel_backend(ctrl_type);
		if (k)
			return ControlMap(ctrl_type, std::move(*k));
		if (which == BackendChoice::Kernel || k.error().err != ENODEV)
			return std::unexpected(k.error());
	}
	auto u = open_user_backend(ctrl_type);
	if (!u)
		return std::unexpected(u.error());
	return ControlMap(ctrl_type, std::move(*u));
}

uint32_t ControlMap::value_size() const
{
	return ctl::value_size(type_);
}

Status ControlMap::get_next_key(const uint32_t *key, uint32_t *next)
{
	if (!next)
		return fail(EINVAL, "get_next_key", ctrl_type_name(type_), "no room for the next key");
	return be_->get_next_key(key, next);
}

Status ControlMap::lookup(uint32_t ifindex, std::span<std::byte> value)
{
	if (value.size() != value_size())
		return fail(EINVAL, "lookup", ctrl_type_name(type_),
			    "value is " + std::to_string(value.size()) + " bytes, " + ctrl_type_name(type_) +
				    " values are " + std::to_string(value_size()));
	return be_->lookup(ifindex, value);
}

Result<std::vector<std::byte>> ControlMap::lookup(uint32_t ifindex)
{
	std::vector<std::byte> v(value_size());
	if (auto st = lookup(ifindex, std::span(v)); !st)
		return std::unexpected(st.error());
	return v;
}

Status ControlMap::update(uint32_t ifindex, std::span<const std::byte> value)
{
	if (value.size() != value_size())
		return fail(EINVAL, "update", ctrl_type_name(type_),
			    "value is " + std::to_string(value.size()) + " bytes, " + ctrl_type_name(type_) +
				    " values are " + std::to_string(value_size()));
	return be_->update(ifindex, value);
}

namespace {
Status check_key(std::span<const std::byte> key, const char *op, uint32_t type)
{
	if (key.size() != ControlMap::key_size())
		return fail(EINVAL, op, ctrl_type_name(type),
			    "key is " + std::to_string(key.size()) + " bytes, control map keys are a 4-byte ifindex");
	return {};
}

uint32_t key_of(std::span<const std::byte> key)
{
	uint32_t k;
	std::memcpy(&k, key.data(), sizeof(k));
	return k;
}
} // namespace

Status ControlMap::get_next_key_elem(std::span<const std::byte> key, std::span<std::byte> next)
{
	if (!key.empty())
		if (auto st = check_key(key, "get_next_key", type_); !st)
			return st;
	if (next.size() != key_size())
		return fail(EINVAL, "get_next_key", ctrl_type_name(type_),
			    "next key buffer is " + std::to_string(next.size()) + " bytes, keys are 4");
	uint32_t k = key.empty() ? 0 : key_of(key), n = 0;
	auto st = be_->get_next_key(key.empty() ? nullptr : &k, &n);
	if (st)
		std::memcpy(next.data(), &n, sizeof(n));
	return st;
}

Status ControlMap::lookup_elem(std::span<const std::byte> key, std::span<std::byte> value)
{
	if (auto st = check_key(key, "lookup", type_); !st)
		return st;
	return lookup(key_of(key), value);
}

Status ControlMap::update_elem(std::span<const std::byte> key, std::span<const std::byte> value)
{
	if (auto st = check_key(key, "update", type_); !st)
		return st;
	return update(key_of(key), value);
}

} // namespace xdpctl::ctl
