/* Shared by the tests/mpi programs: option parsing helpers, the per-rank
 * buffer (a 4 KiB-page half and a THP half), placement scanning and the
 * one-line placement record.  No libnuma: move_pages(2) via syscall(2). */
#ifndef NM_MPI_COMMON_H
#define NM_MPI_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define NM_LINE_MAX 4096

struct nm_buf {
	unsigned char *base; /* the whole mapping, 2 MiB aligned */
	size_t size;         /* bytes in use */
	size_t map_size;     /* bytes mapped */
	size_t small_size;   /* first part: MADV_NOHUGEPAGE */
};

extern volatile sig_atomic_t nm_got_usr1;
extern volatile sig_atomic_t nm_got_stop;

/* Parses "64M", "1G", "4096", "512K"; returns 0 on a bad value. */
size_t nm_parse_size(const char *s);
/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double nm_now(void);
/* SIGUSR1 sets nm_got_usr1; SIGTERM, SIGINT, SIGUSR2 set nm_got_stop. */
void nm_install_signals(void);
/* Maps SIZE bytes: first half 4 KiB pages, second half THP (madvise);
 * touches every page.  Exits the program on failure. */
void nm_buf_alloc(struct nm_buf *b, size_t size);
/* Writes "rank=R pid=P host=H cpus=LIST nodes=N:pages,... pages=T
 * small=N:pages,... thp=N:pages,... thp_kb=K" into line (no newline).
 * Queries move_pages(2) and retries pages that answer -ENOENT. */
void nm_placement_line(char *line, size_t len, int rank,
		       const struct nm_buf *b);
/* Writes one line + '\n' to stdout with a single write(2). */
void nm_emit(const char *line);
/* Writes DIR/rank-R.pid (atomically, via rename) holding our pid. */
int nm_write_pidfile(const char *dir, int rank);
/* Formats the CPU affinity of this thread as a list, e.g. 0-3,8. */
void nm_cpu_list(char *out, size_t len);

#endif
