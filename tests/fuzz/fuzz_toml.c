/* fuzz_toml: a libFuzzer driver for the TOML parser. Config files come from
 * users, so the parser must return an error — never crash, hang, leak or
 * read out of bounds — on any input. Beyond "no crash", it checks the
 * promises toml.h makes about a successful parse: keys and strings are
 * UTF-8 without embedded NUL, keys are within TOML_MAX_KEY, lines are
 * non-decreasing, every key is found by toml_find, and no key repeats. On
 * failure the message must start with "line N: ".
 *
 * Not built by CMake. Build and run (seeds in tests/fuzz/seeds/toml):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_toml.c src/toml/[a-z]*.c src/util/[a-z]*.c -lm -o fuzz_toml
 *   ./fuzz_toml -max_len=4096 tests/fuzz/seeds/toml
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toml/toml.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_value(const toml_value *v, int depth)
{
    check(depth <= 64);
    if (v->type == TOML_STRING) {
        check(v->u.s != NULL);
        check(toml_utf8_valid(v->u.s, strlen(v->u.s)));
    } else if (v->type == TOML_ARRAY) {
        check(v->u.a.n == 0 || v->u.a.items != NULL);
        for (size_t i = 0; i < v->u.a.n; i++)
            check_value(&v->u.a.items[i], depth + 1);
    }
}

static void check_doc(const toml_doc *doc)
{
    int last_line = 0;
    for (size_t i = 0; i < doc->n; i++) {
        const toml_entry *e = &doc->entries[i];
        size_t len = strlen(e->key);
        check(len > 0 && len <= TOML_MAX_KEY);
        check(toml_utf8_valid(e->key, len));
        check(e->line >= last_line && e->line >= 1);
        last_line = e->line;
        check(toml_find(doc, e->key) == e); /* first match is itself: no duplicates */
        check_value(&e->value, 0);
    }
    for (size_t i = 0; i < doc->n_tables; i++)
        check(strlen(doc->tables[i].name) <= TOML_MAX_KEY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    toml_doc *doc = NULL;
    char err[512] = "";
    int rc = toml_parse((const char *)data, size, &doc, err, sizeof err);
    if (rc == TOML_OK) {
        check(doc != NULL);
        check_doc(doc);
    } else {
        check(doc == NULL);
        check(err[0] != '\0');
        check(rc == TOML_ERR_TOO_LARGE || strncmp(err, "line ", 5) == 0);
    }
    toml_free(doc);
    return 0;
}
