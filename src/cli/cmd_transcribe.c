/* cmd_transcribe: `cesar transcribe`. The pipeline runs as a cli_job (a
 * worker thread, with the progress bar and Ctrl-C handled on the main
 * thread). The transcript is written only after transcription succeeded, to
 * a temporary file renamed into place, so an interrupted or failed run
 * leaves no output behind.
 *
 * A failed speaker diarization does not lose the transcript: it is written
 * without speaker labels, the failure is reported, and the exit code is
 * CLI_EXIT_PARTIAL, so scripts can tell "no labels" from "no transcript".
 *
 * A URL input is downloaded first (download.c) and the pipeline runs on the
 * downloaded file; the temporary copy goes away with the run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/download.h"
#include "cli/job.h"
#include "cli/output_check.h"
#include "cli/transcribe_args.h"
#include "models/models.h"
#include "pipeline/pipeline.h"
#include "util/util.h"

static int thread_count(const config_values *v)
{
    return v->threads > 0 ? v->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Engine "auto" is settled here rather than in asr_open so that the reason
 * for falling back to PocketSphinx is said once, on stderr, once the input
 * has opened (an input that cannot be read gets its one error line alone). */
static void choose_engine(const cli_transcribe_args *a, cli_job *job)
{
    const config_values *v = config_get(a->cfg);
    char note[1024];
    job->params.asr.engine =
        asr_engine_resolve(v->engine, job->models_dir, v->model, note, sizeof note);
    if (!note[0])
        return;
    if (a->verbosity >= 0)
        snprintf(job->engine_note, sizeof job->engine_note, "cesar: %s", note);
    /* A Whisper model name means nothing to PocketSphinx: it takes its own. */
    if (v->model[0] && models_is_path(v->model) == false)
        job->params.asr.model = NULL;
}

/* -v: the engine's own notes, such as how much audio the VAD filter kept.
 * Called on the job's worker thread; one fprintf keeps each line whole. */
static void print_asr_log(asr_log_level level, const char *message, void *user_data)
{
    (void)user_data;
    if (level >= ASR_LOG_INFO)
        fprintf(stderr, "  asr:      %s\n", message);
}

static void fill_params(const cli_transcribe_args *a, cli_job *job)
{
    const config_values *v = config_get(a->cfg);
    job->params.audio.window = a->window;
    models_dir_default(v->models_dir, v->data_dir, job->models_dir, sizeof job->models_dir);
    job->params.asr.models_dir = job->models_dir;
    job->params.asr.model = v->model;
    job->params.asr.language = v->language;
    job->params.asr.n_threads = thread_count(v);
    job->params.asr.task = v->task;
    job->params.asr.beam_size = v->beam_size;
    job->params.asr.initial_prompt = v->initial_prompt[0] ? v->initial_prompt : NULL;
    job->params.asr.condition_on_previous_text = v->condition_on_previous_text;
    job->params.asr.temperature_fallback = v->temperature_fallback;
    job->params.asr.vad_filter = v->vad_filter;
    job->params.asr.vad_model = v->vad_model;
    if (a->verbosity > 0)
        job->params.asr.log = print_asr_log;
    choose_engine(a, job);
    job->params.diarize = a->diarize;
    job->params.diarization = diarize_default_params();
    job->params.diarization.n_threads = thread_count(v);
    job->params.diarization.vad_model = v->vad_model;
    cli_diarization_settings(v->diarization_engine, job->models_dir, v->data_dir, v->hub_url,
                             v->hub_allow_insecure, v->hf_token, v->diarization_step_ms,
                             v->diarization_precision, &job->params.diarization);
    cli_speakers_apply(&a->speakers, &job->params.diarization);
}

static int render_transcript(const cli_transcribe_args *a, const pipeline_result *r,
                             const char *source, util_buf *out, char *err, size_t errlen)
{
    format_meta meta = format_default_meta();
    meta.engine = r->engine;
    meta.model = r->model;
    meta.source = source;
    meta.processing_seconds = r->total_seconds;
    meta.created = time(NULL);
    return format_render(a->format, r->transcript, &meta, out, err, errlen);
}

static int write_stdout(const util_buf *out, char *err, size_t errlen)
{
    if (fwrite(out->data, 1, out->len, stdout) != out->len || fflush(stdout) != 0)
        return util_errf(err, errlen, FORMAT_ERR_IO, "cannot write to standard output: %s",
                         strerror(errno));
    return FORMAT_OK;
}

static bool to_stdout(const cli_transcribe_args *a)
{
    return !a->output || strcmp(a->output, "-") == 0;
}

/* When the output cannot be written after the work is done (the disk filled
 * up, the directory went away, the reading end of a pipe closed), the
 * transcript is kept in CACHE_DIR/recovered/ rather than thrown away. */
static int save_recovery_copy(const cli_transcribe_args *a, const util_buf *out, char *path,
                              size_t n)
{
    char dir[4096], stamp[32], err[512], stdout_name[32];
    snprintf(stdout_name, sizeof stdout_name, "transcript.%s", format_name(a->format));
    const char *slash = to_stdout(a) ? NULL : strrchr(a->output, '/');
    const char *base = to_stdout(a) ? stdout_name : slash ? slash + 1 : a->output;
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", gmtime_r(&now, &tm));
    snprintf(dir, sizeof dir, "%s/recovered", config_get(a->cfg)->cache_dir);
    int len = snprintf(path, n, "%s/%s-%s", dir, stamp, base);
    if (len < 0 || (size_t)len >= n || util_mkdir_p(dir, err, sizeof err) != UTIL_OK)
        return UTIL_ERR_IO;
    return util_write_file_atomic(path, out->data, out->len, err, sizeof err);
}

static int write_output(const cli_transcribe_args *a, const pipeline_result *r,
                        const char *source, char *err, size_t errlen)
{
    util_buf out = UTIL_BUF_INIT(0);
    int rc = render_transcript(a, r, source, &out, err, errlen);
    if (rc != FORMAT_OK)
        goto cleanup;
    if (to_stdout(a)) {
        if (write_stdout(&out, err, errlen) == FORMAT_OK)
            goto cleanup;
    } else {
        char dir[4096], why[1024];
        util_path_dirname(a->output, dir, sizeof dir);
        if (util_mkdir_p(dir, why, sizeof why) != UTIL_OK)
            util_errf(err, errlen, FORMAT_ERR_IO, "cannot write '%s': %s", a->output, why);
        else if (util_write_file_atomic(a->output, out.data, out.len, err, errlen) == UTIL_OK)
            goto cleanup;
    }
    rc = FORMAT_ERR_IO;
    char saved[2048];
    size_t used = strlen(err);
    if (save_recovery_copy(a, &out, saved, sizeof saved) == UTIL_OK)
        snprintf(err + used, errlen - used, "; the transcript was saved to '%s'", saved);
    else if (!to_stdout(a) && write_stdout(&out, saved, sizeof saved) == FORMAT_OK)
        snprintf(err + used, errlen - used,
                 "; the transcript was written to standard output instead");

cleanup:
    util_buf_free(&out);
    return rc;
}

/* Diarization was asked for and failed; the transcript has no speakers. */
static bool diarization_failed(const cli_transcribe_args *a, const pipeline_result *r)
{
    return a->diarize && !r->diarized &&
           (r->diarization_error_code[0] || r->diarize_code != DIARIZE_OK);
}

/* The pipeline's message usually repeats "diarization failed: ", which the
 * note printed for it already says. */
static const char *diarization_reason(const pipeline_result *r)
{
    static const char prefix[] = "diarization failed: ";
    const char *m = r->diarization_error[0] ? r->diarization_error
                    : r->diarization_error_code[0] ? r->diarization_error_code
                                                    : "no reason given";
    return strncmp(m, prefix, sizeof prefix - 1) == 0 ? m + sizeof prefix - 1 : m;
}

static void print_summary(const cli_transcribe_args *a, const pipeline_result *r,
                          double total_seconds)
{
    if (a->verbosity < 0)
        return;
    char audio[32], speakers[64] = "";
    format_duration(r->audio_seconds, audio, sizeof audio);
    const char *dest = to_stdout(a) ? "standard output" : a->output;
    char stages[160];
    snprintf(stages, sizeof stages, "transcribe %.2f s", r->transcribe_seconds);
    if (a->diarize) {
        size_t used = strlen(stages);
        snprintf(stages + used, sizeof stages - used, ", diarize %.2f s, align %.2f s",
                 r->diarize_seconds, r->align_seconds);
    }
    if (r->diarized) {
        char count[32];
        cli_speaker_count_text(r->speaker_count, count, sizeof count);
        snprintf(speakers, sizeof speakers, ", %s detected", count);
    }
    if (a->verbosity > 0) {
        const config_values *v = config_get(a->cfg);
        fprintf(stderr, "  engine:   %s, model %s, language %s, threads %d\n", r->engine,
                r->model, r->language, thread_count(v));
        fprintf(stderr, "  timing:   load %.2f s, %s, %zu segments, %zu words\n",
                r->load_seconds, stages, r->transcript->n_segments,
                transcript_word_count(r->transcript));
        cli_print_system_info(stderr);
    }
    double speed = total_seconds > 0 ? r->audio_seconds / total_seconds : 0;
    fprintf(stderr, "Transcribed %s of audio in %.1f s (%.1fx real time)%s -> %s\n", audio,
            total_seconds, speed, speakers, dest);
    /* Without diarization the one line says it all; with it, where the time
     * went is worth a second line (-v has it in the timing line already). */
    if (a->diarize && a->verbosity == 0)
        fprintf(stderr, "  stages:   %s\n", stages);
}

/* An option value the engine or the diarizer refuses (a language its model
 * lacks) is a usage error like any other bad value; everything else failed
 * at run time. */
static int exit_code_for(int pipeline_rc, const pipeline_result *r)
{
    if (pipeline_rc == PIPELINE_ERR_CANCELLED)
        return CLI_EXIT_INTERRUPTED;
    if (pipeline_rc == PIPELINE_ERR_INVALID_ARG)
        return CLI_EXIT_USAGE;
    if (pipeline_rc == PIPELINE_ERR_ASR &&
        (r->asr_code == ASR_ERR_LANGUAGE || r->asr_code == ASR_ERR_INVALID_ARG ||
         r->asr_code == ASR_ERR_UNKNOWN_ENGINE))
        return CLI_EXIT_USAGE;
    return CLI_EXIT_FAILURE;
}

static int transcribe(const cli_transcribe_args *a)
{
    cli_job job;
    cli_download dl = {0};
    bool is_url = cli_download_is_url(a->input);
    bool show_bar = a->verbosity >= 0 && isatty(STDERR_FILENO);
    double started = util_now_seconds();
    int exit_code = CLI_EXIT_OK;
    char err[8192]; /* room for two paths: the output's and a recovery copy's */

    /* The job is set up first so that every exit below can clear it. */
    cli_job_init(&job, CLI_JOB_TRANSCRIBE, a->input);
    fill_params(a, &job);
    job.show_bar = show_bar;
    job.verbose_input = a->verbosity > 0 ? a->input : NULL;
    exit_code = cli_download_input(&job, a->input, config_get(a->cfg), a->no_cache, show_bar,
                                   "transcript", &dl);
    if (exit_code != CLI_EXIT_OK)
        goto cleanup;

    exit_code = cli_download_run_job(&job, a->input, &dl, "transcript");
    if (exit_code == CLI_EXIT_FAILURE && job.rc != PIPELINE_OK)
        exit_code = exit_code_for(job.rc, &job.result);
    if (exit_code != CLI_EXIT_OK)
        goto cleanup;
    cli_job_bar_phase(&job, PIPELINE_PHASE_FORMATTING, 0.9);
    int written = write_output(a, &job.result, is_url ? dl.source : a->input, err, sizeof err);
    cli_job_bar_clear(&job);
    if (written != FORMAT_OK) {
        cli_error("%s", err);
        exit_code = CLI_EXIT_FAILURE;
        goto cleanup;
    }
    print_summary(a, &job.result, util_now_seconds() - started);
    if (diarization_failed(a, &job.result)) {
        cli_note("speaker diarization failed: %s; transcript written without speakers",
                 diarization_reason(&job.result));
        exit_code = CLI_EXIT_PARTIAL;
    }

cleanup:
    cli_job_clear(&job);
    cli_download_clear(&dl);
    return exit_code;
}

int cli_cmd_transcribe(int argc, char **argv)
{
    cli_transcribe_args args;
    char err[1024] = "";
    /* First, so a Ctrl-C that comes while the options are read still
     * cancels the run: a background job of a script starts with SIGINT
     * ignored, and a signal ignored is a signal lost. */
    cli_job_install_signal_handlers();
    int rc = cli_transcribe_args_parse(argc, argv, &args, err, sizeof err);
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        goto cleanup;
    }
    if (args.help) {
        cli_transcribe_usage(stdout);
        goto cleanup;
    }
    if (!to_stdout(&args)) {
        rc = cli_output_check(args.input, args.output, err, sizeof err);
        if (rc != CLI_EXIT_OK) {
            cli_error("%s", err);
            goto cleanup;
        }
    }
    rc = transcribe(&args);

cleanup:
    cli_transcribe_args_clear(&args);
    return rc;
}
