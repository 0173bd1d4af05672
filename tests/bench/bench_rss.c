// bench_rss FD CMD [ARG...]: runs CMD as a child, writes its peak resident set (KiB, wait4's
// ru_maxrss) to file descriptor FD, and exits as CMD did.
//
// xdpctl_bench measures the memory of commands through this small static program rather than
// forking them itself: a child forked from the runner starts as a copy of the runner, and the
// kernel carries that copy's peak RSS over exec into the child's ru_maxrss (exec_mmap), so every
// command would weigh at least what the runner weighs at the time. Forked from here, the floor
// is this program's few hundred KiB.
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_rss FD CMD [ARG...]\n");
		return 2;
	}
	int fd = atoi(argv[1]);
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_rss: fork");
		return 1;
	}
	if (pid == 0) {
		close(fd);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("bench_rss: wait4");
		return 1;
	}
	dprintf(fd, "%ld\n", ru.ru_maxrss);
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
