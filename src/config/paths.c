/* paths: where Cesar's files live by default, following the XDG base
 * directory rules: $XDG_CONFIG_HOME, $XDG_DATA_HOME and $XDG_CACHE_HOME when
 * set to an absolute path (the spec says relative values are to be ignored),
 * else the conventional directories under $HOME. */
#include "config/internal.h"

#include "util/util.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* $HOME, else the password database, else "." — a service started without
 * HOME still gets a stable answer. */
static void home_dir(char *buf, size_t n)
{
    const char *home = getenv("HOME");
    if (home && *home) {
        util_strlcpy(buf, home, n);
        return;
    }
    struct passwd pw, *found = NULL;
    char scratch[4096];
    if (getpwuid_r(getuid(), &pw, scratch, sizeof scratch, &found) == 0 && found &&
        found->pw_dir && *found->pw_dir) {
        util_strlcpy(buf, found->pw_dir, n);
        return;
    }
    util_strlcpy(buf, ".", n);
}

void config__xdg_path(const char *xdg_var, const char *home_rel, const char *tail, char *buf,
                      size_t n)
{
    const char *xdg = getenv(xdg_var);
    if (xdg && xdg[0] == '/') {
        snprintf(buf, n, "%s/cesar%s", xdg, tail);
        return;
    }
    char home[4096];
    home_dir(home, sizeof home);
    snprintf(buf, n, "%s/%s/cesar%s", home, home_rel, tail);
}

void config_default_path(char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    config__xdg_path("XDG_CONFIG_HOME", ".config", "/config.toml", buf, n);
}
