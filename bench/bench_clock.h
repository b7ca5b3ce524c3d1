/* bench_clock: what the benchmark programs share to report figures the same
 * way: the wall clock, the process's CPU clock, the median of a set of timed
 * runs and the peak resident memory. A header of static functions, as the
 * test helpers are; the benchmarks are programs, not tests, so nothing here
 * asserts. */
#ifndef CESAR_BENCH_CLOCK_H
#define CESAR_BENCH_CLOCK_H

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* Wall-clock seconds from an arbitrary origin (monotonic). */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of all this process's threads: on a shared machine, less
 * disturbed by the other processes than the wall clock. */
static inline double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) in place (so v[0] and v[n - 1] are then the extremes) and
 * returns its median, the mean of the middle two for an even n. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Peak resident set of the process so far, MB. */
static inline double bench_peak_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

#endif
