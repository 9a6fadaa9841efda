/*
 * What both native baselines share: the clock, the warm-up rule of the JS baselines
 * (harness.ts warmupMs), the per-fault sample buffer, and the latency summary with the rule of
 * latency.ts: nearest rank on the sorted samples, pXX = sorted[ceil(XX/100 * n) - 1].
 */
#ifndef DEVPAGER_BASELINE_LATENCY_H
#define DEVPAGER_BASELINE_LATENCY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SAMPLE_CAP (1u << 21) /* per thread; beyond this faults are counted, not timed */

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Untimed warm-up before the timed section: a fifth of the duration, clamped to [50, 300] ms. */
static inline double warmup_for(double duration_ms) {
    double w = duration_ms / 5;
    return w < 50 ? 50 : w > 300 ? 300 : w;
}

/* Record one fault's latency t1 - t0 (ns) while the buffer has room. */
static inline void record_sample(uint32_t *samples, uint64_t *n, uint64_t t0, uint64_t t1) {
    if (*n < SAMPLE_CAP) samples[(*n)++] = (uint32_t)(t1 - t0 > UINT32_MAX ? UINT32_MAX : t1 - t0);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double rank(const uint32_t *s, uint64_t n, double q) {
    double c = q * (double)n;
    uint64_t i = (uint64_t)c;
    if ((double)i < c) i++;
    if (i == 0) i = 1;
    if (i > n) i = n;
    return (double)s[i - 1];
}

/* Sort samples[0, n) in place and print the latency fields of a BaselineResult (0 with no sample). */
static void print_latency(uint32_t *s, uint64_t n) {
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) sum += s[i];
    qsort(s, n, sizeof(uint32_t), cmp_u32);
    printf("\"p50Ns\":%.0f,\"p99Ns\":%.0f,\"p999Ns\":%.0f,\"meanNs\":%.1f",
           n ? rank(s, n, 0.5) : 0.0, n ? rank(s, n, 0.99) : 0.0, n ? rank(s, n, 0.999) : 0.0, n ? sum / (double)n : 0.0);
}

#endif
