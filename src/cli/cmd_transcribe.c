/* cmd_transcribe: `cesar transcribe`. The pipeline runs on a worker thread
 * while the main thread owns the terminal: it redraws the progress bar from
 * a timer (so the bar moves even while a model loads) and watches for
 * Ctrl-C. The transcript is written only after transcription succeeded, to
 * a temporary file renamed into place, so an interrupted or failed run
 * leaves no output behind. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output_check.h"
#include "cli/transcribe_args.h"
#include "pipeline/pipeline.h"
#include "util/util.h"

#define REDRAW_INTERVAL_NS (200 * 1000 * 1000)

/* Set from the signal handler; the only process-wide mutable state here, and
 * it is a lock-free atomic, as signal handlers require. */
static atomic_int interrupt_signal;

static void on_signal(int sig)
{
    atomic_store(&interrupt_signal, sig);
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Shared between the worker and the main thread; guarded by lock. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool done;
    pipeline_phase phase;
    double overall;
    char input_info[192]; /* set once the input is open; printed by -v */
    bool input_info_shown;
    /* worker's inputs and outputs */
    const char *input;
    pipeline_params params;
    pipeline_result result;
    int rc;
    char err[1024];
} transcribe_job;

static void on_progress(pipeline_phase phase, double phase_fraction, double overall,
                        void *user_data)
{
    (void)phase_fraction;
    transcribe_job *job = user_data;
    pthread_mutex_lock(&job->lock);
    job->phase = phase;
    job->overall = overall;
    pthread_mutex_unlock(&job->lock);
}

static void on_opened(const char *description, double seconds, void *user_data)
{
    transcribe_job *job = user_data;
    char duration[32] = "length unknown";
    if (seconds >= 0)
        format_duration(seconds, duration, sizeof duration);
    pthread_mutex_lock(&job->lock);
    snprintf(job->input_info, sizeof job->input_info, "%s; %s to transcribe", description,
             duration);
    pthread_mutex_unlock(&job->lock);
}

static void *run_pipeline(void *arg)
{
    transcribe_job *job = arg;
    int rc = pipeline_run(job->input, &job->params, &job->result, job->err, sizeof job->err);
    pthread_mutex_lock(&job->lock);
    job->rc = rc;
    job->done = true;
    pthread_cond_signal(&job->changed);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

static void draw_bar(transcribe_job *job, double started)
{
    char line[512];
    pthread_mutex_lock(&job->lock);
    pipeline_phase phase = job->phase;
    double overall = job->overall;
    pthread_mutex_unlock(&job->lock);
    const char *label = phase == PIPELINE_PHASE_LOADING ? "Loading     " : "Transcribing";
    int width = terminal_width() - 1;
    cli_progress_render(line, sizeof line, width, label, overall,
                        util_now_seconds() - started);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
}

/* -v: what is being transcribed, printed as soon as the input is open (and
 * before the bar), so a long run says up front how long the audio is.
 * Called with job->lock held; only the main thread writes to stderr. */
static void show_input_info(transcribe_job *job, const char *input, bool show_bar)
{
    if (!input || job->input_info_shown || !job->input_info[0])
        return;
    job->input_info_shown = true;
    fprintf(stderr, "%s  input:    %s (%s)\n", show_bar ? "\r\033[K" : "", input,
            job->input_info);
}

/* Waits for the worker, redrawing the bar and forwarding Ctrl-C as the
 * pipeline's cancel flag. verbose_input is the input's name under -v, else
 * NULL. */
static void wait_for_job(transcribe_job *job, atomic_int *cancel, bool show_bar,
                         const char *verbose_input)
{
    double started = util_now_seconds();
    pthread_mutex_lock(&job->lock);
    while (!job->done) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += REDRAW_INTERVAL_NS;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&job->changed, &job->lock, &deadline);
        if (atomic_load(&interrupt_signal))
            atomic_store(cancel, 1);
        show_input_info(job, verbose_input, show_bar);
        if (!job->done && show_bar) {
            pthread_mutex_unlock(&job->lock);
            draw_bar(job, started);
            pthread_mutex_lock(&job->lock);
        }
    }
    show_input_info(job, verbose_input, show_bar);
    pthread_mutex_unlock(&job->lock);
    if (show_bar)
        fputs("\r\033[K", stderr);
}

static void fill_params(const cli_transcribe_args *a, transcribe_job *job, atomic_int *cancel)
{
    const config_values *v = config_get(a->cfg);
    job->params = pipeline_default_params();
    job->params.audio.window = a->window;
    job->params.asr.engine = v->engine;
    job->params.asr.model = v->model;
    job->params.asr.language = v->language;
    job->params.asr.n_threads = v->threads > 0 ? v->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    job->params.progress = on_progress;
    job->params.progress_user_data = job;
    job->params.opened = on_opened;
    job->params.cancel = cancel;
}

static int render_transcript(const cli_transcribe_args *a, const pipeline_result *r,
                             util_buf *out, char *err, size_t errlen)
{
    format_meta meta = format_default_meta();
    meta.engine = r->engine;
    meta.model = r->model;
    meta.source = a->input;
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

static int write_output(const cli_transcribe_args *a, const pipeline_result *r, char *err,
                        size_t errlen)
{
    util_buf out = UTIL_BUF_INIT(0);
    int rc = render_transcript(a, r, &out, err, errlen);
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

static void print_summary(const cli_transcribe_args *a, const pipeline_result *r,
                          double total_seconds)
{
    if (a->verbosity < 0)
        return;
    char audio[32];
    format_duration(r->audio_seconds, audio, sizeof audio);
    const char *dest = to_stdout(a) ? "standard output" : a->output;
    if (a->verbosity > 0) {
        const config_values *v = config_get(a->cfg);
        fprintf(stderr, "  engine:   %s, model %s, language %s, threads %d\n", r->engine,
                r->model, r->language, v->threads > 0 ? v->threads
                                                       : (int)sysconf(_SC_NPROCESSORS_ONLN));
        fprintf(stderr, "  timing:   load %.2f s, transcribe %.2f s, %zu segments, %zu words\n",
                r->load_seconds, r->transcribe_seconds, r->transcript->n_segments,
                transcript_word_count(r->transcript));
        cli_print_system_info(stderr);
    }
    double speed = total_seconds > 0 ? r->audio_seconds / total_seconds : 0;
    fprintf(stderr, "Transcribed %s of audio in %.1f s (%.1fx real time) -> %s\n", audio,
            total_seconds, speed, dest);
}

/* An option value the engine refuses (a language its model lacks) is a
 * usage error like any other bad value; everything else failed at run time. */
static int exit_code_for(int pipeline_rc, const pipeline_result *r)
{
    if (pipeline_rc == PIPELINE_ERR_CANCELLED)
        return CLI_EXIT_INTERRUPTED;
    if (pipeline_rc == PIPELINE_ERR_ASR &&
        (r->asr_code == ASR_ERR_LANGUAGE || r->asr_code == ASR_ERR_INVALID_ARG ||
         r->asr_code == ASR_ERR_UNKNOWN_ENGINE))
        return CLI_EXIT_USAGE;
    return CLI_EXIT_FAILURE;
}

static int transcribe(const cli_transcribe_args *a)
{
    atomic_int cancel = 0;
    transcribe_job job;
    memset(&job, 0, sizeof job);
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.changed, NULL);
    job.input = a->input;
    fill_params(a, &job, &cancel);
    bool show_bar = a->verbosity >= 0 && isatty(STDERR_FILENO);
    double started = util_now_seconds();
    int exit_code = CLI_EXIT_OK;
    char err[8192]; /* room for two paths: the output's and a recovery copy's */

    pthread_t worker;
    if (pthread_create(&worker, NULL, run_pipeline, &job) != 0) {
        cli_error("cannot start a worker thread");
        exit_code = CLI_EXIT_FAILURE;
        goto cleanup;
    }
    wait_for_job(&job, &cancel, show_bar, a->verbosity > 0 ? a->input : NULL);
    pthread_join(worker, NULL);

    if (atomic_load(&interrupt_signal) || job.rc == PIPELINE_ERR_CANCELLED) {
        cli_error("interrupted; no transcript written");
        exit_code = CLI_EXIT_INTERRUPTED;
        goto cleanup;
    }
    if (job.rc != PIPELINE_OK) {
        cli_error("%s", job.err);
        exit_code = exit_code_for(job.rc, &job.result);
        goto cleanup;
    }
    if (write_output(a, &job.result, err, sizeof err) != FORMAT_OK) {
        cli_error("%s", err);
        exit_code = CLI_EXIT_FAILURE;
        goto cleanup;
    }
    print_summary(a, &job.result, util_now_seconds() - started);

cleanup:
    pipeline_result_clear(&job.result);
    pthread_cond_destroy(&job.changed);
    pthread_mutex_destroy(&job.lock);
    return exit_code;
}

int cli_cmd_transcribe(int argc, char **argv)
{
    cli_transcribe_args args;
    char err[1024] = "";
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
    install_signal_handlers();
    rc = transcribe(&args);

cleanup:
    cli_transcribe_args_clear(&args);
    return rc;
}
