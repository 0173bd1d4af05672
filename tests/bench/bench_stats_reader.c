// bench_stats_reader NS_DIR EXPECTED INTERVAL COUNT: the floor of `xdpctl stats`, the baseline
// of its memory figure. It opens every NS_DIR/if<IFINDEX>/xdpctl_stats the loader pinned (exit 1
// unless there are EXPECTED of them), reads each once, then COUNT times, every INTERVAL seconds,
// reads each again (per-CPU values summed, as xdpctl does) and prints one line: per interface,
// the packets and bytes of every action since the previous reading. Plain libbpf and stdio.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACTIONS 5 // XDP_ABORTED..XDP_REDIRECT, as include/xdpctl/stats.h counts them

struct watched {
	int ifindex, fd;
	uint64_t packets[ACTIONS], bytes[ACTIONS];
};

static int read_all(struct watched *w, int n, uint64_t *percpu, int ncpu, int print)
{
	for (int i = 0; i < n; i++) {
		if (print)
			printf("%sif%d", i ? " " : "", w[i].ifindex);
		for (uint32_t a = 0; a < ACTIONS; a++) {
			if (bpf_map_lookup_elem(w[i].fd, &a, percpu))
				return -1;
			uint64_t p = 0, b = 0;
			for (int c = 0; c < ncpu; c++) {
				p += percpu[2 * c];
				b += percpu[2 * c + 1];
			}
			if (print)
				printf(" %llu %llu", (unsigned long long)(p - w[i].packets[a]),
				       (unsigned long long)(b - w[i].bytes[a]));
			w[i].packets[a] = p;
			w[i].bytes[a] = b;
		}
	}
	if (print)
		printf("\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: bench_stats_reader NS_DIR EXPECTED INTERVAL COUNT\n");
		return 2;
	}
	int expected = atoi(argv[2]), count = atoi(argv[4]);
	double interval = atof(argv[3]);
	struct watched *w = calloc((size_t)expected + 1, sizeof(*w));
	int n = 0;
	DIR *d = opendir(argv[1]);
	if (!d || !w) {
		perror(argv[1]);
		return 1;
	}
	struct dirent *e;
	while ((e = readdir(d)) && n <= expected) {
		if (strncmp(e->d_name, "if", 2) != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s/xdpctl_stats", argv[1], e->d_name);
		int fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		w[n].ifindex = atoi(e->d_name + 2);
		w[n++].fd = fd;
	}
	closedir(d);
	if (n != expected) {
		fprintf(stderr, "bench_stats_reader: %d pinned xdpctl_stats under %s, expected %d\n", n, argv[1], expected);
		return 1;
	}
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu = calloc((size_t)ncpu * 2, sizeof(uint64_t));
	if (ncpu <= 0 || !percpu || read_all(w, n, percpu, ncpu, 0))
		return 1;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int k = 0; k < count; k++) {
		long ns = next.tv_nsec + (long)(interval * 1e9);
		next.tv_sec += ns / 1000000000L;
		next.tv_nsec = ns % 1000000000L;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		if (read_all(w, n, percpu, ncpu, 1))
			return 1;
	}
	return 0;
}
