/* test_whisper_vocab: Whisper's vocabulary — language codes in token order,
 * special token ids for English-only, multilingual and large-v3
 * vocabularies, token bytes, exact decoding (including raw byte tokens that
 * split a UTF-8 character, as real model files store them) and the
 * longest-match tokenizer. Models are tiny random-weight files built from
 * the header-only test models' real vocabularies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "whisper_writer.h"
#include "whisper/loader.h"

#define HEADER_TINY_EN CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-tiny.en.bin"
#define HEADER_BASE CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-base.bin"

/* A model with tiny weights and the vocabulary of header_path. raw_bytes:
 * byte tokens 0..255 as real files store them (see wt_vocab). */
static whisper_model *load_vocab_model(const char *header_path, bool raw_bytes)
{
    size_t hlen;
    uint8_t *header = wt_read_file(header_path, &hlen);
    assert_non_null(header);
    int32_t n_vocab;
    memcpy(&n_vocab, header + 4, 4);
    int32_t hp[11] = {n_vocab, 1, 32, 1, 1, 1, 1, 1, 1, 80, 0};
    wt_list l = wt_tensors(hp, 0);
    wt_file v = wt_vocab(header, hlen, -1, raw_bytes);
    wt_file f = wt_build_vocab(header, hp, &v, &l, 1);
    whisper_model *m = NULL;
    char err[512] = "";
    if (whisper__model_load_memory(&m, f.data, f.len, header_path, err, sizeof err) != WHISPER_OK)
        fail_msg("%s", err);
    wt_file_free(&v);
    wt_file_free(&f);
    free(l.t);
    free(header);
    return m;
}

static void test_languages(void **state)
{
    (void)state;
    int n = 0;
    while (whisper_language_code(n))
        n++;
    assert_int_equal(n, 100);
    assert_string_equal(whisper_language_code(0), "en");
    assert_string_equal(whisper_language_code(99), "yue");
    assert_null(whisper_language_code(-1));
    /* token ids of large-v3 (lang_first 50259) published for its tokenizer */
    assert_int_equal(50259 + whisper_language_index("af"), 50327);
    assert_int_equal(50259 + whisper_language_index("ar"), 50272);
    assert_int_equal(50259 + whisper_language_index("az"), 50304);
    assert_int_equal(50259 + whisper_language_index("am"), 50334);
    assert_int_equal(50259 + whisper_language_index("as"), 50350);
    assert_int_equal(50259 + whisper_language_index("haw"), 50352);
    assert_int_equal(whisper_language_index("he"), 20);
    assert_int_equal(whisper_language_index("xx"), -1);
    assert_int_equal(whisper_language_index(""), -1);
    assert_int_equal(whisper_language_index(NULL), -1);
    for (int i = 0; i < n; i++)
        assert_int_equal(whisper_language_index(whisper_language_code(i)), i);
}

static void test_special_tokens(void **state)
{
    (void)state;
    whisper_special_tokens s;
    whisper__special_tokens(&s, 51864); /* tiny.en */
    assert_int_equal(s.eot, 50256);
    assert_int_equal(s.sot, 50257);
    assert_int_equal(s.lang_first, 50258);
    assert_int_equal(s.translate, 50357);
    assert_int_equal(s.transcribe, 50358);
    assert_int_equal(s.solm, 50359);
    assert_int_equal(s.prev, 50360);
    assert_int_equal(s.no_speech, 50361);
    assert_int_equal(s.no_timestamps, 50362);
    assert_int_equal(s.timestamp_begin, 50363);
    whisper__special_tokens(&s, 51865); /* base */
    assert_int_equal(s.eot, 50257);
    assert_int_equal(s.sot, 50258);
    assert_int_equal(s.translate, 50358);
    assert_int_equal(s.no_timestamps, 50363);
    assert_int_equal(s.timestamp_begin, 50364);
    assert_int_equal(s.n_languages, 99);
    assert_int_equal(51865 - s.timestamp_begin, 1501); /* 0.00 .. 30.00 s */
    whisper__special_tokens(&s, 51866); /* large-v3 */
    assert_int_equal(s.n_languages, 100);
    assert_int_equal(s.translate, 50359);
    assert_int_equal(s.no_timestamps, 50364);
    assert_int_equal(s.timestamp_begin, 50365);
    whisper_model *m = load_vocab_model(HEADER_BASE, false);
    assert_int_equal(whisper_model_special(m)->sot, 50258);
    assert_true(whisper_model_multilingual(m));
    whisper_model_free(m);
}

static void test_token_bytes(void **state)
{
    (void)state;
    whisper_model *m = load_vocab_model(HEADER_TINY_EN, false);
    size_t len = 0;
    const char *b = whisper_token_bytes(m, 0, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(b, "!", 1);
    b = whisper_token_bytes(m, 256, &len);
    assert_int_equal(len, 2);
    assert_string_equal(b, " t");
    const whisper_special_tokens *s = whisper_model_special(m);
    assert_null(whisper_token_bytes(m, s->eot, &len)); /* stored as <|endoftext|>, but special */
    assert_null(whisper_token_bytes(m, s->sot, &len));
    assert_null(whisper_token_bytes(m, s->timestamp_begin + 5, &len));
    assert_null(whisper_token_bytes(m, -1, &len));
    assert_null(whisper_token_bytes(m, 1 << 20, &len));
    whisper_model_free(m);
}

static void test_tokens_to_text(void **state)
{
    (void)state;
    whisper_model *m = load_vocab_model(HEADER_TINY_EN, false);
    const whisper_special_tokens *s = whisper_model_special(m);
    /* GPT-2 ids: "Hello" 15496, "," 11, " world" 995, "!" 0 */
    int ids[] = {s->sot, s->lang_first, s->no_timestamps, 15496, 11, 995, 0, s->eot,
                 s->timestamp_begin + 10};
    char out[64];
    size_t needed = 0;
    assert_int_equal(whisper_tokens_to_text(m, ids, 9, out, sizeof out, &needed), WHISPER_OK);
    assert_string_equal(out, "Hello, world!");
    assert_int_equal(needed, 13);
    /* too small: error, NUL-terminated, needed still reported */
    assert_int_equal(whisper_tokens_to_text(m, ids, 9, out, 13, &needed),
                     WHISPER_ERR_INVALID_ARG);
    assert_int_equal(needed, 13);
    assert_int_equal(strlen(out), 12);
    assert_int_equal(whisper_tokens_to_text(m, ids, 9, NULL, 0, &needed), WHISPER_ERR_INVALID_ARG);
    assert_int_equal(needed, 13);
    int bad[] = {15496, 51864};
    assert_int_equal(whisper_tokens_to_text(m, bad, 2, out, sizeof out, NULL),
                     WHISPER_ERR_INVALID_ARG);
    assert_int_equal(whisper_tokens_to_text(m, ids, 0, out, sizeof out, &needed), WHISPER_OK);
    assert_string_equal(out, "");
    whisper_model_free(m);
}

/* Real ggml files store byte tokens as raw bytes; ids 0..255 follow
 * GPT-2's byte alphabet order, so 0xC3 is id 127, 0xA9 id 102, 0xE5 id 161,
 * 0xAE id 106 and 0x87 id 229. Multilingual id 2415 is "\xe5\xae" and the
 * reference tokenizer decodes [2415, 229] as U+5B87 (宇). */
static void test_split_utf8(void **state)
{
    (void)state;
    whisper_model *m = load_vocab_model(HEADER_BASE, true);
    size_t len;
    const char *b = whisper_token_bytes(m, 127, &len);
    assert_int_equal(len, 1);
    assert_int_equal((uint8_t)b[0], 0xc3);
    int e_acute[] = {127, 102};
    char out[64];
    assert_int_equal(whisper_tokens_to_text(m, e_acute, 2, out, sizeof out, NULL), WHISPER_OK);
    assert_string_equal(out, "\xc3\xa9");
    int yu_bytes[] = {161, 106, 229};
    assert_int_equal(whisper_tokens_to_text(m, yu_bytes, 3, out, sizeof out, NULL), WHISPER_OK);
    assert_string_equal(out, "\xe5\xae\x87");
    b = whisper_token_bytes(m, 2415, &len);
    if (len == 2 && memcmp(b, "\xe5\xae", 2) == 0) {
        int yu[] = {2415, 229};
        assert_int_equal(whisper_tokens_to_text(m, yu, 2, out, sizeof out, NULL), WHISPER_OK);
        assert_string_equal(out, "\xe5\xae\x87");
    }
    /* the vocabulary does hold tokens that end inside a character */
    int partial = 0;
    for (int id = 0; id < m->n_text_tokens && id < m->special.eot; id++) {
        const char *t = whisper_token_bytes(m, id, &len);
        partial += len > 0 && (uint8_t)t[len - 1] >= 0xc0; /* ends with a lead byte */
    }
    assert_true(partial > 0);
    /* and the tokenizer round-trips text with any bytes */
    const char *text = "Caf\xc3\xa9 \xe5\xae\x87\xe5\xae\x99, na\xc3\xafve \xf0\x9f\x99\x82!";
    int ids[64];
    int n = whisper_tokenize(m, text, ids, 64);
    assert_true(n > 0 && n <= 64);
    assert_int_equal(whisper_tokens_to_text(m, ids, (size_t)n, out, sizeof out, NULL), WHISPER_OK);
    assert_string_equal(out, text);
    whisper_model_free(m);
}

/* The header-only files hold U+FFFD in place of the one-byte tokens that
 * are not valid UTF-8 alone; the loader restores those bytes from GPT-2's
 * fixed byte alphabet, so split characters decode exactly from such files
 * too, and the multi-byte tokens they do store are kept as they are. */
static void test_byte_tokens_restored(void **state)
{
    (void)state;
    const char *headers[] = {HEADER_TINY_EN, HEADER_BASE};
    for (int h = 0; h < 2; h++) {
        whisper_model *m = load_vocab_model(headers[h], false);
        char out[64];
        int e_acute[] = {127, 102};
        assert_int_equal(whisper_tokens_to_text(m, e_acute, 2, out, sizeof out, NULL), WHISPER_OK);
        assert_string_equal(out, "\xc3\xa9");
        int yu_bytes[] = {161, 106, 229};
        assert_int_equal(whisper_tokens_to_text(m, yu_bytes, 3, out, sizeof out, NULL), WHISPER_OK);
        assert_string_equal(out, "\xe5\xae\x87");
        size_t len;
        for (int id = 0; id < 256; id++) {
            const char *b = whisper_token_bytes(m, id, &len);
            if (len != 1)
                fail_msg("%s: byte token %d has %zu bytes", headers[h], id, len);
            (void)b;
        }
        const char *the = whisper_token_bytes(m, 262, &len);
        assert_true(len >= 2 && the[0] == ' ');
        whisper_model_free(m);
    }
}

static void expect_tokens(const whisper_model *m, const char *text, const int *want, int n_want)
{
    int ids[64];
    int n = whisper_tokenize(m, text, ids, 64);
    if (n != n_want)
        fail_msg("'%s': %d tokens, expected %d", text, n, n_want);
    for (int i = 0; i < n; i++)
        if (ids[i] != want[i])
            fail_msg("'%s': token %d is %d, expected %d", text, i, ids[i], want[i]);
}

static void test_tokenize(void **state)
{
    (void)state;
    whisper_model *m = load_vocab_model(HEADER_TINY_EN, false);
    /* GPT-2 ids: Hello 15496, " world" 995, "," 11, "it" 270, "'s" 338,
     * " " 220, "a" 64, " b" 275, "\n" 198, " 2024" 33448 */
    expect_tokens(m, "Hello world", (int[]){15496, 995}, 2);
    expect_tokens(m, "Hello, world", (int[]){15496, 11, 995}, 3);
    expect_tokens(m, "it's", (int[]){270, 338}, 2);
    expect_tokens(m, "a  b", (int[]){64, 220, 275}, 3);
    expect_tokens(m, "a\n b", (int[]){64, 198, 275}, 3);
    expect_tokens(m, "", NULL, 0);
    /* every piece decodes back to the input */
    const char *texts[] = {"  Leading spaces, trailing  ", "I'll go; we've 12345 apples!!",
                           "tabs\tand\r\nnewlines\n\n", "MiXeD CaSe 3.14159 $%^&*"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int ids[128];
        char out[256];
        int n = whisper_tokenize(m, texts[i], ids, 128);
        assert_true(n > 0 && n <= 128);
        assert_int_equal(whisper_tokens_to_text(m, ids, (size_t)n, out, sizeof out, NULL),
                         WHISPER_OK);
        assert_string_equal(out, texts[i]);
        for (int k = 0; k < n; k++)
            assert_true(ids[k] >= 0 && ids[k] < m->special.eot);
    }
    /* a short buffer gets the first ids and the full count */
    int two[2];
    int n = whisper_tokenize(m, "Hello, world", two, 2);
    assert_int_equal(n, 3);
    assert_int_equal(two[0], 15496);
    assert_int_equal(two[1], 11);
    assert_int_equal(whisper_tokenize(m, "Hello, world", NULL, 0), 3);
    assert_int_equal(whisper_tokenize(m, NULL, two, 2), -1);
    assert_int_equal(whisper_tokenize(NULL, "x", two, 2), -1);
    whisper_model_free(m);
}

/* A byte no vocabulary entry starts with becomes its GPT-2 byte-alphabet
 * id. The header-only test files hold U+FFFD in place of lone high bytes,
 * so nothing starts with 0x80 or 0xff there. */
static void test_tokenize_unspellable(void **state)
{
    (void)state;
    whisper_model *m = load_vocab_model(HEADER_TINY_EN, false);
    expect_tokens(m, "\x80", (int[]){222}, 1);
    expect_tokens(m, "\xff\x80", (int[]){187, 222}, 2);
    int ids[16];
    int n = whisper_tokenize(m, "\xf0\x9f\xa6\x9c", ids, 16); /* U+1F99C */
    assert_true(n >= 1 && n <= 4);
    whisper_model_free(m);
    /* with raw byte tokens (real files) the same ids spell the bytes */
    m = load_vocab_model(HEADER_TINY_EN, true);
    expect_tokens(m, "\x80", (int[]){222}, 1);
    expect_tokens(m, "\xff\x80", (int[]){187, 222}, 2);
    char out[8];
    assert_int_equal(whisper_tokens_to_text(m, (int[]){187, 222}, 2, out, sizeof out, NULL),
                     WHISPER_OK);
    assert_string_equal(out, "\xff\x80");
    whisper_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_special_tokens),
        cmocka_unit_test(test_token_bytes),
        cmocka_unit_test(test_tokens_to_text),
        cmocka_unit_test(test_split_utf8),
        cmocka_unit_test(test_byte_tokens_restored),
        cmocka_unit_test(test_tokenize),
        cmocka_unit_test(test_tokenize_unspellable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
