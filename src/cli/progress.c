/* progress: the terminal progress bar. Rendering is a pure function of
 * (fraction, elapsed) so it can be tested; the transcribe command redraws it
 * from its own timer, several times a second, whatever the engine is doing. */
#include "cli/cli.h"
#include "format/format.h"

#include <stdio.h>
#include <string.h>

#define PROGRESS_MIN_BAR 10

void cli_progress_render(char *buf, size_t n, int width, const char *label,
                         double fraction, double elapsed_seconds)
{
    char elapsed[32], eta[32], tail[96];
    format_duration(elapsed_seconds, elapsed, sizeof elapsed);
    bool known = fraction >= 0;
    if (fraction > 1)
        fraction = 1;
    if (known && fraction > 0.001) {
        format_duration(elapsed_seconds * (1 - fraction) / fraction, eta, sizeof eta);
        snprintf(tail, sizeof tail, " %3d%%  %s elapsed, ETA %s", (int)(fraction * 100),
                 elapsed, eta);
    } else if (known) {
        snprintf(tail, sizeof tail, " %3d%%  %s elapsed", (int)(fraction * 100), elapsed);
    } else {
        snprintf(tail, sizeof tail, "  %s elapsed", elapsed);
    }

    int fixed = (int)strlen(label) + 3 + (int)strlen(tail); /* "label [" + "]" */
    int bar = width - fixed;
    if (bar < PROGRESS_MIN_BAR)
        bar = PROGRESS_MIN_BAR;
    if (bar > 50)
        bar = 50;
    int filled = known ? (int)(fraction * bar + 0.5) : 0;

    size_t pos = 0;
    int w = snprintf(buf, n, "%s [", label);
    pos = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < bar && pos + 1 < n; i++)
        buf[pos++] = i < filled ? '#' : '-';
    if (pos < n)
        snprintf(buf + pos, n - pos, "]%s", tail);
    else if (n > 0)
        buf[n - 1] = '\0';
}
