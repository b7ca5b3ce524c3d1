/* catalog: the models Cesar knows by name — a built-in table of the ggml
 * Whisper files in the Hugging Face repository ggerganov/whisper.cpp with
 * the SHA-1 digests that repository's model card and whisper.cpp's
 * models/README.md publish — merged with the user's own entries.
 *
 * whisper.cpp publishes sizes only rounded ("142 MiB", "1.5 GiB"), so the
 * built-in entries carry no exact size (size 0, approx_bytes for listings);
 * the SHA-1 is what proves a download complete and intact.
 *
 * Invariant: a catalog owns copies of every string of its user entries; the
 * built-in entries point at static strings. Names are unique.
 */
#include "models/models.h"
#include "models/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define MIB (1024LL * 1024LL)
#define GIB_TENTHS(t) ((long long)(t) * 1024LL * MIB / 10) /* 1.5 GiB = GIB_TENTHS(15) */

/* Order: by size, each multilingual model before its English-only one, each
 * full-precision file before its quantized variants — the model card's order. */
static const models_entry builtin[] = {
    {"tiny", 0, 75 * MIB, "bd577a113a864445d4c299885e0cb97d4ba92b5f", false},
    {"tiny-q5_1", 0, 31 * MIB, "2827a03e495b1ed3048ef28a6a4620537db4ee51", false},
    {"tiny-q8_0", 0, 42 * MIB, "19e8118f6652a650569f5a949d962154e01571d9", false},
    {"tiny.en", 0, 75 * MIB, "c78c86eb1a8faa21b369bcd33207cc90d64ae9df", false},
    {"tiny.en-q5_1", 0, 31 * MIB, "3fb92ec865cbbc769f08137f22470d6b66e071b6", false},
    {"tiny.en-q8_0", 0, 42 * MIB, "802d6668e7d411123e672abe4cb6c18f12306abb", false},
    {"base", 0, 142 * MIB, "465707469ff3a37a2b9b8d8f89f2f99de7299dac", false},
    {"base-q5_1", 0, 57 * MIB, "a3733eda680ef76256db5fc5dd9de8629e62c5e7", false},
    {"base-q8_0", 0, 78 * MIB, "7bb89bb49ed6955013b166f1b6a6c04584a20fbe", false},
    {"base.en", 0, 142 * MIB, "137c40403d78fd54d454da0f9bd998f78703390c", false},
    {"base.en-q5_1", 0, 57 * MIB, "d26d7ce5a1b6e57bea5d0431b9c20ae49423c94a", false},
    {"base.en-q8_0", 0, 78 * MIB, "bb1574182e9b924452bf0cd1510ac034d323e948", false},
    {"small", 0, 466 * MIB, "55356645c2b361a969dfd0ef2c5a50d530afd8d5", false},
    {"small-q5_1", 0, 181 * MIB, "6fe57ddcfdd1c6b07cdcc73aaf620810ce5fc771", false},
    {"small-q8_0", 0, 252 * MIB, "bcad8a2083f4e53d648d586b7dbc0cd673d8afad", false},
    {"small.en", 0, 466 * MIB, "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", false},
    {"small.en-q5_1", 0, 181 * MIB, "20f54878d608f94e4a8ee3ae56016571d47cba34", false},
    {"small.en-q8_0", 0, 252 * MIB, "9d75ff4ccfa0a8217870d7405cf8cef0a5579852", false},
    {"small.en-tdrz", 0, 465 * MIB, "b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1", false},
    {"medium", 0, GIB_TENTHS(15), "fd9727b6e1217c2f614f9b698455c4ffd82463b4", false},
    {"medium-q5_0", 0, 514 * MIB, "7718d4c1ec62ca96998f058114db98236937490e", false},
    {"medium-q8_0", 0, 785 * MIB, "e66645948aff4bebbec71b3485c576f3d63af5d6", false},
    {"medium.en", 0, GIB_TENTHS(15), "8c30f0e44ce9560643ebd10bbe50cd20eafd3723", false},
    {"medium.en-q5_0", 0, 514 * MIB, "bb3b5281bddd61605d6fc76bc5b92d8f20284c3b", false},
    {"medium.en-q8_0", 0, 785 * MIB, "b1cf48c12c807e14881f634fb7b6c6ca867f6b38", false},
    {"large-v1", 0, GIB_TENTHS(29), "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299", false},
    {"large-v2", 0, GIB_TENTHS(29), "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6", false},
    {"large-v2-q5_0", 0, GIB_TENTHS(11), "00e39f2196344e901b3a2bd5814807a769bd1630", false},
    {"large-v2-q8_0", 0, GIB_TENTHS(15), "da97d6ca8f8ffbeeb5fd147f79010eeea194ba38", false},
    {"large-v3", 0, GIB_TENTHS(29), "ad82bf6a9043ceed055076d0fd39f5f186ff8062", false},
    {"large-v3-q5_0", 0, GIB_TENTHS(11), "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de", false},
    {"large-v3-turbo", 0, GIB_TENTHS(15), "4af2b29d7ec73d781377bfd1758ca957a807e941", false},
    {"large-v3-turbo-q5_0", 0, 547 * MIB, "e050f7970618a659205450ad97eb95a18d69c9ee", false},
    {"large-v3-turbo-q8_0", 0, 834 * MIB, "01bf15bedffe9f39d65c1b6ff9b687ea91f59e0e", false},
};

#define BUILTIN_COUNT (sizeof builtin / sizeof builtin[0])

int models__catalog_new(models_catalog **out)
{
    models_catalog *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return MODELS_ERR_NOMEM;
    c->entries = malloc(BUILTIN_COUNT * sizeof *c->entries);
    if (!c->entries) {
        free(c);
        return MODELS_ERR_NOMEM;
    }
    memcpy(c->entries, builtin, sizeof builtin);
    c->count = c->alloc = BUILTIN_COUNT;
    *out = c;
    return MODELS_OK;
}

const models_catalog *models__builtin(void)
{
    /* A view of the static table; it is never freed or written through. */
    static const models_catalog view = {(models_entry *)builtin, BUILTIN_COUNT, 0, NULL, 0, 0};
    return &view;
}

void models_catalog_free(models_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    free(c->strings);
    free(c->entries);
    free(c);
}

size_t models_catalog_count(const models_catalog *c)
{
    return c ? c->count : 0;
}

const models_entry *models_catalog_at(const models_catalog *c, size_t i)
{
    return c && i < c->count ? &c->entries[i] : NULL;
}

const models_entry *models_find(const models_catalog *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return &c->entries[i];
    return NULL;
}

int models_catalog_load(models_catalog **out, const char *user_file, char *err, size_t errlen)
{
    models_catalog *c = NULL;
    *out = NULL;
    int rc = models__catalog_new(&c);
    if (rc != MODELS_OK)
        return util_errf(err, errlen, rc, "out of memory");
    if (user_file && *user_file) {
        rc = models__catalog_read_file(c, user_file, err, errlen);
        if (rc != MODELS_OK)
            goto cleanup;
    }
    *out = c;
    c = NULL;

cleanup:
    models_catalog_free(c);
    return rc;
}
