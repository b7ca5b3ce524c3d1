/* cmd_wer: `cesar wer REF HYP` — word error rate of a transcript against a
 * reference, the measure our accuracy tests and benchmarks use. With
 * --per-line, line i of one file is aligned with line i of the other and the
 * counts are summed (aggregate WER over utterances). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "eval/eval.h"
#include "util/util.h"

#define WER_MAX_FILE (64 * 1024 * 1024)

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar wer REFERENCE HYPOTHESIS [--per-line]\n"
        "\n"
        "Prints the word error rate (substitutions + deletions + insertions over\n"
        "reference words) of HYPOTHESIS against REFERENCE, both plain text.\n"
        "Text is lower-cased and punctuation dropped first.\n"
        "  --per-line   align line by line (files must have the same number of lines)\n");
}

static int read_text(const char *path, util_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    char chunk[65536];
    size_t n;
    int rc = CLI_EXIT_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (util_buf_append(b, chunk, n) != UTIL_OK) {
            cli_error("'%s' is larger than %d MiB", path, WER_MAX_FILE >> 20);
            rc = CLI_EXIT_FAILURE;
            break;
        }
    }
    if (rc == CLI_EXIT_OK && ferror(f)) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        rc = CLI_EXIT_FAILURE;
    }
    fclose(f);
    if (rc == CLI_EXIT_OK && !b->data)
        util_buf_append(b, "", 0);
    return rc;
}

/* Non-empty lines, the unit --per-line aligns (strtok_r skips empty ones). */
static size_t count_lines(const char *s)
{
    size_t n = 0;
    bool in_line = false;
    for (; *s; s++) {
        if (*s == '\n') {
            in_line = false;
        } else if (!in_line) {
            in_line = true;
            n++;
        }
    }
    return n;
}

/* Aligns line i with line i, cutting both buffers in place. */
static int add_per_line(char *ref, char *hyp, eval_wer_counts *c)
{
    char *rsave = NULL, *hsave = NULL;
    char *r = strtok_r(ref, "\n", &rsave);
    char *h = strtok_r(hyp, "\n", &hsave);
    while (r || h) {
        if (eval_wer_add(r ? r : "", h ? h : "", c) != EVAL_OK)
            return CLI_EXIT_FAILURE;
        r = r ? strtok_r(NULL, "\n", &rsave) : NULL;
        h = h ? strtok_r(NULL, "\n", &hsave) : NULL;
    }
    return CLI_EXIT_OK;
}

int cli_cmd_wer(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int n_paths = 0, rc = CLI_EXIT_OK;
    bool per_line = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--per-line") == 0) {
            per_line = true;
        } else if (n_paths < 2 && argv[i][0] != '-') {
            paths[n_paths++] = argv[i];
        } else {
            cli_error("wer: unexpected argument '%s' (see 'cesar wer --help')", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (n_paths != 2) {
        cli_error("wer: expected REFERENCE and HYPOTHESIS files");
        return CLI_EXIT_USAGE;
    }
    util_buf ref = UTIL_BUF_INIT(WER_MAX_FILE), hyp = UTIL_BUF_INIT(WER_MAX_FILE);
    eval_wer_counts c = {0, 0, 0, 0};
    if ((rc = read_text(paths[0], &ref)) != CLI_EXIT_OK ||
        (rc = read_text(paths[1], &hyp)) != CLI_EXIT_OK)
        goto cleanup;
    if (per_line && count_lines(ref.data) != count_lines(hyp.data)) {
        cli_error("wer --per-line: '%s' has %zu lines but '%s' has %zu", paths[0],
                  count_lines(ref.data), paths[1], count_lines(hyp.data));
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    rc = per_line ? add_per_line(ref.data, hyp.data, &c)
                  : (eval_wer_add(ref.data, hyp.data, &c) == EVAL_OK ? CLI_EXIT_OK
                                                                      : CLI_EXIT_FAILURE);
    if (rc != CLI_EXIT_OK) {
        cli_error("wer: out of memory");
        goto cleanup;
    }
    printf("WER %.2f%% (substitutions %zu, deletions %zu, insertions %zu, reference words %zu)\n",
           100.0 * eval_wer_rate(&c), c.substitutions, c.deletions, c.insertions,
           c.reference_words);

cleanup:
    util_buf_free(&ref);
    util_buf_free(&hyp);
    return rc;
}
