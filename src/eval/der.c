/* der: diarization error rate, with the NIST md-eval definitions.
 *
 * Each file is scored by one sweep over the sorted boundaries of everything
 * that changes what is counted: reference and hypothesis turns, UEM
 * segments and no-score zones (the collar around reference speaker
 * boundaries). Between two consecutive boundaries nothing changes, so each
 * elementary interval adds dt * (its counts) exactly — no frames, no
 * rounding to a step. The same sweep fills the matrix of scored time each
 * (reference, hypothesis) speaker pair is active together; the optimal
 * one-to-one mapping (eval_assign_max) picks the pairs, and
 *     correct   = sum over mapped pairs of their common time
 *     confusion = integral of min(n_ref, n_hyp) - correct
 * which equals integrating min(n_ref, n_hyp) - n_correct(t) without a second
 * pass.
 *
 * Collar boundaries are those of each reference speaker's merged activity:
 * two touching turns of one speaker are one stretch of speech, not a
 * boundary (md-eval merges them the same way).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "util/util.h"

enum { EV_REF, EV_HYP, EV_UEM, EV_NOSCORE };

typedef struct {
    double t;
    int kind;
    int delta; /* +1 starts, -1 ends */
    size_t speaker;
} event;

/* What one file's sweep accumulates. */
typedef struct {
    const eval_rttm_file *ref, *hyp; /* either may be NULL */
    size_t n_ref, n_hyp;              /* speakers */
    double *common;                   /* n_ref x n_hyp seconds active together */
    double sum_min;                   /* integral of min(n_ref, n_hyp) */
    eval_der_times times;
} file_score;

eval_der_params eval_der_default_params(void)
{
    return (eval_der_params){0.0, false, NULL};
}

double eval_der_rate(const eval_der_times *t)
{
    if (!t)
        return NAN;
    double errors = t->missed + t->false_alarm + t->confusion;
    if (t->scored <= 0)
        return errors > 0 ? INFINITY : 0.0;
    return errors / t->scored;
}

void eval_der_result_free(eval_der_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++) {
        eval_der_file *f = &r->files[i];
        free(f->id);
        for (size_t k = 0; k < f->n_mapping; k++) {
            free(f->mapping[k].ref);
            free(f->mapping[k].hyp);
        }
        free(f->mapping);
    }
    free(r->files);
    memset(r, 0, sizeof *r);
}

static int cmp_event(const void *a, const void *b)
{
    double x = ((const event *)a)->t, y = ((const event *)b)->t;
    return (x > y) - (x < y);
}

static int cmp_turn(const void *a, const void *b)
{
    const eval_turn *x = a, *y = b;
    if (x->speaker != y->speaker)
        return x->speaker < y->speaker ? -1 : 1;
    return (x->onset > y->onset) - (x->onset < y->onset);
}

static void push(event *ev, size_t *n, double t, int kind, int delta, size_t speaker)
{
    ev[(*n)++] = (event){t, kind, delta, speaker};
}

/* No-score zones: +-collar around both ends of each stretch of merged
 * activity of each reference speaker. sorted is the file's turns sorted by
 * speaker, then onset. */
static void push_collars(event *ev, size_t *n, const eval_turn *sorted, size_t n_turns,
                         double collar)
{
    size_t i = 0;
    while (i < n_turns) {
        double on = sorted[i].onset, off = sorted[i].offset;
        size_t j = i + 1;
        while (j < n_turns && sorted[j].speaker == sorted[i].speaker && sorted[j].onset <= off) {
            if (sorted[j].offset > off)
                off = sorted[j].offset;
            j++;
        }
        push(ev, n, on - collar, EV_NOSCORE, +1, 0);
        push(ev, n, on + collar, EV_NOSCORE, -1, 0);
        push(ev, n, off - collar, EV_NOSCORE, +1, 0);
        push(ev, n, off + collar, EV_NOSCORE, -1, 0);
        i = j;
    }
}

/* Builds the sorted event list of one file; *out NULL when out of memory. */
static int build_events(const file_score *fs, const char *id, const eval_der_params *p,
                        event **out, size_t *n_out)
{
    size_t nr = fs->ref ? fs->ref->n_turns : 0, nh = fs->hyp ? fs->hyp->n_turns : 0;
    size_t nu = p->uem ? p->uem->n_segments : 0;
    *out = NULL;
    *n_out = 0;
    if (nr > SIZE_MAX / 64 || nh > SIZE_MAX / 64 || nu > SIZE_MAX / 64)
        return EVAL_ERR_NOMEM;
    event *ev = malloc((6 * nr + 2 * nh + 2 * nu + 1) * sizeof *ev);
    eval_turn *sorted = nr ? malloc(nr * sizeof *sorted) : NULL;
    size_t n = 0;
    if (!ev || (nr && !sorted)) {
        free(ev);
        free(sorted);
        return EVAL_ERR_NOMEM;
    }
    for (size_t i = 0; i < nr; i++) {
        push(ev, &n, fs->ref->turns[i].onset, EV_REF, +1, fs->ref->turns[i].speaker);
        push(ev, &n, fs->ref->turns[i].offset, EV_REF, -1, fs->ref->turns[i].speaker);
    }
    for (size_t i = 0; i < nh; i++) {
        push(ev, &n, fs->hyp->turns[i].onset, EV_HYP, +1, fs->hyp->turns[i].speaker);
        push(ev, &n, fs->hyp->turns[i].offset, EV_HYP, -1, fs->hyp->turns[i].speaker);
    }
    for (size_t i = 0; i < nu; i++) {
        const eval_uem_segment *s = &p->uem->segments[i];
        if (strcmp(s->file_id, id) == 0 && s->end > s->start) {
            push(ev, &n, s->start, EV_UEM, +1, 0);
            push(ev, &n, s->end, EV_UEM, -1, 0);
        }
    }
    if (p->collar > 0 && nr > 0) {
        memcpy(sorted, fs->ref->turns, nr * sizeof *sorted);
        qsort(sorted, nr, sizeof *sorted, cmp_turn);
        push_collars(ev, &n, sorted, nr, p->collar);
    }
    free(sorted);
    qsort(ev, n, sizeof *ev, cmp_event);
    *out = ev;
    *n_out = n;
    return EVAL_OK;
}

/* Counters of the sweep: how many turns of each speaker are open (turns
 * of one speaker may overlap in an RTTM) and how many speakers are active. */
typedef struct {
    int *ref_open, *hyp_open;
    size_t ref_active, hyp_active;
    int uem_depth, noscore_depth;
} sweep_state;

static void apply(sweep_state *st, const event *e)
{
    int *open = e->kind == EV_REF ? st->ref_open : e->kind == EV_HYP ? st->hyp_open : NULL;
    size_t *active = e->kind == EV_REF ? &st->ref_active : &st->hyp_active;
    if (e->kind == EV_UEM) {
        st->uem_depth += e->delta;
    } else if (e->kind == EV_NOSCORE) {
        st->noscore_depth += e->delta;
    } else {
        int before = open[e->speaker];
        open[e->speaker] += e->delta;
        if (before == 0 && open[e->speaker] > 0)
            (*active)++;
        else if (before > 0 && open[e->speaker] == 0)
            (*active)--;
    }
}

/* Adds one elementary interval of length dt over which nothing changes. */
static void accumulate(file_score *fs, const sweep_state *st, double dt)
{
    double r = (double)st->ref_active, h = (double)st->hyp_active;
    fs->times.scored += dt * r;
    fs->times.missed += dt * (r > h ? r - h : 0);
    fs->times.false_alarm += dt * (h > r ? h - r : 0);
    fs->sum_min += dt * (r < h ? r : h);
    if (st->ref_active == 0 || st->hyp_active == 0)
        return;
    for (size_t i = 0; i < fs->n_ref; i++) {
        if (st->ref_open[i] <= 0)
            continue;
        for (size_t j = 0; j < fs->n_hyp; j++)
            if (st->hyp_open[j] > 0)
                fs->common[i * fs->n_hyp + j] += dt;
    }
}

static int sweep(file_score *fs, const event *ev, size_t n, const eval_der_params *p)
{
    sweep_state st = {calloc(fs->n_ref + 1, sizeof(int)), calloc(fs->n_hyp + 1, sizeof(int)),
                      0, 0, 0, 0};
    int rc = EVAL_OK;
    if (!st.ref_open || !st.hyp_open) {
        rc = EVAL_ERR_NOMEM;
        goto cleanup;
    }
    size_t i = 0;
    while (i < n) {
        double t = ev[i].t;
        while (i < n && ev[i].t == t)
            apply(&st, &ev[i++]);
        if (i == n)
            break;
        bool in_uem = !p->uem || st.uem_depth > 0;
        bool overlap_skipped = p->skip_overlap && st.ref_active >= 2;
        if (in_uem && st.noscore_depth == 0 && !overlap_skipped)
            accumulate(fs, &st, ev[i].t - t);
    }

cleanup:
    free(st.ref_open);
    free(st.hyp_open);
    return rc;
}

/* Maps speakers, derives confusion and fills the result entry. */
static int finish_file(file_score *fs, const char *id, eval_der_file *out)
{
    int *map = fs->n_ref ? malloc(fs->n_ref * sizeof *map) : NULL;
    int rc = EVAL_OK;
    if (fs->n_ref && !map)
        return EVAL_ERR_NOMEM;
    rc = eval_assign_max(fs->common, (int)fs->n_ref, (int)fs->n_hyp, map);
    if (rc != EVAL_OK)
        goto cleanup;
    if (!(out->id = strdup(id)) ||
        (fs->n_ref && !(out->mapping = calloc(fs->n_ref, sizeof *out->mapping)))) {
        rc = EVAL_ERR_NOMEM;
        goto cleanup;
    }
    double correct = 0;
    for (size_t i = 0; i < fs->n_ref; i++) {
        eval_der_pair *pair = &out->mapping[out->n_mapping++];
        if (!(pair->ref = strdup(fs->ref->speakers[i]))) {
            rc = EVAL_ERR_NOMEM;
            goto cleanup;
        }
        /* A pair with no time in common is no mapping worth reporting. */
        double both = map[i] >= 0 ? fs->common[i * fs->n_hyp + (size_t)map[i]] : 0;
        if (both <= 0)
            continue;
        correct += both;
        if (!(pair->hyp = strdup(fs->hyp->speakers[map[i]]))) {
            rc = EVAL_ERR_NOMEM;
            goto cleanup;
        }
    }
    fs->times.confusion = fs->sum_min - correct;
    if (fs->times.confusion < 0) /* only summation order can make it so */
        fs->times.confusion = 0;
    out->times = fs->times;

cleanup:
    free(map);
    return rc;
}

static int score_file(const eval_rttm_file *ref, const eval_rttm_file *hyp,
                      const eval_der_params *p, eval_der_file *out)
{
    const char *id = ref ? ref->id : hyp->id;
    file_score fs = {ref, hyp, ref ? ref->n_speakers : 0, hyp ? hyp->n_speakers : 0, NULL, 0,
                     {0, 0, 0, 0}};
    event *ev = NULL;
    size_t n_ev = 0;
    int rc = EVAL_OK;
    if (fs.n_ref > INT32_MAX || fs.n_hyp > INT32_MAX ||
        (fs.n_hyp && fs.n_ref > SIZE_MAX / sizeof(double) / fs.n_hyp)) {
        rc = EVAL_ERR_NOMEM;
        goto cleanup;
    }
    fs.common = calloc(fs.n_ref * fs.n_hyp + 1, sizeof *fs.common);
    if (!fs.common || (rc = build_events(&fs, id, p, &ev, &n_ev)) != EVAL_OK) {
        rc = EVAL_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = sweep(&fs, ev, n_ev, p)) != EVAL_OK)
        goto cleanup;
    rc = finish_file(&fs, id, out);

cleanup:
    free(ev);
    free(fs.common);
    return rc;
}

static const eval_rttm_file *find_file(const eval_rttm *r, const char *id)
{
    for (size_t i = 0; r && i < r->n_files; i++)
        if (strcmp(r->files[i].id, id) == 0)
            return &r->files[i];
    return NULL;
}

static void add_times(eval_der_times *acc, const eval_der_times *t)
{
    acc->scored += t->scored;
    acc->missed += t->missed;
    acc->false_alarm += t->false_alarm;
    acc->confusion += t->confusion;
}

int eval_der(const eval_rttm *ref, const eval_rttm *hyp, const eval_der_params *p,
             eval_der_result *out, char *err, size_t errlen)
{
    int rc = EVAL_OK;
    if (out)
        memset(out, 0, sizeof *out);
    if (!ref || !hyp || !p || !out || !isfinite(p->collar) || p->collar < 0) {
        rc = util_errf(err, errlen, EVAL_ERR_INVALID, "eval_der: invalid argument");
        goto cleanup;
    }
    size_t most = ref->n_files + hyp->n_files;
    if (most && !(out->files = calloc(most, sizeof *out->files))) {
        rc = util_errf(err, errlen, EVAL_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < most; i++) {
        bool from_ref = i < ref->n_files;
        const eval_rttm_file *r = from_ref ? &ref->files[i] : NULL;
        const eval_rttm_file *h = from_ref ? find_file(hyp, r->id) : &hyp->files[i - ref->n_files];
        if (!from_ref && find_file(ref, h->id))
            continue; /* scored with its reference already */
        eval_der_file *f = &out->files[out->n_files++];
        rc = score_file(r, h, p, f);
        if (rc != EVAL_OK) {
            util_errf(err, errlen, rc, "scoring '%s': %s", r ? r->id : h->id, eval_strerror(rc));
            goto cleanup;
        }
        add_times(&out->total, &f->times);
    }

cleanup:
    if (rc != EVAL_OK && out)
        eval_der_result_free(out);
    return rc;
}
