/* fuzz_rttm: a libFuzzer driver for the RTTM and UEM readers behind
 * `cesar der`. Reference files come from other tools and from users, so the
 * readers must return an error — never crash, leak or read out of bounds —
 * on any input. On success it checks what eval.h promises: every turn has
 * finite 0 <= onset < offset and a speaker index inside its file's list, and
 * scoring the file against itself gives DER 0 (the mapping finds every
 * speaker). On failure the message must name the input and a line.
 *
 * Not built by CMake as a fuzzer (every build replays the seeds in
 * tests/fuzz/seeds/rttm). Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_rttm.c src/eval/[a-z]*.c src/util/[a-z]*.c -lm -o fuzz_rttm
 *   ./fuzz_rttm -max_len=4096 tests/fuzz/seeds/rttm
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_rttm(const eval_rttm *r)
{
    for (size_t f = 0; f < r->n_files; f++) {
        const eval_rttm_file *file = &r->files[f];
        check(file->id != NULL);
        for (size_t t = 0; t < file->n_turns; t++) {
            const eval_turn *u = &file->turns[t];
            check(isfinite(u->onset) && isfinite(u->offset));
            check(u->onset >= 0 && u->onset < u->offset);
            check(u->speaker < file->n_speakers);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[512] = "";
    eval_rttm *r = NULL;
    if (eval_rttm_parse(text, size, "in.rttm", &r, err, sizeof err) == EVAL_OK) {
        check_rttm(r);
        eval_der_result res;
        eval_der_params p = eval_der_default_params();
        if (eval_der(r, r, &p, &res, err, sizeof err) == EVAL_OK) {
            check(res.total.missed == 0 && res.total.false_alarm == 0);
            check(res.total.confusion < 1e-6 * (res.total.scored + 1));
            eval_der_result_free(&res);
        }
        eval_rttm_free(r);
    } else {
        check(r == NULL);
        check(strncmp(err, "in.rttm", 7) == 0);
    }
    eval_uem *u = NULL;
    err[0] = '\0';
    if (eval_uem_parse(text, size, "in.uem", &u, err, sizeof err) == EVAL_OK)
        eval_uem_free(u);
    else
        check(u == NULL && strncmp(err, "in.uem", 6) == 0);
    return 0;
}
