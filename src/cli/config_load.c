/* config_load: how every command builds its configuration — built-in
 * defaults, then the config file (the default path, or --config PATH, which
 * must exist), then CESAR_* environment variables. Flags are applied by the
 * command afterwards, on top. */
#include "cli/cli.h"

#include <string.h>

#include "util/util.h"

int cli_load_config(const char *explicit_path, config **out, char *err, size_t errlen)
{
    char default_path[4096];
    config *c = config_new();
    *out = NULL;
    if (!c)
        return util_errf(err, errlen, CLI_EXIT_FAILURE, "out of memory");
    config_default_path(default_path, sizeof default_path);
    const char *path = explicit_path ? explicit_path : default_path;
    if (config_load_file(c, path, explicit_path != NULL, err, errlen) != CONFIG_OK ||
        config_load_env(c, err, errlen) != CONFIG_OK) {
        config_free(c);
        return CLI_EXIT_USAGE;
    }
    *out = c;
    return CLI_EXIT_OK;
}

/* --config must be known before any other value is applied, because the
 * file sits below the environment and the flags in precedence; so it is
 * looked for before getopt runs. */
const char *cli_find_config_flag(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}
