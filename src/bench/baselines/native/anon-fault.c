/*
 * Baseline: the Linux kernel's own anonymous minor page fault.
 *
 * Each thread repeats: mmap N anonymous pages, write one byte to each page (one minor fault each,
 * the kernel allocates and zeroes a page and enters the PTE), munmap. Transparent huge pages are
 * disabled on the range (MADV_NOHUGEPAGE) so every touch is exactly one 4 KiB fault; the count is
 * cross-checked against getrusage(RUSAGE_THREAD).ru_minflt.
 *
 * Latency is the time of the single faulting store, taken in the faulting thread with
 * clock_gettime(CLOCK_MONOTONIC) (vDSO) around it. Throughput is total faults / wall time and so
 * also pays for the mmap/munmap of each round.
 *
 * usage: anon-fault THREADS DURATION_MS [PAGES_PER_MAP]
 * output: one JSON line (BaselineResult fields plus minflt, pagesPerMap, detail).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "latency.h"

#define MAX_THREADS 64

static long page_size;
static size_t pages_per_map = 256;
static double duration_ms;
static double warmup_ms;
static pthread_barrier_t barrier;

struct thread_result {
    pthread_t tid;
    uint32_t *samples;
    uint64_t n;       /* samples recorded */
    uint64_t faults;  /* timed faults */
    uint64_t minflt;  /* ru_minflt delta over the timed section */
    int err;
    char errmsg[128];
};

static long thread_minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt;
}

/* One round: map, touch every page, unmap. Returns -1 on error (errno set). */
static int round_trip(struct thread_result *r, int record) {
    size_t len = pages_per_map * (size_t)page_size;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    madvise(p, len, MADV_NOHUGEPAGE); /* best effort: THP may be compiled out */
    for (size_t i = 0; i < pages_per_map; i++) {
        uint64_t t0 = now_ns();
        ((volatile char *)p)[i * (size_t)page_size] = 1;
        uint64_t t1 = now_ns();
        if (record) {
            record_sample(r->samples, &r->n, t0, t1);
            r->faults++;
        }
    }
    if (munmap(p, len) != 0) return -1;
    return 0;
}

static void *worker(void *arg) {
    struct thread_result *r = arg;
    pthread_barrier_wait(&barrier);
    uint64_t end = now_ns() + (uint64_t)(warmup_ms * 1e6);
    while (now_ns() < end) {
        if (round_trip(r, 0) != 0) goto fail;
    }
    pthread_barrier_wait(&barrier); /* everyone starts timing together */
    long f0 = thread_minflt();
    end = now_ns() + (uint64_t)(duration_ms * 1e6);
    while (now_ns() < end) {
        if (round_trip(r, 1) != 0) goto fail;
    }
    r->minflt = (uint64_t)(thread_minflt() - f0);
    return NULL;
fail:
    r->err = errno;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", strerror(errno));
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s THREADS DURATION_MS [PAGES_PER_MAP]\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]);
    duration_ms = atof(argv[2]);
    if (argc > 3) pages_per_map = (size_t)atol(argv[3]);
    if (threads < 1 || threads > MAX_THREADS || duration_ms <= 0 || pages_per_map < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    warmup_ms = warmup_for(duration_ms);
    page_size = sysconf(_SC_PAGESIZE);

    struct thread_result res[MAX_THREADS];
    memset(res, 0, sizeof res);
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        res[t].samples = malloc(sizeof(uint32_t) * SAMPLE_CAP);
        if (!res[t].samples) { perror("malloc"); return 1; }
        memset(res[t].samples, 0, sizeof(uint32_t) * SAMPLE_CAP); /* pre-fault the sample buffer */
        if (pthread_create(&res[t].tid, NULL, worker, &res[t]) != 0) { perror("pthread_create"); return 1; }
    }
    pthread_barrier_wait(&barrier); /* start warm-up */
    pthread_barrier_wait(&barrier); /* start timing */
    uint64_t t0 = now_ns();
    for (int t = 0; t < threads; t++) pthread_join(res[t].tid, NULL);
    uint64_t t1 = now_ns();

    uint64_t n = 0, faults = 0, minflt = 0;
    for (int t = 0; t < threads; t++) {
        if (res[t].err) {
            printf("{\"name\":\"linux-anon-fault\",\"skipped\":\"thread %d failed: %s\"}\n", t, res[t].errmsg);
            return 0;
        }
        n += res[t].n;
        faults += res[t].faults;
        minflt += res[t].minflt;
    }
    uint32_t *all = malloc(sizeof(uint32_t) * (n ? n : 1));
    if (!all) { perror("malloc"); return 1; }
    uint64_t k = 0;
    for (int t = 0; t < threads; t++) {
        memcpy(all + k, res[t].samples, sizeof(uint32_t) * res[t].n);
        k += res[t].n;
    }
    double elapsed_ms = (double)(t1 - t0) / 1e6;
    printf("{\"name\":\"linux-anon-fault\",\"procs\":%d,\"ops\":%llu,\"elapsedMs\":%.3f,\"opsPerSec\":%.1f,",
           threads, (unsigned long long)faults, elapsed_ms, (double)faults * 1000.0 / elapsed_ms);
    print_latency(all, n);
    printf(",\"minflt\":%llu,\"pagesPerMap\":%zu,"
           "\"detail\":\"mmap %zu pages, write 1 byte/page, munmap; latency = the faulting store; minflt %llu for %llu touches\"}\n",
           (unsigned long long)minflt, pages_per_map, pages_per_map, (unsigned long long)minflt, (unsigned long long)faults);
    return 0;
}
