/* test_whisper_greedy: greedy decoding of one window on random-weight
 * models (dims "test", f32, two seeds, English-only and multilingual
 * headers, timestamps on and off) must give exactly the token sequence of
 * the PyTorch reference (tests/whisper/reference.py greedy), logit filters
 * included. Both sides decode the same mel (the reference's), so this
 * checks the decoder, the filters and the search, not the front end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "whisper/decoding.h"
#include "whisper/whisper.h"

#define SAMPLE_LEN 40
#define DIR CESAR_BINARY_DIR "/test-whisper-greedy"
#define PY "/usr/bin/python3 " CESAR_SOURCE_DIR "/tests/whisper/"
#define HEADERS CESAR_SOURCE_DIR "/../shared/models/whisper/"

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc == -1 || WEXITSTATUS(rc) != 0)
        fail_msg("command failed: %s", cmd);
    return 0;
}

/* 4 s of a deterministic chirp-and-noise signal, so the encoder sees more
 * than silence. */
static void write_audio(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t x = 12345;
    for (int i = 0; i < 4 * 16000; i++) {
        x = x * 1664525u + 1013904223u;
        double t = i / 16000.0;
        float v = (float)(0.3 * sin(2 * M_PI * (200 + 300 * t) * t) +
                          0.05 * ((double)(x >> 8) / 16777216.0 - 0.5));
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

static float *read_floats(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    float *v = malloc(n * sizeof *v);
    assert_non_null(v);
    assert_int_equal(fread(v, sizeof *v, n, f), n);
    fclose(f);
    return v;
}

static int st_decode(void *ud, int n_seq, int n_tokens, const int *tokens, int n_past,
                     float *logits, char *err, size_t errlen)
{
    return whisper_decode(ud, n_seq, n_tokens, tokens, n_past, logits, false, err, errlen);
}

static void st_copy(void *ud, int dst, int src, int n_past)
{
    whisper_kv_copy(ud, dst, src, n_past);
}

static void check_one(const char *header, int seed, bool timestamps)
{
    char model[512], mel[512], audio[512], out[512], cmd[2048], err[512] = "";
    snprintf(model, sizeof model, DIR "/%s-%d.bin", header, seed);
    snprintf(audio, sizeof audio, DIR "/audio.f32");
    snprintf(mel, sizeof mel, DIR "/%s-%d.mel", header, seed);
    snprintf(out, sizeof out, DIR "/%s-%d-%d.txt", header, seed, (int)timestamps);
    snprintf(cmd, sizeof cmd,
             "mkdir -p " DIR " && " PY "make_model.py --header " HEADERS
             "for-tests-ggml-%s.bin --out %s --dims test --ftype f32 --seed %d",
             header, model, seed);
    sh(cmd);
    write_audio(audio);
    snprintf(cmd, sizeof cmd, PY "reference.py mel --model %s --audio %s --out %s", model, audio,
             mel);
    sh(cmd);

    whisper_model *m = NULL;
    whisper_load_params lp = whisper_load_default_params();
    if (whisper_model_load(&m, model, &lp, err, sizeof err) != WHISPER_OK)
        fail_msg("load %s: %s", model, err);
    const whisper_hparams *hp = whisper_model_hparams(m);
    const whisper_special_tokens *sp = whisper_model_special(m);
    int prompt[4], n_prompt = 0;
    prompt[n_prompt++] = sp->sot;
    if (whisper_model_multilingual(m)) {
        prompt[n_prompt++] = sp->lang_first;
        prompt[n_prompt++] = sp->transcribe;
    }
    if (!timestamps)
        prompt[n_prompt++] = sp->no_timestamps;
    char ids[64] = "";
    for (int i = 0; i < n_prompt; i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%d", i ? "," : "", prompt[i]);
    snprintf(cmd, sizeof cmd,
             PY "reference.py greedy --model %s --mel %s --prompt %s --sample-len %d %s --out %s",
             model, mel, ids, SAMPLE_LEN, timestamps ? "" : "--no-timestamps", out);
    sh(cmd);

    whisper_state *s = NULL;
    if (whisper_state_new(&s, m, 2, 1, err, sizeof err) != WHISPER_OK)
        fail_msg("state: %s", err);
    float *melv = read_floats(mel, (size_t)hp->n_mels * WHISPER_CHUNK_FRAMES);
    if (whisper_encode(s, melv, err, sizeof err) != WHISPER_OK)
        fail_msg("encode: %s", err);
    whisper_transcribe_params tp = whisper_transcribe_default_params();
    tp.timestamps = timestamps;
    whisper__filters fl;
    assert_int_equal(whisper__filters_init(&fl, m, &tp, err, sizeof err), WHISPER_OK);
    whisper__decoder d = {st_decode, st_copy, s, hp->n_vocab, hp->n_text_ctx, 1};
    whisper__search_params p = {.temperature = 0,
                                .beam_size = 1,
                                .best_of = 1,
                                .patience = 1,
                                .length_penalty = -1,
                                .sample_len = SAMPLE_LEN,
                                .filters = &fl};
    whisper__search_result r;
    if (whisper__search(&d, &p, prompt, n_prompt, 0, &r, err, sizeof err) != WHISPER_OK)
        fail_msg("search: %s", err);

    FILE *f = fopen(out, "r");
    assert_non_null(f);
    int want[SAMPLE_LEN + 1], n_want = 0;
    while (n_want <= SAMPLE_LEN && fscanf(f, "%d", &want[n_want]) == 1)
        n_want++;
    fclose(f);
    assert_true(n_want > 0);
    bool ended = want[n_want - 1] == sp->eot;
    int n_text = ended ? n_want - 1 : n_want;
    char got[1024] = "";
    for (int i = 0; i < r.n_tokens && strlen(got) < 1000; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), " %d", r.tokens[i].id);
    if (r.n_tokens != n_text)
        fail_msg("%s seed %d ts %d: %d tokens (%s), reference %d%s", header, seed, timestamps,
                 r.n_tokens, got, n_text, ended ? " + eot" : "");
    for (int i = 0; i < n_text; i++)
        if (r.tokens[i].id != want[i])
            fail_msg("%s seed %d ts %d: token %d is %d, reference %d (ours:%s)", header, seed,
                     timestamps, i, r.tokens[i].id, want[i], got);
    int n_ts = 0;
    for (int i = 0; i < r.n_tokens; i++)
        n_ts += r.tokens[i].id >= sp->timestamp_begin;
    if (timestamps)
        assert_true(n_ts > 0); /* the rules force a timestamp first */
    print_message("%s seed %d timestamps %d: %d tokens (%d timestamps)%s\n", header, seed,
                  timestamps, r.n_tokens, n_ts, ended ? " then eot" : "");
    whisper__search_result_free(&r);
    whisper__filters_free(&fl);
    free(melv);
    whisper_state_free(s);
    whisper_model_free(m);
}

static void test_english_only(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 2; seed++)
        for (int ts = 0; ts < 2; ts++)
            check_one("tiny.en", seed, ts);
}

static void test_multilingual(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 2; seed++)
        for (int ts = 0; ts < 2; ts++)
            check_one("base", seed, ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_english_only),
        cmocka_unit_test(test_multilingual),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
