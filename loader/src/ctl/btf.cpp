// Control map values from BTF alone: the built-in BTF, the btf_dump text printer and the JSON
// walker. Nothing here names a value struct's member.
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/meta.h"
// after the headers that define the types of its (never used) globals
#include "ctlmap_btf.skel.h"

namespace xdpctl::ctl {
namespace {

struct BtfFree {
	void operator()(struct btf *b) const noexcept { btf__free(b); }
};

struct ObjClose {
	void operator()(struct bpf_object *o) const noexcept { bpf_object__close(o); }
};

// The ELF is opened in memory (never loaded) only to reach its .BTF section; a copy of the
// raw BTF outlives the object.
Result<std::unique_ptr<struct btf, BtfFree>> load_value_btf()
{
	size_t sz = 0;
	const void *elf = ctlmap_btf::elf_bytes(&sz);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "ctlmap_btf");
	std::unique_ptr<struct bpf_object, ObjClose> obj(bpf_object__open_mem(elf, sz, &opts));
	if (!obj)
		return fail(errno, "open", "ctlmap_btf (embedded ELF)");
	const struct btf *b = bpf_object__btf(obj.get());
	if (!b)
		return fail(ENOENT, "open", "ctlmap_btf (embedded ELF)", "object carries no BTF");
	uint32_t raw_sz = 0;
	const void *raw = btf__raw_data(b, &raw_sz);
	std::unique_ptr<struct btf, BtfFree> copy(btf__new(raw, raw_sz));
	if (!copy)
		return fail(errno, "btf__new", "ctlmap_btf");
	return copy;
}

void print_cb(void *ctx, const char *fmt, va_list args)
{
	char buf[512];
	va_list ap;
	va_copy(ap, args);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	auto *out = static_cast<std::string *>(ctx);
	if (n < 0)
		return;
	if (static_cast<size_t>(n) < sizeof(buf)) {
		out->append(buf, static_cast<size_t>(n));
		return;
	}
	std::string big(static_cast<size_t>(n) + 1, '\0');
	vsnprintf(big.data(), big.size(), fmt, args);
	big.resize(static_cast<size_t>(n));
	out->append(big);
}

uint64_t read_uint(const std::byte *p, uint32_t size)
{
	uint64_t v = 0;
	std::memcpy(&v, p, std::min<uint32_t>(size, sizeof(v))); // little-endian hosts only
	return v;
}

nlohmann::json int_value(const struct btf_type *t, const std::byte *p, uint32_t bit_off, uint32_t bits)
{
	uint32_t enc = btf_int_encoding(t);
	uint32_t size = t->size;
	if (size > 8)
		return nullptr; // __int128: no JSON number holds it
	uint64_t raw = read_uint(p, size);
	if (!bits) {
		bits = btf_int_bits(t);
		bit_off = btf_int_offset(t);
	}
	if (bit_off || bits < 64) {
		raw >>= bit_off;
		if (bits < 64)
			raw &= (uint64_t{1} << bits) - 1;
	}
	if (enc & BTF_INT_BOOL)
		return raw != 0;
	if ((enc & BTF_INT_SIGNED) && bits < 64 && (raw >> (bits - 1)) & 1)
		return static_cast<int64_t>(raw | ~((uint64_t{1} << bits) - 1));
	if (enc & BTF_INT_SIGNED)
		return static_cast<int64_t>(raw);
	return raw;
}

Result<nlohmann::json> walk(const struct btf *btf, uint32_t id, const std::byte *p, uint32_t bit_off = 0,
			    uint32_t bitfield = 0);

Result<nlohmann::json> walk_members(const struct btf *btf, const struct btf_type *t, const std::byte *p,
				    nlohmann::json &obj)
{
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		uint32_t off = btf_member_bit_offset(t, i);
		uint32_t bf = btf_member_bitfield_size(t, i);
		auto v = walk(btf, m->type, p + off / 8, bf ? off % 8 : 0, bf);
		if (!v)
			return v;
		const char *name = btf__name_by_offset(btf, m->name_off);
		if (name && *name) {
			obj[name] = std::move(*v);
		} else if (v->is_object()) {
			// an anonymous struct or union: its members belong to the enclosing object
			for (auto &[k, val] : v->items())
				obj[k] = val;
		}
	}
	return obj;
}

Result<nlohmann::json> walk(const struct btf *btf, uint32_t id, const std::byte *p, uint32_t bit_off, uint32_t bitfield)
{
	int rid = btf__resolve_type(btf, id); // through typedefs and modifiers
	if (rid < 0)
		return fail(-rid, "btf resolve type", std::to_string(id));
	const struct btf_type *t = btf__type_by_id(btf, static_cast<uint32_t>(rid));
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return int_value(t, p, bit_off, bitfield);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64: {
		uint64_t raw = read_uint(p, t->size);
		if (bitfield)
			raw = (raw >> bit_off) & (bitfield < 64 ? (uint64_t{1} << bitfield) - 1 : ~uint64_t{0});
		return nlohmann::json(raw);
	}
	case BTF_KIND_PTR:
		return nlohmann::json(read_uint(p, sizeof(void *)));
	case BTF_KIND_FLOAT: {
		if (t->size == sizeof(double)) {
			double d;
			std::memcpy(&d, p, sizeof(d));
			return nlohmann::json(d);
		}
		if (t->size == sizeof(float)) {
			float f;
			std::memcpy(&f, p, sizeof(f));
			return nlohmann::json(f);
		}
		return nlohmann::json(nullptr);
	}
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		int esz = static_cast<int>(btf__resolve_size(btf, a->type));
		if (esz < 0)
			return fail(-esz, "btf resolve size", std::to_string(a->type));
		int eid = btf__resolve_type(btf, a->type);
		const struct btf_type *et = eid >= 0 ? btf__type_by_id(btf, static_cast<uint32_t>(eid)) : nullptr;
		if (et && btf_is_int(et) && et->size == 1 && (btf_int_encoding(et) & BTF_INT_CHAR)) {
			const char *s = reinterpret_cast<const char *>(p);
			return nlohmann::json(std::string(s, strnlen(s, a->nelems)));
		}
		nlohmann::json arr = nlohmann::json::array();
		for (uint32_t i = 0; i < a->nelems; i++) {
			auto v = walk(btf, a->type, p + static_cast<size_t>(i) * static_cast<size_t>(esz));
			if (!v)
				return v;
			arr.push_back(std::move(*v));
		}
		return arr;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		nlohmann::json obj = nlohmann::json::object();
		return walk_members(btf, t, p, obj);
	}
	default:
		return nlohmann::json(nullptr); // no value to show (func, var, ...)
	}
}

} // namespace

Result<const struct btf *> value_btf()
{
	static std::once_flag once;
	static Result<std::unique_ptr<struct btf, BtfFree>> built = fail(EINVAL, "value btf");
	std::call_once(once, [] { built = load_value_btf(); });
	if (!built)
		return std::unexpected(built.error());
	return built->get();
}

Result<uint32_t> find_struct(const struct btf *btf, std::string_view name)
{
	int id = btf__find_by_name_kind(btf, std::string(name).c_str(), BTF_KIND_STRUCT);
	if (id < 0)
		return fail(ENOENT, "btf find struct", std::string(name));
	return static_cast<uint32_t>(id);
}

Result<std::string> btf_pretty(const struct btf *btf, uint32_t type_id, std::span<const std::byte> data)
{
	std::string out;
	struct btf_dump *d = btf_dump__new(btf, print_cb, &out, nullptr);
	if (!d)
		return fail(errno, "btf_dump__new");
	LIBBPF_OPTS(btf_dump_type_data_opts, opts, .indent_str = "  ", .emit_zeroes = true);
	int ret = btf_dump__dump_type_data(d, type_id, data.data(), data.size(), &opts);
	btf_dump__free(d);
	if (ret < 0)
		return fail(-ret, "btf_dump__dump_type_data", std::to_string(type_id));
	return out;
}

Result<nlohmann::json> btf_to_json(const struct btf *btf, uint32_t type_id, std::span<const std::byte> data)
{
	long sz = btf__resolve_size(btf, type_id);
	if (sz < 0)
		return fail(static_cast<int>(-sz), "btf resolve size", std::to_string(type_id));
	if (data.size() < static_cast<size_t>(sz))
		return fail(EINVAL, "btf to json", std::to_string(type_id),
			    "value is " + std::to_string(data.size()) + " bytes, type needs " + std::to_string(sz));
	return walk(btf, type_id, data.data());
}

void null_unavailable(nlohmann::json &value, uint32_t ctrl_type, uint32_t avail)
{
	for (const auto &g : avail_groups(ctrl_type)) {
		if (avail & g.bit)
			continue;
		for (const auto &path : g.members) {
			std::string ptr = "/" + path; // "rings.num" -> "/rings/num"
			std::replace(ptr.begin(), ptr.end(), '.', '/');
			nlohmann::json::json_pointer p(ptr);
			if (value.contains(p))
				value[p] = nullptr;
		}
	}
}

} // namespace xdpctl::ctl
