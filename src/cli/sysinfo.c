/* sysinfo: what -v prints about the machine, so a speed figure pasted into a
 * bug report says what it was measured on. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void cpu_model(char *buf, size_t n)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(buf, n, "unknown CPU");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                snprintf(buf, n, "%s", colon + 2);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

void cli_print_system_info(FILE *f)
{
    char cpu[256];
    struct utsname u;
    cpu_model(cpu, sizeof cpu);
    fprintf(f, "  system:   %s, %ld cores\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    if (uname(&u) == 0)
        fprintf(f, "  os:       %s %s %s\n", u.sysname, u.release, u.machine);
}
