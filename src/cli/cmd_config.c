/* cmd_config: `cesar config show` prints the effective configuration with
 * the origin of every value (secrets redacted); `cesar config path` prints
 * which file would be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar config show [--config PATH]\n"
        "       cesar config path\n"
        "\n"
        "show  print the effective configuration (file < CESAR_* environment), each\n"
        "      value followed by where it came from; secrets are redacted\n"
        "path  print the configuration file that is read by default\n");
}

static int show(const char *explicit_path)
{
    char err[1024];
    config *c = NULL;
    char *text = NULL;
    int rc = cli_load_config(explicit_path, &c, err, sizeof err);
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        goto cleanup;
    }
    text = config_show(c);
    if (!text) {
        cli_error("out of memory");
        rc = CLI_EXIT_FAILURE;
        goto cleanup;
    }
    fputs(text, stdout);

cleanup:
    free(text);
    config_free(c);
    return rc;
}

int cli_cmd_config(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "path") == 0 && argc == 2) {
        char path[4096];
        config_default_path(path, sizeof path);
        printf("%s\n", path);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "show") == 0) {
        const char *explicit_path = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                explicit_path = argv[++i];
            } else if (strncmp(argv[i], "--config=", 9) == 0) {
                explicit_path = argv[i] + 9;
            } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                usage(stdout);
                return CLI_EXIT_OK;
            } else {
                cli_error("config show: unexpected argument '%s'", argv[i]);
                return CLI_EXIT_USAGE;
            }
        }
        return show(explicit_path);
    }
    cli_error("config: unknown action '%s' (expected show or path)", argv[1]);
    return CLI_EXIT_USAGE;
}
