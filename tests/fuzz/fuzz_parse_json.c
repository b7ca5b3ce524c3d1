/* fuzz_parse_json: a libFuzzer driver for format_parse_json, which reads back
 * the transcripts the server stores. A stored row can be damaged (a disk
 * fault, a hand edit, an older version's output), so the reader must return
 * an error — never crash, leak or read out of bounds — on any input. On
 * success it checks the promise that makes the server's formats agree: the
 * transcript renders in every format, and its JSON rendering reads back to
 * the same JSON rendering (a fixed point after one round).
 *
 * Not built by CMake as a fuzzer (every build replays the seeds in
 * tests/fuzz/seeds/parse_json). Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_parse_json.c src/format/[a-z]*.c src/transcript/[a-z]*.c \
 *       src/util/[a-z]*.c -ljansson -lm -o fuzz_parse_json
 *   ./fuzz_parse_json -max_len=8192 tests/fuzz/seeds/parse_json
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "util/util.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

/* The JSON rendering of text's transcript, or NULL when text does not parse. */
static char *round_trip(const char *text, size_t len, size_t *out_len)
{
    transcript *t = NULL;
    format_json_meta meta;
    char err[512];
    int rc = format_parse_json(text, len, &t, &meta, err, sizeof err);
    if (rc != FORMAT_OK) {
        check(t == NULL);
        check(err[0] != '\0');
        return NULL;
    }
    format_meta view = format_json_meta_view(&meta);
    char *json = NULL;
    for (int kind = 0; kind < FORMAT_COUNT; kind++) {
        util_buf out = UTIL_BUF_INIT(64u * 1024 * 1024);
        check(format_render((format_kind)kind, t, &view, &out, err, sizeof err) == FORMAT_OK);
        if (kind == FORMAT_JSON) {
            *out_len = out.len;
            json = util_buf_take(&out);
        }
        util_buf_free(&out);
    }
    transcript_free(t);
    format_json_meta_clear(&meta);
    return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n1 = 0, n2 = 0;
    char *first = round_trip((const char *)data, size, &n1);
    if (!first)
        return 0;
    char *second = round_trip(first, n1, &n2);
    check(second != NULL);
    check(n1 == n2 && memcmp(first, second, n1) == 0);
    free(first);
    free(second);
    return 0;
}
