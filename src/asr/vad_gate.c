/* vad_gate: the Silero-driven silence gate in front of Whisper (see
 * vad_gate.h for the rules).
 *
 * How the look-ahead works: speech chunks pass straight through, but a run
 * of silence cannot be judged until it ends or grows past the 1.0 s limit.
 * So silence goes into a delay buffer. While the run is within the limit the
 * buffer holds all of it (it is kept whole if speech comes back); once past
 * the limit, the 0.2 s after the preceding speech is passed on and the
 * buffer only keeps the latest 0.2 s, which becomes the padding before the
 * next speech. Invariant: the output queue is only refilled when empty, and
 * one chunk's processing adds at most one buffer's worth plus a chunk, so
 * every buffer has a fixed size.
 */
#include "asr/vad_gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "vad/vad.h"

#define CHUNK VAD_SILERO_CHUNK
/* ASR__VAD_PAD_SECONDS and ASR__VAD_MAX_SILENCE in samples, written as
 * integers because they size arrays. */
#define PAD_SAMPLES 3200
#define MAX_SILENCE_SAMPLES 16000
_Static_assert(PAD_SAMPLES == (int)(ASR__VAD_PAD_SECONDS * ASR__VAD_SAMPLE_RATE + 0.5),
               "PAD_SAMPLES");
_Static_assert(MAX_SILENCE_SAMPLES == (int)(ASR__VAD_MAX_SILENCE * ASR__VAD_SAMPLE_RATE + 0.5),
               "MAX_SILENCE_SAMPLES");
#define SIL_CAP (MAX_SILENCE_SAMPLES + CHUNK)
#define OUT_CAP (SIL_CAP + PAD_SAMPLES + 2 * CHUNK)
/* A time this close to a piece boundary (in samples) counts as on it:
 * seconds from Whisper are rounded decimals. */
#define BOUNDARY_EPS 1e-3

struct asr__vad_gate {
    vad_silero *model;
    asr_read_fn read;
    void *read_data;
    float chunk[CHUNK];  /* input not yet run through the model */
    size_t n_chunk;
    int64_t in_pos;      /* original index of chunk[0] */
    bool eof, done;
    bool speaking;       /* hysteresis state */
    bool seen_speech;    /* speech came before the current silence run */
    float sil[SIL_CAP];  /* the delay buffer (see the top comment) */
    size_t n_sil;
    int64_t sil_orig;    /* original index of sil[0] */
    int64_t sil_run;     /* length of the current silence run */
    bool sil_over;       /* the run passed the limit */
    float out[OUT_CAP];  /* kept audio waiting for the reader */
    size_t out_len, out_pos;
    asr__vad_piece *pieces;
    size_t n_pieces, cap_pieces;
    int64_t kept;
};

double asr__vad_map_time(const asr__vad_piece *pieces, size_t n, double t, bool is_end)
{
    if (n == 0 || !isfinite(t))
        return t;
    double s = t * ASR__VAD_SAMPLE_RATE;
    /* The last piece starting before s (is_end) or at/before s (starts). */
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        double k = (double)pieces[mid].kept_start;
        bool before = is_end ? k < s - BOUNDARY_EPS : k <= s + BOUNDARY_EPS;
        if (before)
            lo = mid;
        else
            hi = mid;
    }
    const asr__vad_piece *p = &pieces[lo];
    double off = s - (double)p->kept_start;
    if (off < 0)
        off = 0;
    if (off > (double)p->length)
        off = (double)p->length;
    return ((double)p->orig_start + off) / ASR__VAD_SAMPLE_RATE;
}

int asr__vad_gate_open(asr__vad_gate **out, const char *model_path, char *err, size_t errlen)
{
    *out = NULL;
    if (!model_path || !model_path[0])
        return util_errf(err, errlen, ASR_ERR_MODEL,
                         "VAD filter: no Silero VAD model is configured (set vad_model to "
                         "the path of silero-v6.2.0-ggml.bin)");
    asr__vad_gate *g = calloc(1, sizeof *g);
    if (!g)
        return util_errf(err, errlen, ASR_ERR_NOMEM, "out of memory");
    char why[768];
    if (vad_silero_open(&g->model, model_path, why, sizeof why) != 0) {
        free(g);
        return util_errf(err, errlen, ASR_ERR_MODEL, "VAD filter: %s", why);
    }
    *out = g;
    return ASR_OK;
}

void asr__vad_gate_close(asr__vad_gate *g)
{
    if (!g)
        return;
    vad_silero_close(g->model);
    free(g->pieces);
    free(g);
}

void asr__vad_gate_start(asr__vad_gate *g, asr_read_fn read, void *user_data)
{
    vad_silero_reset(g->model);
    g->read = read;
    g->read_data = user_data;
    g->n_chunk = 0;
    g->in_pos = 0;
    g->eof = g->done = false;
    g->speaking = g->seen_speech = false;
    g->n_sil = 0;
    g->sil_orig = 0;
    g->sil_run = 0;
    g->sil_over = false;
    g->out_len = g->out_pos = 0;
    g->n_pieces = 0;
    g->kept = 0;
}

/* Queues n samples that sit at original index orig, extending the map. */
static int emit(asr__vad_gate *g, const float *x, size_t n, int64_t orig)
{
    if (n == 0)
        return ASR_OK;
    asr__vad_piece *last = g->n_pieces ? &g->pieces[g->n_pieces - 1] : NULL;
    if (last && last->orig_start + last->length == orig) {
        last->length += (int64_t)n;
    } else {
        if (g->n_pieces == g->cap_pieces) {
            size_t cap = g->cap_pieces ? 2 * g->cap_pieces : 16;
            asr__vad_piece *p = realloc(g->pieces, cap * sizeof *p);
            if (!p)
                return ASR_ERR_NOMEM;
            g->pieces = p;
            g->cap_pieces = cap;
        }
        g->pieces[g->n_pieces++] = (asr__vad_piece){g->kept, orig, (int64_t)n};
    }
    memcpy(g->out + g->out_len, x, n * sizeof *x);
    g->out_len += n;
    g->kept += (int64_t)n;
    return ASR_OK;
}

/* Drops the front of the delay buffer so that it holds at most keep samples. */
static void keep_tail(asr__vad_gate *g, size_t keep)
{
    if (g->n_sil <= keep)
        return;
    size_t drop = g->n_sil - keep;
    memmove(g->sil, g->sil + drop, keep * sizeof *g->sil);
    g->n_sil = keep;
    g->sil_orig += (int64_t)drop;
}

/* Speech after a silence run: what the delay buffer holds is either the
 * whole short run or the padding before this speech. */
static int end_silence(asr__vad_gate *g)
{
    int rc = emit(g, g->sil, g->n_sil, g->sil_orig);
    g->n_sil = 0;
    g->sil_run = 0;
    g->sil_over = false;
    return rc;
}

static int add_silence(asr__vad_gate *g, const float *x, size_t n, int64_t orig)
{
    if (g->n_sil == 0)
        g->sil_orig = orig;
    memcpy(g->sil + g->n_sil, x, n * sizeof *x);
    g->n_sil += n;
    g->sil_run += (int64_t)n;
    if (!g->sil_over && g->sil_run > MAX_SILENCE_SAMPLES) {
        g->sil_over = true;
        if (g->seen_speech) {
            int rc = emit(g, g->sil, PAD_SAMPLES, g->sil_orig);
            if (rc != ASR_OK)
                return rc;
        }
    }
    if (g->sil_over)
        keep_tail(g, PAD_SAMPLES);
    return ASR_OK;
}

/* Runs the model on the pending chunk (n valid samples, zero-padded) and
 * routes the samples by the hysteresis decision. */
static int process_chunk(asr__vad_gate *g)
{
    size_t n = g->n_chunk;
    if (n < CHUNK)
        memset(g->chunk + n, 0, (CHUNK - n) * sizeof *g->chunk);
    float p = vad_silero_chunk(g->model, g->chunk);
    g->speaking = g->speaking ? p >= ASR__VAD_OFF : p >= ASR__VAD_ON;
    int rc;
    if (g->speaking) {
        rc = end_silence(g);
        if (rc == ASR_OK)
            rc = emit(g, g->chunk, n, g->in_pos);
        g->seen_speech = true;
    } else {
        rc = add_silence(g, g->chunk, n, g->in_pos);
    }
    g->in_pos += (int64_t)n;
    g->n_chunk = 0;
    return rc;
}

/* The end of the audio: a trailing silence within the limit is kept whole,
 * a longer one has already given its padding. */
static int finish(asr__vad_gate *g)
{
    int rc = ASR_OK;
    if (!g->sil_over)
        rc = emit(g, g->sil, g->n_sil, g->sil_orig);
    g->n_sil = 0;
    g->done = true;
    return rc;
}

/* Pulls from the source until a chunk is full or the audio ends. */
static int fill_chunk(asr__vad_gate *g, char *err, size_t errlen)
{
    while (!g->eof && g->n_chunk < CHUNK) {
        size_t got = 0;
        int rc = g->read(g->read_data, g->chunk + g->n_chunk, CHUNK - g->n_chunk, &got, err,
                         errlen);
        if (rc != 0)
            return rc;
        if (got == 0)
            g->eof = true;
        g->n_chunk += got;
    }
    return 0;
}

/* Makes kept audio available (or reaches the end). */
static int refill(asr__vad_gate *g, char *err, size_t errlen)
{
    g->out_len = g->out_pos = 0;
    while (g->out_len == 0 && !g->done) {
        int rc = fill_chunk(g, err, errlen);
        if (rc != 0)
            return rc;
        if (g->n_chunk > 0)
            rc = process_chunk(g);
        if (rc == ASR_OK && g->eof)
            rc = finish(g);
        if (rc != ASR_OK)
            return util_errf(err, errlen, rc, "VAD filter: out of memory");
    }
    return 0;
}

int asr__vad_gate_read(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                       size_t errlen)
{
    asr__vad_gate *g = user_data;
    *n_read = 0;
    if (g->out_pos == g->out_len) {
        int rc = refill(g, err, errlen);
        if (rc != 0)
            return rc;
    }
    size_t n = g->out_len - g->out_pos;
    if (n > max)
        n = max;
    memcpy(buf, g->out + g->out_pos, n * sizeof *buf);
    g->out_pos += n;
    *n_read = n;
    return 0;
}

const asr__vad_piece *asr__vad_gate_pieces(const asr__vad_gate *g, size_t *n)
{
    *n = g->n_pieces;
    return g->pieces;
}

int64_t asr__vad_gate_input_samples(const asr__vad_gate *g)
{
    return g->in_pos;
}

int64_t asr__vad_gate_kept_samples(const asr__vad_gate *g)
{
    return g->kept;
}

double asr__vad_gate_map(const asr__vad_gate *g, double t, bool is_end)
{
    return asr__vad_map_time(g->pieces, g->n_pieces, t, is_end);
}
