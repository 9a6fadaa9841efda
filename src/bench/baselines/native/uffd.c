/*
 * Baseline: userfaultfd, the Linux way for one thread to resolve another thread's page faults.
 *
 * The main thread (the faulting thread) reads one byte from each page of a registered anonymous
 * region. Each read of a missing page blocks in the kernel and queues a UFFD_EVENT_PAGEFAULT; the
 * handler thread, blocked in read(2) on the userfaultfd, resolves it with UFFDIO_COPY (copy a
 * prepared 4 KiB page in, like a pager supplying data) or UFFDIO_ZEROPAGE, which also wakes the
 * faulting thread. After a pass over the region the faulting thread drops every page with
 * MADV_DONTNEED so the next pass faults again. The faulting thread checks that it read the byte
 * the handler supplied.
 *
 * Latency is the time of the single faulting load, taken in the faulting thread with
 * clock_gettime(CLOCK_MONOTONIC). Throughput is faults / wall time and also pays for MADV_DONTNEED.
 *
 * With "pin" both threads are bound to CPU 0, so each hand-off is a local context switch instead
 * of a cross-CPU wake-up (on a VM with halting idle vCPUs that difference dominates; see README).
 *
 * usage: uffd DURATION_MS [copy|zeropage] [PAGES] [pin]
 * output: one JSON line: BaselineResult fields, or {"name":"userfaultfd","skipped":"reason"}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "latency.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define PATTERN 0x5a

static long page_size;
static int uffd = -1;
static int use_zeropage;
static char *src_page;
static volatile int handler_err;
static char handler_msg[160];

static void skip(const char *fmt, const char *what, int err) {
    printf("{\"name\":\"userfaultfd\",\"skipped\":\"");
    printf(fmt, what, strerror(err));
    printf("\"}\n");
}

static void *handler(void *arg) {
    (void)arg;
    for (;;) {
        struct uffd_msg msg;
        ssize_t r = read(uffd, &msg, sizeof msg); /* blocking fd: sleeps until a fault is queued */
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            handler_err = errno;
            snprintf(handler_msg, sizeof handler_msg, "read: %s", strerror(errno));
            return NULL;
        }
        if (r != sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT) continue;
        unsigned long addr = (unsigned long)msg.arg.pagefault.address & ~((unsigned long)page_size - 1);
        int rc;
        if (use_zeropage) {
            struct uffdio_zeropage z = { .range = { .start = addr, .len = (unsigned long)page_size }, .mode = 0 };
            rc = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
        } else {
            struct uffdio_copy c = { .dst = addr, .src = (unsigned long)src_page, .len = (unsigned long)page_size, .mode = 0 };
            rc = ioctl(uffd, UFFDIO_COPY, &c);
        }
        if (rc != 0 && errno != EEXIST) { /* EEXIST: already resolved (spurious duplicate) */
            handler_err = errno;
            snprintf(handler_msg, sizeof handler_msg, "%s: %s", use_zeropage ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY", strerror(errno));
            return NULL;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DURATION_MS [copy|zeropage] [PAGES]\n", argv[0]);
        return 2;
    }
    double duration_ms = atof(argv[1]);
    use_zeropage = argc > 2 && strcmp(argv[2], "zeropage") == 0;
    size_t pages = argc > 3 ? (size_t)atol(argv[3]) : 256;
    if (duration_ms <= 0 || pages < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
    int pin = argc > 4 && strcmp(argv[4], "pin") == 0;
    if (pin) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        /* Set before pthread_create: the handler thread inherits the mask. */
        if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("sched_setaffinity"); return 1; }
    }
    double warmup_ms = warmup_for(duration_ms);
    page_size = sysconf(_SC_PAGESIZE);

#ifndef SYS_userfaultfd
    printf("{\"name\":\"userfaultfd\",\"skipped\":\"SYS_userfaultfd not defined by the C library headers\"}\n");
    return 0;
#else
    const char *how = "userfaultfd(O_CLOEXEC)";
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (uffd < 0 && errno == EPERM) {
        /* vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE: user-mode-only faults are still allowed (5.11+). */
        how = "userfaultfd(O_CLOEXEC|UFFD_USER_MODE_ONLY)";
        uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    }
    if (uffd < 0) { skip("%s: %s", how, errno); return 0; }
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    if (ioctl(uffd, UFFDIO_API, &api) != 0) { skip("%s: %s", "UFFDIO_API", errno); return 0; }

    size_t len = pages * (size_t)page_size;
    char *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    src_page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED || src_page == MAP_FAILED) { skip("%s: %s", "mmap", errno); return 0; }
    memset(src_page, PATTERN, (size_t)page_size);
    madvise(region, len, MADV_NOHUGEPAGE);
    struct uffdio_register reg = { .range = { .start = (unsigned long)region, .len = len }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) { skip("%s: %s", "UFFDIO_REGISTER", errno); return 0; }
    if (use_zeropage && !(reg.ioctls & (1ull << _UFFDIO_ZEROPAGE))) {
        printf("{\"name\":\"userfaultfd\",\"skipped\":\"UFFDIO_ZEROPAGE not offered for this range\"}\n");
        return 0;
    }

    uint32_t *samples = malloc(sizeof(uint32_t) * SAMPLE_CAP);
    if (!samples) { perror("malloc"); return 1; }
    memset(samples, 0, sizeof(uint32_t) * SAMPLE_CAP);

    pthread_t h;
    if (pthread_create(&h, NULL, handler, NULL) != 0) { perror("pthread_create"); return 1; }

    const char expect = use_zeropage ? 0 : PATTERN;
    uint64_t n = 0, faults = 0, t_start = 0;
    uint64_t warm_end = now_ns() + (uint64_t)(warmup_ms * 1e6);
    uint64_t end = 0;
    int timing = 0;
    char bad = 0;
    for (;;) {
        uint64_t t = now_ns();
        if (!timing && t >= warm_end) { timing = 1; t_start = t; end = t + (uint64_t)(duration_ms * 1e6); }
        if (timing && t >= end) break;
        if (handler_err) break;
        for (size_t i = 0; i < pages; i++) {
            uint64_t t0 = now_ns();
            char c = ((volatile char *)region)[i * (size_t)page_size];
            uint64_t t1 = now_ns();
            if (c != expect) bad = 1;
            if (timing) {
                record_sample(samples, &n, t0, t1);
                faults++;
            }
        }
        if (madvise(region, len, MADV_DONTNEED) != 0) { skip("%s: %s", "madvise(MADV_DONTNEED)", errno); return 0; }
    }
    uint64_t t_end = now_ns();
    if (handler_err) {
        printf("{\"name\":\"userfaultfd\",\"skipped\":\"handler failed: %s\"}\n", handler_msg);
        return 0;
    }
    pthread_cancel(h); /* read(2) is a cancellation point */
    pthread_join(h, NULL);
    if (bad) {
        printf("{\"name\":\"userfaultfd\",\"skipped\":\"faulting thread read data the handler did not supply\"}\n");
        return 0;
    }
    double elapsed_ms = (double)(t_end - t_start) / 1e6;
    printf("{\"name\":\"userfaultfd\",\"procs\":1,\"ops\":%llu,\"elapsedMs\":%.3f,\"opsPerSec\":%.1f,",
           (unsigned long long)faults, elapsed_ms, (double)faults * 1000.0 / elapsed_ms);
    print_latency(samples, n);
    printf(",\"detail\":\"%s; handler thread resolves with %s; %zu-page region, MADV_DONTNEED per pass%s\"}\n",
           how, use_zeropage ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY", pages, pin ? "; both threads pinned to CPU 0" : "");
    return 0;
#endif
}
