// xdpctl features IFNAME: everything the kernel reports about XDP on one device, like
// `xdp-loader features` plus rx-metadata and xsk features, attached programs, rings and channels.
// A value the kernel does not give is printed as unavailable with the reason (null in JSON).
#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/features.hpp"

namespace cli {

namespace {

std::string words(const std::vector<std::string> &v)
{
	std::string s;
	for (const auto &x : v)
		s += (s.empty() ? "" : " ") + x;
	return s.empty() ? "none" : s;
}

// One row of the text view and one member of the JSON object per reported field.
struct Out {
	nlohmann::json j = nlohmann::json::object();
	std::vector<std::pair<std::string, std::string>> rows;

	template <class T, class Text, class Json>
	void add(const std::string &key, const xdpctl::Reported<T> &r, Text text, Json json)
	{
		if (r.value) {
			j[key] = json(*r.value);
			rows.emplace_back(key, text(*r.value));
		} else {
			j[key] = nullptr;
			j["unavailable"][key] = r.unavailable;
			rows.emplace_back(key, "unavailable: " + r.unavailable);
		}
	}
};

int run(const std::string &ifname, const Globals &g)
{
	auto f = xdpctl::device_features(ifname);
	if (!f)
		return runtime_error(g, "features", f.error());
	Out o;
	o.j["ifname"] = f->ifname;
	o.j["ifindex"] = f->ifindex;
	auto bits = [](std::vector<std::string> (*names)(uint64_t)) {
		return std::pair{[names](uint64_t v) { return words(names(v)); },
				 [names](uint64_t v) { return nlohmann::json(names(v)); }};
	};
	auto [xt, xj] = bits(xdpctl::xdp_feature_names);
	o.add("xdp-features", f->xdp_features, xt, xj);
	o.add("xdp-zc-max-segs", f->xdp_zc_max_segs, [](uint32_t v) { return std::to_string(v); },
	      [](uint32_t v) { return nlohmann::json(v); });
	auto [mt, mj] = bits(xdpctl::rx_metadata_feature_names);
	o.add("xdp-rx-metadata-features", f->xdp_rx_metadata_features, mt, mj);
	auto [kt, kj] = bits(xdpctl::xsk_feature_names);
	o.add("xsk-features", f->xsk_features, kt, kj);
	o.add(
		"programs", f->programs,
		[](const std::vector<xdpctl::AttachedProg> &ps) {
			std::string s;
			for (const auto &p : ps)
				s += fmt::format("{}{} {} (id {})", s.empty() ? "" : ", ", p.mode, p.name.empty() ? "?" : p.name,
						 p.prog_id);
			return s.empty() ? std::string("none attached") : s;
		},
		[](const std::vector<xdpctl::AttachedProg> &ps) {
			auto a = nlohmann::json::array();
			for (const auto &p : ps)
				a.push_back({{"mode", p.mode}, {"prog_id", p.prog_id}, {"name", p.name}});
			return a;
		});
	o.add(
		"rings", f->rings,
		[](const xdpctl::RingSizes &r) { return fmt::format("rx {} (max {}), tx {} (max {})", r.rx, r.rx_max, r.tx, r.tx_max); },
		[](const xdpctl::RingSizes &r) {
			return nlohmann::json{{"rx", r.rx}, {"rx_max", r.rx_max}, {"tx", r.tx}, {"tx_max", r.tx_max}};
		});
	o.add(
		"channels", f->channels,
		[](const xdpctl::ChannelCounts &c) {
			return fmt::format("rx {} (max {}), tx {} (max {}), combined {} (max {})", c.rx, c.rx_max, c.tx, c.tx_max,
					   c.combined, c.combined_max);
		},
		[](const xdpctl::ChannelCounts &c) {
			return nlohmann::json{{"rx", c.rx},	      {"rx_max", c.rx_max},	{"tx", c.tx},
					      {"tx_max", c.tx_max}, {"combined", c.combined}, {"combined_max", c.combined_max}};
		});
	if (g.json) {
		print_json(o.j);
		return kExitOk;
	}
	fmt::print("{} (ifindex {})\n", f->ifname, f->ifindex);
	for (const auto &[k, v] : o.rows)
		fmt::print("  {:<26}{}\n", k, v);
	return kExitOk;
}

} // namespace

void register_features(CLI::App &app, Globals &g)
{
	auto ifname = std::make_shared<std::string>();
	auto *sub = app.add_subcommand("features", "what the kernel reports about XDP on a device (netdev genl, rtnetlink, ethtool)");
	sub->add_option("IFNAME", *ifname, "the interface")->required();
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl features eth0 -j\nA field the kernel does not report is printed as "
		    "`unavailable: <why>` (null in JSON, the reason under \"unavailable\").");
	sub->callback([ifname, &g] { g.exit_code = run(*ifname, g); });
}

} // namespace cli
