/* cmd_der: `cesar der REF.rttm HYP.rttm` — diarization error rate of a
 * system's speaker turns against reference turns, with the options md-eval
 * users expect (collar, UEM, skip overlap). Reading and scoring live in the
 * eval module; this file parses arguments, prints and maps errors to exit
 * codes the way `cesar wer` does: bad command line 2, unreadable or
 * malformed files 1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "eval/eval.h"

typedef struct {
    const char *paths[2];
    const char *uem_path;
    eval_der_params params;
    bool per_file;
    bool verbose;
} der_args;

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar der REFERENCE.rttm HYPOTHESIS.rttm [options]\n"
        "\n"
        "Prints the diarization error rate (missed + false alarm + speaker confusion\n"
        "over scored reference speaker time, NIST md-eval definitions) of HYPOTHESIS\n"
        "against REFERENCE. Speakers are mapped one-to-one per file to agree most.\n"
        "  --collar S       do not score S seconds either side of reference speaker\n"
        "                   boundaries (default 0; md-eval users often take 0.25)\n"
        "  --uem FILE       score only the regions a UEM file lists\n"
        "  --skip-overlap   do not score where the reference has 2+ speakers\n"
        "  --per-file       one line per file before the total\n"
        "  -v, --verbose    also print the speaker mapping of each file\n");
}

/* --collar's value: a finite number of seconds >= 0. */
static bool parse_collar(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || v < 0)
        return false;
    *out = v;
    return true;
}

/* Fills *a from argv; returns CLI_EXIT_OK, or an exit code after printing
 * the error (help counts as done: -1). */
static int parse_args(int argc, char **argv, der_args *a)
{
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(s, "--collar") == 0 || strcmp(s, "--uem") == 0) {
            if (i + 1 >= argc) {
                cli_error("der: %s needs a value", s);
                return CLI_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (s[2] == 'u') {
                a->uem_path = v;
            } else if (!parse_collar(v, &a->params.collar)) {
                cli_error("der: --collar expects seconds >= 0, got '%s'", v);
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(s, "--skip-overlap") == 0) {
            a->params.skip_overlap = true;
        } else if (strcmp(s, "--per-file") == 0) {
            a->per_file = true;
        } else if (strcmp(s, "-v") == 0 || strcmp(s, "--verbose") == 0) {
            a->verbose = true;
        } else if (n_paths < 2 && s[0] != '-') {
            a->paths[n_paths++] = s;
        } else {
            cli_error("der: unexpected argument '%s' (see 'cesar der --help')", s);
            return CLI_EXIT_USAGE;
        }
    }
    if (n_paths != 2) {
        cli_error("der: expected REFERENCE and HYPOTHESIS RTTM files");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* "DER 12.34%  (missed 3.21%, false alarm 1.00%, confusion 8.13%)  scored
 * 123.4 s". With no scored reference speech the rate is 0 or infinite (see
 * eval_der_rate), so the seconds are printed instead of shares. */
static void print_rate(const eval_der_times *t)
{
    double rate = eval_der_rate(t);
    if (t->scored > 0)
        printf("DER %.2f%%  (missed %.2f%%, false alarm %.2f%%, confusion %.2f%%)  scored %.1f s",
               100 * rate, 100 * t->missed / t->scored, 100 * t->false_alarm / t->scored,
               100 * t->confusion / t->scored, t->scored);
    else
        printf("DER %s  (no reference speech scored; false alarm %.2f s)  scored 0.0 s",
               isinf(rate) ? "inf" : "0.00%", t->false_alarm);
}

static void print_mapping(const eval_der_file *f)
{
    printf("  %s mapping:", f->id);
    for (size_t k = 0; k < f->n_mapping; k++)
        printf("%s %s -> %s", k ? "," : "", f->mapping[k].ref,
               f->mapping[k].hyp ? f->mapping[k].hyp : "(none)");
    printf("%s\n", f->n_mapping ? "" : " (no reference speakers)");
}

static void print_result(const eval_der_result *r, const der_args *a)
{
    for (size_t i = 0; i < r->n_files; i++) {
        if (a->per_file) {
            printf("%s: ", r->files[i].id);
            print_rate(&r->files[i].times);
            printf("\n");
        }
        if (a->verbose)
            print_mapping(&r->files[i]);
    }
    print_rate(&r->total);
    printf(", collar %.2f s%s\n", a->params.collar,
           a->params.skip_overlap ? ", overlap skipped" : "");
}

int cli_cmd_der(int argc, char **argv)
{
    der_args a = {{NULL, NULL}, NULL, eval_der_default_params(), false, false};
    eval_rttm *ref = NULL, *hyp = NULL;
    eval_uem *uem = NULL;
    eval_der_result res = {{0, 0, 0, 0}, NULL, 0};
    char err[512];
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_EXIT_OK) {
        rc = rc < 0 ? CLI_EXIT_OK : rc;
        goto cleanup;
    }
    rc = CLI_EXIT_FAILURE;
    if (eval_rttm_read(a.paths[0], &ref, err, sizeof err) != EVAL_OK ||
        eval_rttm_read(a.paths[1], &hyp, err, sizeof err) != EVAL_OK ||
        (a.uem_path && eval_uem_read(a.uem_path, &uem, err, sizeof err) != EVAL_OK)) {
        cli_error("der: %s", err);
        goto cleanup;
    }
    a.params.uem = uem;
    if (eval_der(ref, hyp, &a.params, &res, err, sizeof err) != EVAL_OK) {
        cli_error("der: %s", err);
        goto cleanup;
    }
    print_result(&res, &a);
    rc = CLI_EXIT_OK;

cleanup:
    eval_der_result_free(&res);
    eval_rttm_free(ref);
    eval_rttm_free(hyp);
    eval_uem_free(uem);
    return rc;
}
