/* job: a pipeline call on a worker thread, watched from the main thread.
 * Only the main thread writes to the terminal; the worker only updates the
 * phase and fraction under the lock, and the main thread reads them when it
 * redraws (every REDRAW_INTERVAL_NS, or at once when the worker finishes). */
#include "cli/job.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "format/format.h"
#include "util/util.h"

#define REDRAW_INTERVAL_NS (200 * 1000 * 1000)
#define LABEL_WIDTH 12 /* "Transcribing", so the bar does not jump between phases */

/* Set from the signal handler; the only process-wide mutable state here, and
 * it is a lock-free atomic, as signal handlers require. */
static atomic_int interrupt_signal;

static void on_signal(int sig)
{
    atomic_store(&interrupt_signal, sig);
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

void cli_job_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_job_interrupted(void)
{
    return atomic_load(&interrupt_signal) != 0;
}

const atomic_int *cli_job_interrupt_flag(void)
{
    return &interrupt_signal;
}

static void on_progress(pipeline_phase phase, double phase_fraction, double overall,
                        void *user_data)
{
    (void)phase_fraction;
    cli_job *job = user_data;
    pthread_mutex_lock(&job->lock);
    job->phase = phase;
    job->overall = overall;
    pthread_mutex_unlock(&job->lock);
}

static void on_opened(const char *description, double seconds, void *user_data)
{
    cli_job *job = user_data;
    char duration[32] = "length unknown";
    if (seconds >= 0)
        format_duration(seconds, duration, sizeof duration);
    pthread_mutex_lock(&job->lock);
    snprintf(job->input_info, sizeof job->input_info, "%s; %s to %s", description, duration,
             job->kind == CLI_JOB_DIARIZE ? "diarize" : "transcribe");
    pthread_mutex_unlock(&job->lock);
}

void cli_job_init(cli_job *job, cli_job_kind kind, const char *input)
{
    memset(job, 0, sizeof *job);
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->changed, NULL);
    job->kind = kind;
    job->input = input;
    job->params = pipeline_default_params();
}

static void *run_pipeline(void *arg)
{
    cli_job *job = arg;
    int rc = job->kind == CLI_JOB_DIARIZE
                 ? pipeline_diarize(job->input, &job->params, NULL, &job->result, job->err,
                                    sizeof job->err)
                 : pipeline_run(job->input, &job->params, &job->result, job->err,
                                sizeof job->err);
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

static const char *phase_label(pipeline_phase phase)
{
    switch (phase) {
    case PIPELINE_PHASE_LOADING: return "Loading";
    case PIPELINE_PHASE_TRANSCRIBING: return "Transcribing";
    case PIPELINE_PHASE_DIARIZING: return "Diarizing";
    case PIPELINE_PHASE_FORMATTING: return "Formatting";
    default: return "Working";
    }
}

static void draw(const cli_job *job, pipeline_phase phase, double overall)
{
    char label[32], line[512];
    snprintf(label, sizeof label, "%-*s", LABEL_WIDTH, phase_label(phase));
    cli_progress_render(line, sizeof line, terminal_width() - 1, label, overall,
                        util_now_seconds() - job->started);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
}

/* -v: what is being worked on, printed as soon as the input is open (and
 * before the bar), so a long run says up front how long the audio is.
 * Called with job->lock held. */
static void show_input_info(cli_job *job)
{
    if (job->input_info_shown || !job->input_info[0])
        return;
    job->input_info_shown = true;
    if (job->engine_note[0])
        fprintf(stderr, "%s%s\n", job->show_bar ? "\r\033[K" : "", job->engine_note);
    if (job->verbose_input)
        fprintf(stderr, "%s  input:    %s (%s)\n", job->show_bar ? "\r\033[K" : "",
                job->verbose_input, job->input_info);
}

static void wait_for_worker(cli_job *job)
{
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
        if (cli_job_interrupted())
            atomic_store(&job->cancel, 1);
        show_input_info(job);
        if (!job->done && job->show_bar) {
            pipeline_phase phase = job->phase;
            double overall = job->overall;
            pthread_mutex_unlock(&job->lock);
            draw(job, phase, overall);
            pthread_mutex_lock(&job->lock);
        }
    }
    show_input_info(job);
    pthread_mutex_unlock(&job->lock);
}

bool cli_job_run(cli_job *job)
{
    job->params.progress = on_progress;
    job->params.progress_user_data = job;
    job->params.opened = on_opened;
    job->params.cancel = &job->cancel;
    job->started = util_now_seconds();
    if (cli_job_interrupted()) /* a signal came before the job: cancel at once */
        atomic_store(&job->cancel, 1);
    pthread_t worker;
    if (pthread_create(&worker, NULL, run_pipeline, job) != 0) {
        cli_error("cannot start a worker thread");
        return false;
    }
    wait_for_worker(job);
    pthread_join(worker, NULL);
    return true;
}

void cli_job_bar_phase(cli_job *job, pipeline_phase phase, double overall)
{
    if (job->show_bar)
        draw(job, phase, overall);
}

void cli_job_bar_clear(const cli_job *job)
{
    if (job->show_bar) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

void cli_job_clear(cli_job *job)
{
    if (!job)
        return;
    pipeline_result_clear(&job->result);
    pthread_cond_destroy(&job->changed);
    pthread_mutex_destroy(&job->lock);
}
