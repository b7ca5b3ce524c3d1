/* cmd_models: `cesar models list | pull NAME | rm NAME | path NAME` — the
 * command-line face of the models module. Parses the arguments, builds the
 * models directory and catalog from the configuration (file < CESAR_*
 * environment < --models-dir), and maps models_err codes to exit codes:
 * a name nobody knows is a usage error (2, with the known names), a known
 * model that is missing or a failed download is a runtime failure (1), and
 * Ctrl-C during a pull is 130 with the partial file kept for resuming.
 *
 * The name "pyannote" is the pyannote diarization model set (two files from
 * the Hugging Face hub, fetched with a token: hf_token in the config file,
 * else HF_TOKEN, else $HF_HOME/token); it is handled beside the Whisper
 * catalog, by the models_pyannote_* functions. A token problem is a runtime
 * failure (1); an insecure hub_url a configuration error (2).
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
#define MODELS_PYANNOTE_NAME "pyannote" /* the diarization model set's name here */

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
        "Whisper model files (ggml-NAME.bin) in the models directory, and the\n"
        "pyannote diarization models (NAME \"pyannote\").\n"
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
        "models_catalog key, one \"NAME SIZE SHA1\" line per model.\n"
        "\n"
        "'pull pyannote' downloads pyannote/segmentation-3.0 and\n"
        "pyannote/wespeaker-voxceleb-resnet34-LM from the Hugging Face hub (hub_url)\n"
        "with your access token: hf_token in the config file, else the HF_TOKEN\n"
        "environment variable, else the file $HF_HOME/token\n"
        "(~/.cache/huggingface/token). Accept both models' conditions on\n"
        "huggingface.co with the token's account first.\n");
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

static void pyannote_json(util_buf *b, const models_pyannote_status *st);

static void print_json(const models_item *items, size_t n, bool installed_only,
                       const models_pyannote_status *pyannote)
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
    if (!installed_only || pyannote->installed) {
        util_buf_puts(&b, first ? "\n  " : ",\n  ");
        first = false;
        pyannote_json(&b, pyannote);
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

static void pyannote_table_line(const models_ctx *ctx, const models_pyannote_status *st);

static int run_list(const models_args *a, models_ctx *ctx)
{
    char err[1024];
    models_item *items = NULL;
    size_t n = 0;
    models_pyannote_status st;
    if (models_list(ctx->catalog, ctx->dir, &items, &n, err, sizeof err) != MODELS_OK ||
        models_pyannote_status_get(ctx->dir, &st, err, sizeof err) != MODELS_OK) {
        free(items);
        cli_error("%s", err);
        return CLI_EXIT_FAILURE;
    }
    if (a->json) {
        print_json(items, n, a->installed_only, &st);
    } else {
        print_table(items, n, a->installed_only);
        if (!a->installed_only || st.installed)
            pyannote_table_line(ctx, &st);
    }
    free(items);
    return CLI_EXIT_OK;
}

/* ---- path and rm ------------------------------------------------------------ */

static int run_path_pyannote(models_ctx *ctx);
static int run_rm_pyannote(models_ctx *ctx);
static int run_pull_pyannote(models_ctx *ctx);

static bool is_pyannote(const char *name)
{
    return strcmp(name, MODELS_PYANNOTE_NAME) == 0;
}

static int run_path(const models_args *a, models_ctx *ctx)
{
    char path[4096], err[4096];
    if (is_pyannote(a->name))
        return run_path_pyannote(ctx);
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
    if (is_pyannote(a->name))
        return run_rm_pyannote(ctx);
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
    if (is_pyannote(a->name) && a->no_verify) {
        cli_error("models pull pyannote: --no-verify applies to Whisper models only (the "
                  "pyannote files are always checked against the hub's SHA-256)");
        return CLI_EXIT_USAGE;
    }
    if (is_pyannote(a->name))
        return run_pull_pyannote(ctx);
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

/* ---- pyannote ------------------------------------------------------------- */

static const char *repo_short(const char *repo)
{
    const char *slash = strrchr(repo, '/');
    return slash ? slash + 1 : repo;
}

static void pyannote_json(util_buf *b, const models_pyannote_status *st)
{
    long long size = 0, partial = 0;
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        size += st->files[i].size;
        partial += st->files[i].partial_bytes;
    }
    util_buf_printf(b, "{\"name\": \"%s\", \"installed\": %s, \"size\": %lld, \"size_exact\": "
                    "%s, \"known\": true, \"sha1\": null, \"partial_bytes\": %lld, \"path\": ",
                    MODELS_PYANNOTE_NAME, st->installed ? "true" : "false", size,
                    st->installed ? "true" : "false", partial);
    util_buf_json_string(b, st->files[0].path);
    util_buf_puts(b, ", \"files\": [");
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        const models_hub_file_status *f = &st->files[i];
        util_buf_puts(b, i ? ", {\"repo\": " : "{\"repo\": ");
        util_buf_json_string(b, f->repo);
        util_buf_puts(b, ", \"path\": ");
        util_buf_json_string(b, f->path);
        util_buf_printf(b, ", \"installed\": %s, \"size\": %lld, \"partial_bytes\": %lld}",
                        f->installed ? "true" : "false", f->size, f->partial_bytes);
    }
    util_buf_puts(b, "]}");
}

/* "pyannote  32.1 MiB  ✓ DIR/pyannote (segmentation-3.0 5.7 MiB, ...)", or
 * with "-" and what each file lacks. */
static void pyannote_table_line(const models_ctx *ctx, const models_pyannote_status *st)
{
    char total[32], part[2][160];
    long long sum = 0;
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        const models_hub_file_status *f = &st->files[i];
        char size[32];
        sum += f->size;
        if (f->installed) {
            format_size(f->size, false, size, sizeof size);
            snprintf(part[i], sizeof part[i], "%s %s", repo_short(f->repo), size);
        } else if (f->partial_bytes > 0) {
            format_size(f->partial_bytes, false, size, sizeof size);
            snprintf(part[i], sizeof part[i], "%s: partial download %s", repo_short(f->repo),
                     size);
        } else {
            snprintf(part[i], sizeof part[i], "%s: not installed", repo_short(f->repo));
        }
    }
    format_size(st->installed ? sum : 0, false, total, sizeof total);
    if (st->installed)
        printf("%-20s %-10s \xe2\x9c\x93 %s/pyannote (%s, %s)\n", MODELS_PYANNOTE_NAME, total,
               ctx->dir, part[0], part[1]);
    else
        printf("%-20s %-10s - (%s; %s; needs a Hugging Face token)\n", MODELS_PYANNOTE_NAME,
               total, part[0], part[1]);
}

static int run_path_pyannote(models_ctx *ctx)
{
    char err[4096];
    models_pyannote_status st;
    if (models_pyannote_status_get(ctx->dir, &st, err, sizeof err) != MODELS_OK) {
        cli_error("%s", err);
        return CLI_EXIT_FAILURE;
    }
    if (!st.installed) {
        const models_hub_file_status *f = st.files[0].installed ? &st.files[1] : &st.files[0];
        cli_error("the pyannote models are not installed (no %s); 'cesar models pull pyannote' "
                  "installs them", f->path);
        return CLI_EXIT_FAILURE;
    }
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++)
        printf("%s\n", st.files[i].path);
    return CLI_EXIT_OK;
}

static int run_rm_pyannote(models_ctx *ctx)
{
    char err[4096];
    bool partial = false;
    if (models_pyannote_remove(ctx->dir, &partial, err, sizeof err) != MODELS_OK) {
        cli_error("%s", err);
        return CLI_EXIT_FAILURE;
    }
    printf("removed %s%s\n", MODELS_PYANNOTE_NAME,
           partial ? " (and its partial downloads)" : "");
    return CLI_EXIT_OK;
}

/* The token, in the order the hub's own tools use. The configuration
 * already folds CESAR_HF_TOKEN and HF_TOKEN into hf_token; its origin says
 * which one it was, so the message can name it. */
static int resolve_token(const models_ctx *ctx, models_hf_token *tok, char *err, size_t errlen)
{
    const config_values *v = config_get(ctx->cfg);
    config_source src = CONFIG_SRC_DEFAULT;
    const char *file = NULL;
    const char *cesar_env = getenv("CESAR_HF_TOKEN");
    char name[CONFIG_MAX_STRING + 32] = "config file";
    const char *configured = "";
    config_origin(ctx->cfg, "hf_token", &src, &file);
    if (src == CONFIG_SRC_FILE) {
        snprintf(name, sizeof name, "config file %s", file ? file : "");
        configured = v->hf_token;
    } else if (src == CONFIG_SRC_ENV && cesar_env && *cesar_env) {
        snprintf(name, sizeof name, "CESAR_HF_TOKEN");
        configured = v->hf_token;
    } else if (src == CONFIG_SRC_FLAG) {
        snprintf(name, sizeof name, "the command line");
        configured = v->hf_token;
    }
    return models_hf_token_resolve(configured, name, tok, err, errlen);
}

static void on_pyannote_progress(const char *repo, long long done, long long total,
                                 bool verifying, void *user_data)
{
    (void)repo;
    on_pull_progress(done, total, verifying, user_data);
}

static void report_pyannote(const models_pyannote_result *r)
{
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        const models_hub_file_result *f = &r->files[i];
        char size[32];
        format_size(f->bytes, false, size, sizeof size);
        if (f->already_installed)
            printf("%s is already installed (%s) at %s\n", f->repo, size, f->path);
        else
            printf("installed %s (%s%s) at %s\n", f->repo, size,
                   f->sha256[0] ? ", SHA-256 verified" : "", f->path);
    }
}

static int pyannote_exit_code(int rc)
{
    switch (rc) {
    case MODELS_OK: return CLI_EXIT_OK;
    case MODELS_ERR_INSECURE: return CLI_EXIT_USAGE; /* hub_url / hub_allow_insecure */
    case MODELS_ERR_CANCELLED: return CLI_EXIT_INTERRUPTED;
    default: return CLI_EXIT_FAILURE;
    }
}

static int run_pull_pyannote(models_ctx *ctx)
{
    char err[4096];
    const config_values *v = config_get(ctx->cfg);
    models_hf_token tok;
    int rc = resolve_token(ctx, &tok, err, sizeof err);
    if (rc != MODELS_OK) {
        cli_error("%s", err);
        return CLI_EXIT_FAILURE;
    }
    pull_bar bar = {isatty(STDERR_FILENO) != 0, false, util_now_seconds(), 0, false};
    models_pyannote_params p = models_pyannote_default_params();
    p.hub_url = v->hub_url;
    p.allow_insecure = v->hub_allow_insecure;
    p.models_dir = ctx->dir;
    p.token = tok.token;
    p.token_where = tok.where;
    p.progress = on_pyannote_progress;
    p.progress_user_data = &bar;
    p.cancel = cli_job_interrupt_flag();
    p.connect_timeout_ms = (long)v->download_connect_timeout * 1000;
    models_pyannote_result r;
    rc = models_pyannote_pull(&p, &r, err, sizeof err);
    memset(tok.token, 0, sizeof tok.token);
    if (bar.drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    if (rc == MODELS_OK) {
        report_pyannote(&r);
        return CLI_EXIT_OK;
    }
    if (rc == MODELS_ERR_CANCELLED || cli_job_interrupted()) {
        cli_error("interrupted; the partial download is kept and 'cesar models pull pyannote' "
                  "resumes it");
        return CLI_EXIT_INTERRUPTED;
    }
    cli_error("%s", err);
    return pyannote_exit_code(rc);
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
