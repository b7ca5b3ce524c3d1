/* fuzz_fetch_link: a libFuzzer driver for the fetch module's parsers of
 * outside text — links pasted by users (fetch_classify, fetch_cache_key,
 * the URL splitter) and yt-dlp's output (progress lines, the error line,
 * the error class). They must return an error, never crash, leak or read
 * out of bounds, on any input. It checks what fetch.h promises: a YouTube
 * result has an id of 11 characters from [A-Za-z0-9_-]; an http(s) link's
 * cache key is normalised, so normalising the key's URL again gives it
 * back; every failure comes with a message.
 *
 * Not built by CMake as a fuzzer (every build replays the seeds in
 * tests/fuzz/seeds/fetch_link). Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_fetch_link.c src/fetch/link.c src/fetch/ytdlp.c \
 *       src/fetch/errors.c src/util/[a-z]*.c -lm -o fuzz_fetch_link
 *   ./fuzz_fetch_link -max_len=9000 tests/fuzz/seeds/fetch_link
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"
#include "fetch/internal_yt.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_link(const char *text)
{
    fetch_link_kind kind;
    char id[FETCH_VIDEO_ID_MAX];
    char err[256] = "";
    int rc = fetch_classify(text, &kind, id, err, sizeof err);
    char *key = NULL;
    char kerr[256] = "";
    int krc = fetch_cache_key(text, &key, kerr, sizeof kerr);
    check(rc == krc);
    if (rc != FETCH_OK) {
        check(rc == FETCH_ERR_INVALID_URL && err[0] != '\0' && id[0] == '\0' && key == NULL);
        return;
    }
    if (kind == FETCH_LINK_YOUTUBE) {
        check(strlen(id) == 11);
        for (const char *s = id; *s; s++)
            check((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '-' || *s == '_');
        check(strncmp(key, "yt:", 3) == 0 && strcmp(key + 3, id) == 0);
    } else {
        check(kind == FETCH_LINK_HTTP && id[0] == '\0');
        check(strncmp(key, "url:", 4) == 0);
        char *again = NULL;
        /* the key of a long URL can grow by the "/" of an empty path */
        if (strlen(key + 4) <= FETCH__URL_MAX) {
            check(fetch_cache_key(key + 4, &again, NULL, 0) == FETCH_OK);
            check(strcmp(again, key) == 0);
        }
        free(again);
    }
    free(key);
}

static void check_ytdlp_output(const char *text)
{
    char line[512];
    fetch__ytdlp_error_line(text, line, sizeof line);
    check(strlen(line) < sizeof line);
    fetch_err c = fetch_ytdlp_classify(text);
    check(c > FETCH_OK && c <= FETCH_ERR_NOMEM);
    /* every line as a progress line */
    char *copy = strdup(text);
    check(copy != NULL);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        long long done, total;
        if (fetch__ytdlp_progress_line(l, &done, &total))
            check(done >= 0 && (total == -1 || total > 0));
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* an embedded NUL just ends the text early */
    check_link(text);
    check_ytdlp_output(text);
    free(text);
    return 0;
}
