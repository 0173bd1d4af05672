// pcap2corpus OUTDIR FILE.pcap...: every frame of the captures becomes a fuzzer input (mode 0,
// default configuration: fuzz.hpp) named after its capture, OUTDIR/<capture>-<n>.
#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "input.hpp"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pcap2corpus OUTDIR FILE.pcap...\n");
		return 2;
	}
	std::filesystem::create_directories(argv[1]);
	size_t total = 0;
	for (int i = 2; i < argc; i++) {
		char err[PCAP_ERRBUF_SIZE];
		pcap_t *p = pcap_open_offline(argv[i], err);
		if (!p) {
			fprintf(stderr, "pcap2corpus: %s: %s\n", argv[i], err);
			return 1;
		}
		if (pcap_datalink(p) != DLT_EN10MB) {
			fprintf(stderr, "pcap2corpus: %s: not an Ethernet capture\n", argv[i]);
			return 1;
		}
		std::string stem = std::filesystem::path(argv[i]).stem();
		struct pcap_pkthdr *h;
		const u_char *d;
		for (int n = 0; pcap_next_ex(p, &h, &d) == 1; n++) {
			std::vector<uint8_t> frame(d, d + h->caplen);
			auto in = fz::encode_raw(frame);
			std::ofstream(std::string(argv[1]) + "/" + stem + "-" + std::to_string(n), std::ios::binary)
				.write(reinterpret_cast<const char *>(in.data()), static_cast<long>(in.size()));
			total++;
		}
		pcap_close(p);
	}
	printf("pcap2corpus: %zu inputs in %s\n", total, argv[1]);
	return 0;
}
