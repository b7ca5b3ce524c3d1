/* cmd_diarize: `cesar diarize INPUT -o OUT.rttm` — who speaks when, without
 * a transcript. The pipeline's diarization stage runs as a cli_job (worker
 * thread, progress bar, Ctrl-C); its turns are written as RTTM, to a
 * temporary file renamed into place, so a failed or interrupted run leaves
 * no file behind. Unlike `cesar transcribe`, a failed diarization leaves
 * nothing worth keeping, so it is a plain failure (exit 1). Silence is not a
 * failure: it gives an empty RTTM and "0 speakers". A URL input is
 * downloaded first (download.c) into a temporary copy removed afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/diarize_args.h"
#include "cli/download.h"
#include "cli/job.h"
#include "cli/output_check.h"
#include "models/models.h"
#include "pipeline/pipeline.h"
#include "util/util.h"

static bool to_stdout(const cli_diarize_args *a)
{
    return !a->output || strcmp(a->output, "-") == 0;
}

static void fill_params(const cli_diarize_args *a, cli_job *job)
{
    const config_values *v = config_get(a->cfg);
    job->params.audio.window = a->window;
    job->params.diarize = true;
    job->params.diarization = diarize_default_params();
    job->params.diarization.n_threads =
        v->threads > 0 ? v->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    job->params.diarization.vad_model = v->vad_model;
    models_dir_default(v->models_dir, v->data_dir, job->models_dir, sizeof job->models_dir);
    cli_diarization_settings(v->diarization_engine, job->models_dir, v->data_dir, v->hub_url,
                             v->hub_allow_insecure, v->hf_token, v->diarization_step_ms,
                             v->diarization_precision, &job->params.diarization);
    cli_speakers_apply(&a->speakers, &job->params.diarization);
}

static int write_rttm(const cli_diarize_args *a, const util_buf *rttm, char *err,
                      size_t errlen)
{
    const char *data = rttm->data ? rttm->data : "";
    if (to_stdout(a)) {
        if (fwrite(data, 1, rttm->len, stdout) != rttm->len || fflush(stdout) != 0)
            return util_errf(err, errlen, UTIL_ERR_IO, "cannot write to standard output: %s",
                             strerror(errno));
        return UTIL_OK;
    }
    char dir[4096], why[1024];
    util_path_dirname(a->output, dir, sizeof dir);
    if (util_mkdir_p(dir, why, sizeof why) != UTIL_OK)
        return util_errf(err, errlen, UTIL_ERR_IO, "cannot write '%s': %s", a->output, why);
    return util_write_file_atomic(a->output, data, rttm->len, err, errlen);
}

static int render_and_write(const cli_diarize_args *a, const pipeline_result *r,
                            const char *source, char *err, size_t errlen)
{
    char file_id[256];
    util_buf rttm = UTIL_BUF_INIT(0);
    cli_rttm_file_id(source, file_id, sizeof file_id);
    int rc = diarize_rttm_render(r->turns, r->n_turns, file_id, &rttm, err, errlen);
    if (rc != DIARIZE_OK)
        goto cleanup;
    rc = write_rttm(a, &rttm, err, errlen);

cleanup:
    util_buf_free(&rttm);
    return rc;
}

/* "2 speakers, 21.3 s of speech in 25.0 s audio, took 1.2 s (RTF 0.05)":
 * the real-time factor is processing time over audio time, the figure
 * diarization benchmarks quote. */
static void print_summary(const cli_diarize_args *a, const pipeline_result *r,
                          double took_seconds)
{
    if (a->verbosity < 0)
        return;
    if (a->verbosity > 0)
        fprintf(stderr, "  timing:   diarize %.2f s (reading the audio included), %zu turns\n",
                r->diarize_seconds, r->n_turns);
    char count[32];
    cli_speaker_count_text(r->speaker_count, count, sizeof count);
    double rtf = r->audio_seconds > 0 ? took_seconds / r->audio_seconds : 0;
    fprintf(stderr, "%s, %.1f s of speech in %.1f s audio, took %.1f s (RTF %.2f) -> %s\n",
            count, cli_speech_seconds(r->turns, r->n_turns), r->audio_seconds, took_seconds,
            rtf, to_stdout(a) ? "standard output" : a->output);
}

static int diarize(const cli_diarize_args *a)
{
    cli_job job;
    cli_download dl = {0};
    bool is_url = cli_download_is_url(a->input);
    bool show_bar = a->verbosity >= 0 && isatty(STDERR_FILENO);
    double started = util_now_seconds();
    int exit_code = CLI_EXIT_OK;
    char err[4096];

    /* The job is set up first so that every exit below can clear it. */
    cli_job_init(&job, CLI_JOB_DIARIZE, a->input);
    fill_params(a, &job);
    job.show_bar = show_bar;
    job.verbose_input = a->verbosity > 0 ? a->input : NULL;
    exit_code = cli_download_input(&job, a->input, config_get(a->cfg), a->no_cache, show_bar,
                                   "RTTM", &dl);
    if (exit_code != CLI_EXIT_OK)
        goto cleanup;

    exit_code = cli_download_run_job(&job, a->input, &dl, "RTTM");
    if (exit_code != CLI_EXIT_OK)
        goto cleanup;
    cli_job_bar_phase(&job, PIPELINE_PHASE_FORMATTING, 1.0);
    int written = render_and_write(a, &job.result, is_url ? dl.source : a->input, err,
                                   sizeof err);
    cli_job_bar_clear(&job);
    if (written != 0) {
        cli_error("%s", err);
        exit_code = CLI_EXIT_FAILURE;
        goto cleanup;
    }
    print_summary(a, &job.result, util_now_seconds() - started);

cleanup:
    cli_job_clear(&job);
    cli_download_clear(&dl);
    return exit_code;
}

int cli_cmd_diarize(int argc, char **argv)
{
    cli_diarize_args args;
    char err[1024] = "";
    /* First, so a Ctrl-C that comes while the options are read still
     * cancels the run: a background job of a script starts with SIGINT
     * ignored, and a signal ignored is a signal lost. */
    cli_job_install_signal_handlers();
    int rc = cli_diarize_args_parse(argc, argv, &args, err, sizeof err);
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        goto cleanup;
    }
    if (args.help) {
        cli_diarize_usage(stdout);
        goto cleanup;
    }
    if (!to_stdout(&args)) {
        rc = cli_output_check(args.input, args.output, err, sizeof err);
        if (rc != CLI_EXIT_OK) {
            cli_error("%s", err);
            goto cleanup;
        }
    }
    rc = diarize(&args);

cleanup:
    cli_diarize_args_clear(&args);
    return rc;
}
