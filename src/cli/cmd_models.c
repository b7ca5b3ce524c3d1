/* cmd_models: `cesar models list | pull NAME | rm NAME | path NAME` — the
 * command-line face of the models module. Parses the arguments, builds the
 * models directory and catalog from the configuration (file < CESAR_*
 * environment < --models-dir), and maps models_err codes to exit codes:
 * a name nobody knows is a usage error (2, with the known names), a known
 * model that is missing or a failed download is a runtime failure (1), and
 * Ctrl-C during a pull is 130 with the partial file kept for resuming.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/job.h"
#include "models/models.h"
#include "util/util.h"

#define PULL_LABEL "Downloading "
#define VERIFY_LABEL "Verifying   " /* as wide as PULL_LABEL, so the bar stays put */
#define REDRAW_INTERVAL 0.1          /* seconds between redraws of the bar */

typedef struct {
    const char *action;      /* list, pull, rm, path */
    const char *name;
    const char *config_path; /* --config */
    const char *models_dir;  /* --models-dir */
    bool installed_only, json, no_verify, help;
} models_args;

/* What every action needs: the effective configuration, the directory and
 * the catalog. */
typedef struct {
    config *cfg;
    models_catalog *catalog;
    char dir[CONFIG_MAX_STRING + 16];
} models_ctx;

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar models list [--installed] [--json]\n"
        "       cesar models pull NAME [--no-verify]\n"
        "       cesar models rm NAME\n"
        "       cesar models path NAME\n"
        "\n"
        "Whisper model files (ggml-NAME.bin) in the models directory.\n"
        "  list         every known model, its size and whether it is installed\n"
        "  pull NAME    download NAME from the Hugging Face repository (models_url),\n"
        "               resuming an interrupted download, check its SHA-1 and\n"
        "               install it\n"
        "  rm NAME      remove an installed model (and any partial download of it)\n"
        "  path NAME    print where NAME is installed; exit 1 when it is not\n"
        "\n"
        "Options:\n"
        "  --models-dir DIR  models directory (default: models_dir, else\n"
        "                    DATA_DIR/models)\n"
        "  --config PATH     configuration file to read\n"
        "  --installed       list: only installed models\n"
        "  --json            list: a JSON array instead of a table\n"
        "  --no-verify       pull: skip the SHA-1 check (for models without a known digest)\n"
        "\n"
        "Models known beyond the built-in list come from the file named by the\n"
        "models_catalog key, one \"NAME SIZE SHA1\" line per model.\n");
}

/* ---- arguments ------------------------------------------------------------ */

/* The value of option `opt` at argv[*i] ("--opt VALUE" or "--opt=VALUE"), or
 * NULL when argv[*i] is not that option. *missing is set when the value is. */
static const char *option_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_positional(models_args *a, const char *arg, char *err, size_t errlen)
{
    if (!a->action)
        a->action = arg;
    else if (!a->name)
        a->name = arg;
    else
        return util_errf(err, errlen, CLI_EXIT_USAGE, "models: unexpected argument '%s'", arg);
    return CLI_EXIT_OK;
}

static int parse_args(int argc, char **argv, models_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = option_value(argc, argv, &i, "--config", &missing)))
            a->config_path = v;
        else if ((v = option_value(argc, argv, &i, "--models-dir", &missing)))
            a->models_dir = v;
        else if (missing)
            return util_errf(err, errlen, CLI_EXIT_USAGE, "models: %s needs a value", argv[i]);
        else if (strcmp(argv[i], "--installed") == 0)
            a->installed_only = true;
        else if (strcmp(argv[i], "--json") == 0)
            a->json = true;
        else if (strcmp(argv[i], "--no-verify") == 0)
            a->no_verify = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            a->help = true;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return util_errf(err, errlen, CLI_EXIT_USAGE, "models: unknown option '%s'", argv[i]);
        else if (parse_positional(a, argv[i], err, errlen) != CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int check_args(const models_args *a, char *err, size_t errlen)
{
    static const char *const actions[] = {"list", "pull", "rm", "path"};
    bool known = false;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        known = known || strcmp(a->action, actions[i]) == 0;
    if (!known)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "models: unknown action '%s' (expected "
                         "list, pull, rm or path)", a->action);
    bool is_list = strcmp(a->action, "list") == 0;
    if (is_list && a->name)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "models list: unexpected argument '%s'",
                         a->name);
    if (!is_list && !a->name)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "models %s: which model? (cesar models "
                         "%s NAME; 'cesar models list' shows the names)", a->action, a->action);
    if (!is_list && (a->installed_only || a->json))
        return util_errf(err, errlen, CLI_EXIT_USAGE, "models %s: --installed and --json apply "
                         "to 'models list' only", a->action);
    if (a->no_verify && strcmp(a->action, "pull") != 0)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "models %s: --no-verify applies to "
                         "'models pull' only", a->action);
    return CLI_EXIT_OK;
}

/* ---- context -------------------------------------------------------------- */

static int open_ctx(const models_args *a, models_ctx *ctx, char *err, size_t errlen)
{
    memset(ctx, 0, sizeof *ctx);
    int rc = cli_load_config(a->config_path, &ctx->cfg, err, errlen);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (a->models_dir && config_set(ctx->cfg, "models_dir", a->models_dir, CONFIG_SRC_FLAG, err,
                                    errlen) != CONFIG_OK)
        return CLI_EXIT_USAGE;
    const config_values *v = config_get(ctx->cfg);
    models_dir_default(v->models_dir, v->data_dir, ctx->dir, sizeof ctx->dir);
    if (models_catalog_load(&ctx->catalog, v->models_catalog, err, errlen) != MODELS_OK)
        return CLI_EXIT_USAGE; /* a broken catalog file is a configuration error */
    return CLI_EXIT_OK;
}

static void close_ctx(models_ctx *ctx)
{
    models_catalog_free(ctx->catalog);
    config_free(ctx->cfg);
}

static void format_size(long long bytes, bool approximate, char *buf, size_t n)
{
    const char *tilde = approximate ? "~" : "";
    if (bytes <= 0)
        snprintf(buf, n, "?");
    else if (bytes >= 1024LL * 1024 * 1024)
        snprintf(buf, n, "%s%.1f GiB", tilde, (double)bytes / (1024.0 * 1024 * 1024));
    else if (bytes >= 1024LL * 1024 && (approximate || bytes >= 100LL * 1024 * 1024))
        snprintf(buf, n, "%s%.0f MiB", tilde, (double)bytes / (1024.0 * 1024));
    else if (bytes >= 1024LL * 1024)
        snprintf(buf, n, "%.1f MiB", (double)bytes / (1024.0 * 1024));
    else if (bytes >= 1024)
        snprintf(buf, n, "%s%.0f KiB", tilde, (double)bytes / 1024.0);
    else
        snprintf(buf, n, "%s%lld B", tilde, bytes);
}

/* "unknown model 'x' (did you mean 'y'?); known models: a, b, c" */
static void unknown_name(const models_ctx *ctx, const char *name, char *err, size_t errlen)
{
    util_buf b = UTIL_BUF_INIT(0);
    const char *close = models_suggest(ctx->catalog, name);
    util_buf_printf(&b, "unknown model '%s'", name);
    if (close)
        util_buf_printf(&b, " (did you mean '%s'?)", close);
    util_buf_puts(&b, "; known models:");
    for (size_t i = 0; i < models_catalog_count(ctx->catalog); i++)
        util_buf_printf(&b, "%s %s", i ? "," : "", models_catalog_at(ctx->catalog, i)->name);
    util_strlcpy(err, b.data ? b.data : "unknown model", errlen);
    util_buf_free(&b);
}

/* ---- list ----------------------------------------------------------------- */

static void print_json(const models_item *items, size_t n, bool installed_only)
{
    util_buf b = UTIL_BUF_INIT(0);
    bool first = true;
    util_buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        const models_item *it = &items[i];
        if (installed_only && !it->installed)
            continue;
        bool exact = it->installed || (it->entry && it->entry->size > 0);
        util_buf_puts(&b, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
        first = false;
        util_buf_json_string(&b, it->name);
        util_buf_printf(&b, ", \"installed\": %s, \"size\": %lld, \"size_exact\": %s, "
                        "\"known\": %s, \"sha1\": ", it->installed ? "true" : "false", it->size,
                        exact ? "true" : "false", it->entry ? "true" : "false");
        if (it->entry && it->entry->sha1[0])
            util_buf_json_string(&b, it->entry->sha1);
        else
            util_buf_puts(&b, "null");
        util_buf_printf(&b, ", \"partial_bytes\": %lld, \"path\": ", it->partial_bytes);
        util_buf_json_string(&b, it->path);
        util_buf_puts(&b, "}");
    }
    util_buf_puts(&b, first ? "]\n" : "\n]\n");
    if (b.data)
        fputs(b.data, stdout);
    util_buf_free(&b);
}

static void print_table(const models_item *items, size_t n, bool installed_only)
{
    printf("%-20s %-10s %s\n", "NAME", "SIZE", "INSTALLED");
    for (size_t i = 0; i < n; i++) {
        const models_item *it = &items[i];
        if (installed_only && !it->installed)
            continue;
        char size[32], partial[32];
        bool exact = it->installed || (it->entry && it->entry->size > 0);
        format_size(it->size, !exact, size, sizeof size);
        if (it->installed)
            printf("%-20s %-10s \xe2\x9c\x93 %s%s\n", it->name, size, it->path,
                   it->entry ? "" : " (not in the catalog)");
        else if (it->partial_bytes > 0) {
            format_size(it->partial_bytes, false, partial, sizeof partial);
            printf("%-20s %-10s - (partial download: %s)\n", it->name, size, partial);
        } else
            printf("%-20s %-10s -\n", it->name, size);
    }
}

static int run_list(const models_args *a, models_ctx *ctx)
{
    char err[1024];
    models_item *items = NULL;
    size_t n = 0;
    if (models_list(ctx->catalog, ctx->dir, &items, &n, err, sizeof err) != MODELS_OK) {
        cli_error("%s", err);
        return CLI_EXIT_FAILURE;
    }
    if (a->json)
        print_json(items, n, a->installed_only);
    else
        print_table(items, n, a->installed_only);
    free(items);
    return CLI_EXIT_OK;
}

/* ---- path and rm ------------------------------------------------------------ */

static int run_path(const models_args *a, models_ctx *ctx)
{
    char path[4096], err[4096];
    int rc = models_locate(ctx->dir, a->name, path, sizeof path, err, sizeof err);
    if (rc == MODELS_OK) {
        printf("%s\n", path);
        return CLI_EXIT_OK;
    }
    if (rc == MODELS_ERR_NOT_INSTALLED && !models_is_path(a->name) &&
        !models_find(ctx->catalog, a->name)) {
        unknown_name(ctx, a->name, err, sizeof err);
        rc = MODELS_ERR_NAME;
    }
    cli_error("%s", err);
    return rc == MODELS_ERR_NOT_INSTALLED ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
}

static int run_rm(const models_args *a, models_ctx *ctx)
{
    char err[4096];
    bool partial = false;
    int rc = models_remove(ctx->dir, a->name, &partial, err, sizeof err);
    if (rc == MODELS_ERR_NOT_INSTALLED && !models_find(ctx->catalog, a->name)) {
        unknown_name(ctx, a->name, err, sizeof err);
        rc = MODELS_ERR_NAME;
    }
    if (rc != MODELS_OK) {
        cli_error("%s", err);
        return rc == MODELS_ERR_NAME ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    }
    printf("removed %s%s\n", a->name, partial ? " (and its partial download)" : "");
    return CLI_EXIT_OK;
}

/* ---- pull ------------------------------------------------------------------ */

typedef struct {
    bool show;
    bool drawn;
    double started, last_draw;
    bool last_verifying;
} pull_bar;

static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

/* Called by models_pull on this thread, from inside the transfer. */
static void on_pull_progress(long long done, long long total, bool verifying, void *user_data)
{
    pull_bar *bar = user_data;
    double now = util_now_seconds();
    if (!bar->show || (now - bar->last_draw < REDRAW_INTERVAL && verifying == bar->last_verifying))
        return;
    if (verifying != bar->last_verifying)
        bar->started = now; /* the ETA of the hashing is its own */
    bar->last_draw = now;
    bar->last_verifying = verifying;
    char got[32], all[32], tail[80], line[512];
    format_size(done, false, got, sizeof got);
    format_size(total, false, all, sizeof all);
    snprintf(tail, sizeof tail, "%s / %s", got, total > 0 ? all : "?");
    int width = terminal_width() - 1 - (int)strlen(tail) - 2;
    cli_progress_render(line, sizeof line, width, verifying ? VERIFY_LABEL : PULL_LABEL,
                        total > 0 ? (double)done / (double)total : -1.0, now - bar->started);
    fprintf(stderr, "\r%s  %s\033[K", line, tail);
    fflush(stderr);
    bar->drawn = true;
}

static int pull_exit_code(int rc)
{
    switch (rc) {
    case MODELS_OK: return CLI_EXIT_OK;
    case MODELS_ERR_NAME: return CLI_EXIT_USAGE;
    case MODELS_ERR_CANCELLED: return CLI_EXIT_INTERRUPTED;
    default: return CLI_EXIT_FAILURE;
    }
}

static void report_pull(const models_pull_result *r, const char *name)
{
    char size[32];
    format_size(r->bytes, false, size, sizeof size);
    if (r->already_installed)
        printf("%s is already installed (%s%s) at %s\n", name, size,
               r->sha1[0] ? ", SHA-1 verified" : "", r->path);
    else
        printf("installed %s (%s) at %s\n", name, size, r->path);
}

static int run_pull(const models_args *a, models_ctx *ctx)
{
    char err[4096], part[4096];
    const config_values *v = config_get(ctx->cfg);
    if (models_is_path(a->name)) {
        cli_error("models pull takes a model name, not a path ('%s')", a->name);
        return CLI_EXIT_USAGE;
    }
    if (!models_find(ctx->catalog, a->name)) {
        if (models_resolve(ctx->dir, a->name, part, sizeof part, err, sizeof err) == MODELS_OK)
            unknown_name(ctx, a->name, err, sizeof err);
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    pull_bar bar = {isatty(STDERR_FILENO) != 0, false, util_now_seconds(), 0, false};
    models_pull_params p = models_pull_default_params();
    p.base_url = v->models_url;
    p.models_dir = ctx->dir;
    p.name = a->name;
    p.catalog = ctx->catalog;
    p.no_verify = a->no_verify;
    p.token = v->hf_token;
    p.progress = on_pull_progress;
    p.progress_user_data = &bar;
    p.cancel = cli_job_interrupt_flag();
    p.connect_timeout_ms = (long)v->download_connect_timeout * 1000;
    models_pull_result r;
    int rc = models_pull(&p, &r, err, sizeof err);
    if (bar.drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    if (rc == MODELS_OK) {
        report_pull(&r, a->name);
        return CLI_EXIT_OK;
    }
    if (rc == MODELS_ERR_CANCELLED || cli_job_interrupted()) {
        models_part_path(ctx->dir, a->name, part, sizeof part, NULL, 0);
        cli_error("interrupted; the partial download is kept in %s and 'cesar models pull %s' "
                  "resumes it", part, a->name);
        return CLI_EXIT_INTERRUPTED;
    }
    cli_error("%s", err);
    return pull_exit_code(rc);
}

/* ---- entry point ----------------------------------------------------------- */

int cli_cmd_models(int argc, char **argv)
{
    models_args a;
    models_ctx ctx;
    char err[4096];
    /* first, so a Ctrl-C that arrives while the catalog loads still counts */
    cli_job_install_signal_handlers();
    memset(&ctx, 0, sizeof ctx);
    int rc = parse_args(argc, argv, &a, err, sizeof err);
    if (rc == CLI_EXIT_OK && a.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && !a.action) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (rc == CLI_EXIT_OK)
        rc = check_args(&a, err, sizeof err);
    if (rc == CLI_EXIT_OK)
        rc = open_ctx(&a, &ctx, err, sizeof err);
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        goto cleanup;
    }
    if (strcmp(a.action, "list") == 0)
        rc = run_list(&a, &ctx);
    else if (strcmp(a.action, "pull") == 0)
        rc = run_pull(&a, &ctx);
    else if (strcmp(a.action, "rm") == 0)
        rc = run_rm(&a, &ctx);
    else
        rc = run_path(&a, &ctx);

cleanup:
    close_ctx(&ctx);
    return rc;
}
