/* clock: a monotonic clock for measuring how long stages take. */
#include "util/util.h"

#include <time.h>

double util_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
