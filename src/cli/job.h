/* job: running one pipeline call (pipeline_run or pipeline_diarize) from a
 * command. The call runs on a worker thread while the main thread owns the
 * terminal: it redraws the progress bar from a timer, so the bar moves even
 * while a model loads, and turns Ctrl-C or SIGTERM into the pipeline's
 * cancel flag. Internal to the CLI.
 */
#ifndef CESAR_CLI_JOB_H
#define CESAR_CLI_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pipeline/pipeline.h"

typedef enum {
    CLI_JOB_TRANSCRIBE = 0, /* pipeline_run */
    CLI_JOB_DIARIZE,        /* pipeline_diarize, no transcript */
} cli_job_kind;

typedef struct {
    /* Inputs: set by the caller between cli_job_init and cli_job_run.
     * params' progress, opened and cancel fields belong to the job. */
    cli_job_kind kind;
    const char *input;       /* borrowed */
    pipeline_params params;
    char models_dir[4096];   /* what params.asr.models_dir points at */
    bool show_bar;           /* draw the progress bar on stderr */
    const char *verbose_input; /* -v: print this name and the input's details */
    /* Outputs, valid after cli_job_run. */
    pipeline_result result;  /* owned; freed by cli_job_clear */
    int rc;                  /* the pipeline's return code */
    char err[1024];          /* its message when rc != PIPELINE_OK */

    /* Private: shared by the worker and the main thread, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool done;
    pipeline_phase phase;
    double overall;
    char input_info[192];
    bool input_info_shown;
    char engine_note[1100];  /* a line for stderr once the input is open, or "" */
    atomic_int cancel;
    double started;
} cli_job;

/* Catches SIGINT and SIGTERM for cli_job_run; a second signal kills at once. */
void cli_job_install_signal_handlers(void);

/* True once SIGINT or SIGTERM arrived. */
bool cli_job_interrupted(void);

/* The flag behind cli_job_interrupted (non-zero once a signal came), for
 * work done outside a job that polls a cancel flag, such as a download.
 * Valid for the whole process. */
const atomic_int *cli_job_interrupt_flag(void);

/* Zeroes job and sets kind, input and default params. */
void cli_job_init(cli_job *job, cli_job_kind kind, const char *input);

/* Runs the job and waits for it. Returns false (with a message printed)
 * only when no worker thread could be started; otherwise job->rc and
 * job->result say what happened. The bar, if any, is left on screen so the
 * caller can show the formatting phase; cli_job_bar_clear removes it. */
bool cli_job_run(cli_job *job);

/* Draws the bar (when shown) at a phase the caller itself is in. */
void cli_job_bar_phase(cli_job *job, pipeline_phase phase, double overall);

/* Erases the bar line (when shown), before the caller prints anything. */
void cli_job_bar_clear(const cli_job *job);

/* Frees the result and the synchronisation objects. NULL-safe. */
void cli_job_clear(cli_job *job);

#endif
