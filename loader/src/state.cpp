#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "xdpctl/state.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 // uapi asm-generic/socket.h, 5.14
#endif

namespace xdpctl {

namespace {

constexpr const char *kMagic = "xdpctl-state 1";

std::vector<std::string> split(const std::string &line)
{
	std::vector<std::string> out;
	size_t at = 0;
	for (;;) {
		size_t t = line.find('\t', at);
		out.push_back(line.substr(at, t == std::string::npos ? std::string::npos : t - at));
		if (t == std::string::npos)
			return out;
		at = t + 1;
	}
}

bool clean(const std::string &s)
{
	return s.find_first_of("\t\n") == std::string::npos;
}

int to_int(const std::string &s)
{
	return static_cast<int>(std::strtol(s.c_str(), nullptr, 10));
}

uint32_t to_u32(const std::string &s)
{
	return static_cast<uint32_t>(std::strtoul(s.c_str(), nullptr, 10));
}

void put_egress(std::ostringstream &o, const Egress &e)
{
	o << '\t' << e.source << '\t' << e.prog << '\t' << (e.src_mac ? 1 : 0);
}

Egress get_egress(const std::vector<std::string> &f, size_t at)
{
	return Egress{f[at], f[at + 1], f[at + 2] == "1"};
}

Fd open_state(const Layout &l)
{
	return Fd(bpf_obj_get((l.ns_dir() + "/" + kStatePin).c_str()));
}

} // namespace

Result<NetnsId> current_netns()
{
	NetnsId id;
	struct stat st {};
	if (stat("/proc/thread-self/ns/net", &st))
		return fail(errno, "stat", "/proc/thread-self/ns/net");
	id.inode = st.st_ino;
	Fd s(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!s)
		return fail(errno, "socket");
	socklen_t len = sizeof(id.cookie);
	if (getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, &id.cookie, &len))
		return fail(errno, "getsockopt SO_NETNS_COOKIE");
	return id;
}

IfState *DesiredState::find_if(int ifindex)
{
	for (auto &i : interfaces)
		if (i.ifindex == ifindex)
			return &i;
	return nullptr;
}

RuleState *DesiredState::find_rule(int in_ifindex)
{
	for (auto &r : rules)
		if (r.in_ifindex == in_ifindex)
			return &r;
	return nullptr;
}

PortState *DesiredState::find_port(const std::string &group, int ifindex)
{
	for (auto &p : ports)
		if (p.group == group && p.ifindex == ifindex)
			return &p;
	return nullptr;
}

std::string DesiredState::serialize() const
{
	std::ostringstream o;
	o << kMagic << '\n' << "netns\t" << netns.inode << '\t' << netns.cookie << '\n';
	for (const auto &i : interfaces)
		o << "if\t" << i.ifindex << '\t' << i.name << '\t' << (i.skb ? "skb" : "native") << '\t' << (i.counters ? 1 : 0)
		  << '\t' << (i.dev_bound ? 1 : 0) << '\t' << i.link_id << '\t' << i.prog_id << '\t' << (i.pending ? 1 : 0) << '\t'
		  << i.program.name_or_path << '\t' << i.program.prog << '\n';
	for (const auto &r : rules) {
		o << "rule\t" << r.in_ifindex << '\t' << r.in_name << '\t' << r.out_ifindex << '\t' << r.out_name << '\t'
		  << (r.realized ? 1 : 0);
		put_egress(o, r.egress);
		o << '\n';
	}
	for (const auto &p : ports) {
		o << "port\t" << p.group << '\t' << p.ifindex << '\t' << p.name << '\t' << (p.realized ? 1 : 0);
		put_egress(o, p.egress);
		o << '\n';
	}
	return o.str();
}

Result<DesiredState> DesiredState::parse(const std::string &text)
{
	std::istringstream in(text);
	std::string line;
	if (!std::getline(in, line) || line != kMagic)
		return fail(EINVAL, "state", "", "not an xdpctl state record of version 1");
	DesiredState s;
	int n = 1;
	while (std::getline(in, line)) {
		n++;
		auto f = split(line);
		auto bad = [&] { return fail(EINVAL, "state", "line " + std::to_string(n), "malformed: " + line); };
		if (f[0] == "netns" && f.size() == 3) {
			s.netns = {std::strtoull(f[1].c_str(), nullptr, 10), std::strtoull(f[2].c_str(), nullptr, 10)};
		} else if (f[0] == "if" && f.size() == 11) {
			IfState i;
			i.ifindex = to_int(f[1]);
			i.name = f[2];
			i.skb = f[3] == "skb";
			i.counters = f[4] == "1";
			i.dev_bound = f[5] == "1";
			i.link_id = to_u32(f[6]);
			i.prog_id = to_u32(f[7]);
			i.pending = f[8] == "1";
			i.program = {f[9], f[10]};
			s.interfaces.push_back(std::move(i));
		} else if (f[0] == "rule" && f.size() == 9) {
			s.rules.push_back({to_int(f[1]), f[2], to_int(f[3]), f[4], f[5] == "1", get_egress(f, 6)});
		} else if (f[0] == "port" && f.size() == 8) {
			s.ports.push_back({f[1], to_int(f[2]), f[3], f[4] == "1", get_egress(f, 5)});
		} else {
			return bad();
		}
	}
	return s;
}

Result<std::optional<DesiredState>> read_state(const Layout &l)
{
	std::string pin = l.ns_dir() + "/" + kStatePin;
	if (!path_exists(pin))
		return std::optional<DesiredState>{};
	// every state-changing verb reads the record first: a corrupt one says how to get out
	auto corrupt = [&](const std::string &what) {
		return fail(EINVAL, "state", pin,
			    "corrupt record (" + what + "): `xdpctl repair --reset-state` rebuilds it from what the kernel shows");
	};
	Fd fd = open_state(l);
	if (!fd)
		return fail(errno, "open pinned map", pin);
	bpf_map_info info{};
	uint32_t info_len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &info_len))
		return fail(errno, "bpf_obj_get_info_by_fd", pin);
	if (info.type != BPF_MAP_TYPE_HASH || info.key_size != sizeof(uint32_t) || info.value_size != kStateValueSize)
		return corrupt("not a state map: type " + std::to_string(info.type) + ", value size " + std::to_string(info.value_size));
	std::vector<char> v(kStateValueSize);
	uint32_t key = 0;
	if (bpf_map_lookup_elem(fd.get(), &key, v.data())) {
		if (errno == ENOENT)
			return std::optional<DesiredState>{};
		return fail(errno, "bpf_map_lookup_elem", pin);
	}
	uint32_t len = 0;
	std::memcpy(&len, v.data(), sizeof(len));
	if (len > kStateValueSize - sizeof(len))
		return corrupt("record length out of range");
	auto s = DesiredState::parse(std::string(v.data() + sizeof(len), len));
	if (!s)
		return corrupt((s.error().object.empty() ? "" : s.error().object + ": ") + s.error().detail);
	return std::optional<DesiredState>(std::move(*s));
}

Status write_state(const Layout &l, const DesiredState &s)
{
	std::string pin = l.ns_dir() + "/" + kStatePin;
	for (const auto &i : s.interfaces)
		if (!clean(i.program.name_or_path) || !clean(i.program.prog))
			return fail(EINVAL, "state", i.program.name_or_path, "a program path with a tab or newline cannot be recorded");
	for (const auto &r : s.rules)
		if (!clean(r.egress.source) || !clean(r.egress.prog))
			return fail(EINVAL, "state", r.egress.source, "a program path with a tab or newline cannot be recorded");
	std::string text = s.serialize();
	uint32_t len = static_cast<uint32_t>(text.size());
	if (text.size() > kStateValueSize - sizeof(len))
		return fail(E2BIG, "state", pin, "the desired state does not fit the record (" + std::to_string(kStateValueSize) + " bytes)");
	std::vector<char> v(kStateValueSize);
	std::memcpy(v.data(), &len, sizeof(len));
	std::memcpy(v.data() + sizeof(len), text.data(), text.size());
	uint32_t key = 0;
	step_boundary();
	Fd fd = open_state(l);
	if (fd)
		return check(bpf_map_update_elem(fd.get(), &key, v.data(), BPF_ANY) ? -errno : 0, "bpf_map_update_elem", pin);
	if (::mkdir(l.ns_dir().c_str(), 0700) && errno != EEXIST)
		return fail(errno, "mkdir", l.ns_dir());
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	fd = Fd(bpf_map_create(BPF_MAP_TYPE_HASH, "xdpctl_state", sizeof(key), kStateValueSize, 1, &o));
	if (!fd)
		return fail(errno, "bpf_map_create", "xdpctl_state");
	if (bpf_map_update_elem(fd.get(), &key, v.data(), BPF_ANY))
		return fail(errno, "bpf_map_update_elem", "xdpctl_state");
	// written before it is pinned: nobody ever sees an empty record
	if (bpf_obj_pin(fd.get(), pin.c_str()))
		return fail(errno, "pin", pin);
	return {};
}

void remove_state(const Layout &l)
{
	step_boundary();
	(void)::unlink((l.ns_dir() + "/" + kStatePin).c_str());
}

void step_boundary()
{
	static const long kill_at = [] {
		const char *e = std::getenv("XDPCTL_TEST_KILL_AT_STEP");
		return e ? std::strtol(e, nullptr, 10) : 0L;
	}();
	static long steps = 0;
	if (kill_at > 0 && ++steps == kill_at)
		::kill(::getpid(), SIGKILL);
}

} // namespace xdpctl
