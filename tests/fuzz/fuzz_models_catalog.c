/* fuzz_models_catalog: a libFuzzer driver for the parser of the user's model
 * catalog file (models__catalog_parse), plus the name checks and "did you
 * mean" that run on names typed by users. On any input the parser returns
 * MODELS_OK or MODELS_ERR_CATALOG with a message, never crashes, leaks or
 * reads past the input (which is not NUL-terminated here, on purpose). It
 * checks what models.h promises of a catalog that parsed: every name is
 * valid and unique, every SHA-1 is "" or 40 lower-case hex digits, sizes are
 * not negative.
 *
 * Not built by CMake as a fuzzer (every build replays the seeds in
 * tests/fuzz/seeds/models_catalog). Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_models_catalog.c src/models/catalog.c \
 *       src/models/catalog_file.c src/models/resolve.c src/models/suggest.c \
 *       src/util/[a-z]*.c -lm -o fuzz_models_catalog
 *   ./fuzz_models_catalog -max_len=4096 tests/fuzz/seeds/models_catalog
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"
#include "models/models.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_catalog(const models_catalog *c)
{
    for (size_t i = 0; i < models_catalog_count(c); i++) {
        const models_entry *e = models_catalog_at(c, i);
        check(models_valid_name(e->name));
        check(e->size >= 0 && e->approx_bytes >= 0);
        size_t n = strlen(e->sha1);
        check(n == 0 || n == 40);
        for (size_t k = 0; k < n; k++)
            check((e->sha1[k] >= '0' && e->sha1[k] <= '9') ||
                  (e->sha1[k] >= 'a' && e->sha1[k] <= 'f'));
        check(models_find(c, e->name) == e); /* unique: the first match is this one */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    models_catalog *c = NULL;
    char err[512] = "";
    if (models__catalog_new(&c) != MODELS_OK)
        return 0;
    /* a private copy, so reading one byte past the input is caught */
    char *text = malloc(size ? size : 1);
    if (!text) {
        models_catalog_free(c);
        return 0;
    }
    memcpy(text, data, size);
    int rc = models__catalog_parse(c, text, size, "fuzz", err, sizeof err);
    check(rc == MODELS_OK || rc == MODELS_ERR_CATALOG || rc == MODELS_ERR_NOMEM);
    check(rc == MODELS_OK || (err[0] != '\0' && strncmp(err, "fuzz:", 5) == 0) ||
          rc == MODELS_ERR_NOMEM);
    check_catalog(c);

    /* the input's first line as a typed name */
    char name[128];
    const char *nl = memchr(text, '\n', size);
    size_t n = nl ? (size_t)(nl - text) : size;
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, text, n);
    name[n] = '\0';
    char path[256];
    if (models_resolve("/m", name, path, sizeof path, err, sizeof err) == MODELS_OK)
        check(models_is_path(name) ? strcmp(path, name) == 0 : strncmp(path, "/m/ggml-", 8) == 0);
    const char *close = models_suggest(c, name);
    check(close == NULL || models_find(c, close) != NULL);

    free(text);
    models_catalog_free(c);
    return 0;
}
