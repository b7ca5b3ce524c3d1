/* segmenter: the public face of the segmentation network (PyanNet as
 * published in pyannote/segmentation-3.0): loading, and running batches of
 * windows on several threads.
 *
 * A call splits its windows into n_threads contiguous groups, one per
 * thread (the caller's thread runs the first). Each thread runs SincNet
 * window by window, the LSTM over its group at once (batched recurrence),
 * then the linear layers, classifier and log-softmax window by window.
 * Every window goes through the same operations in the same order whatever
 * its group (see lstm.c, seg_recur.c), so results are bit-identical for any
 * thread count.
 *
 * Memory: a call allocates, per thread, the SincNet scratch for one window
 * (about 9 floats per input sample: ~5.6 MB for 10 s) plus, per window of
 * its group, about frames x (60 + 2 x 2H) + 160 x 4H floats (features, LSTM
 * output and layer buffer, one 160-frame chunk of gates: ~1.7 MB per 10 s
 * window with segmentation-3.0's sizes, so 32 windows take ~55 MB + 11 MB
 * for 2 threads); all of it is freed before returning. The loaded weights
 * take ~6 MB and are only read during a call.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

struct pyannote_segmenter {
    pyannote__seg_weights w;
};

int pyannote_segmenter_open(pyannote_segmenter **out, const char *checkpoint_path, char *err,
                            size_t errlen)
{
    if (out)
        *out = NULL;
    if (!out || !checkpoint_path)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "no segmentation checkpoint given");
    pyannote_segmenter *s = calloc(1, sizeof *s);
    if (!s)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory opening %s",
                         checkpoint_path);
    int rc = pyannote__seg_weights_load(&s->w, checkpoint_path, err, errlen);
    if (rc != PYANNOTE_OK) {
        free(s);
        return rc;
    }
    /* Our threads split the windows; OpenBLAS's own would only compete. */
    openblas_set_num_threads(1);
    *out = s;
    return PYANNOTE_OK;
}

void pyannote_segmenter_close(pyannote_segmenter *s)
{
    if (!s)
        return;
    pyannote__seg_weights_free(&s->w);
    free(s);
}

size_t pyannote_segmenter_frames(const pyannote_segmenter *s, size_t n_samples)
{
    (void)s;
    return pyannote__seg_frames(n_samples);
}

typedef struct {
    const pyannote__seg_weights *w;
    const float *samples; /* the group's first window */
    size_t n_windows, n_samples, frames;
    float *out; /* the group's first output row */
    int rc;
} seg_job;

static int widest_linear(const pyannote__seg_weights *w)
{
    int m = 1;
    for (int i = 0; i < w->n_linear; i++)
        m = w->lin_out[i] > m ? w->lin_out[i] : m;
    return m;
}

static void run_job(seg_job *j)
{
    const pyannote__seg_weights *w = j->w;
    size_t nw = j->n_windows, t = j->frames, h2 = 2 * (size_t)w->hidden;
    size_t tmp_stride = t * (size_t)widest_linear(w);
    pyannote__sinc_scratch sc;
    float *feat = malloc(nw * t * (size_t)w->ch[2] * sizeof(float));
    float *lstm_tmp = malloc(pyannote__lstm_scratch_floats(w, nw, t) * sizeof(float));
    float *y = malloc(nw * t * h2 * sizeof(float));
    float *tmp = malloc(2 * tmp_stride * sizeof(float));
    int rc = pyannote__sinc_scratch_init(&sc, w, j->n_samples);
    if (rc != PYANNOTE_OK || !feat || !lstm_tmp || !y || !tmp) {
        rc = PYANNOTE_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t b = 0; b < nw; b++)
        pyannote__sincnet(w, &sc, j->samples + b * j->n_samples, feat + b * t * w->ch[2]);
    pyannote__lstm(w, feat, nw, t, lstm_tmp, y);
    for (size_t b = 0; b < nw; b++)
        pyannote__seg_head(w, y + b * t * h2, t, tmp, tmp_stride,
                           j->out + b * t * PYANNOTE_POWERSET_CLASSES);
cleanup:
    pyannote__sinc_scratch_free(&sc);
    free(feat);
    free(lstm_tmp);
    free(y);
    free(tmp);
    j->rc = rc;
}

static void *job_thread(void *arg)
{
    run_job(arg);
    return NULL;
}

#define SEG_MAX_THREADS 64

int pyannote_segment(pyannote_segmenter *s, const float *samples, size_t n_windows,
                     size_t n_samples, int n_threads, float *out, char *err, size_t errlen)
{
    if (!s || (n_windows > 0 && (!samples || !out)))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "pyannote_segment: NULL argument");
    size_t frames = pyannote__seg_frames(n_samples);
    if (frames == 0)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "pyannote_segment: %zu samples per window, at least %d needed", n_samples,
                         PYANNOTE_FRAME_DURATION);
    if (n_windows == 0)
        return PYANNOTE_OK;
    size_t nt = n_threads < 1 ? 1 : (size_t)n_threads;
    nt = nt > SEG_MAX_THREADS ? SEG_MAX_THREADS : nt;
    nt = nt > n_windows ? n_windows : nt;
    seg_job jobs[SEG_MAX_THREADS];
    pthread_t tids[SEG_MAX_THREADS];
    bool started[SEG_MAX_THREADS] = {false};
    for (size_t i = 0; i < nt; i++) {
        size_t b0 = i * n_windows / nt, b1 = (i + 1) * n_windows / nt;
        jobs[i] = (seg_job){&s->w,      samples + b0 * n_samples,
                            b1 - b0,    n_samples,
                            frames,     out + b0 * frames * PYANNOTE_POWERSET_CLASSES,
                            PYANNOTE_OK};
    }
    for (size_t i = 1; i < nt; i++)
        started[i] = pthread_create(&tids[i], NULL, job_thread, &jobs[i]) == 0;
    run_job(&jobs[0]);
    int rc = jobs[0].rc;
    for (size_t i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tids[i], NULL);
        else
            run_job(&jobs[i]); /* no thread to be had: run it here */
        rc = rc != PYANNOTE_OK ? rc : jobs[i].rc;
    }
    if (rc != PYANNOTE_OK)
        return util_errf(err, errlen, rc, "pyannote_segment: out of memory for %zu windows",
                         n_windows);
    return PYANNOTE_OK;
}
