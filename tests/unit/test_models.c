/* Unit tests for the models module (src/models/): the built-in catalog's
 * shape, the user catalog file (overrides, additions, comments, and an
 * error naming file and line for each kind of bad line), names versus
 * paths, "did you mean", listing a directory (installed, partial, stray
 * files, decoys), removing, hashing a file, and the parts of a pull that
 * need no server: unknown and unverifiable names, an installed file that
 * verifies (no connection is made), a damaged installed file that is left
 * alone when the download fails, and a partial file locked by another pull. Each test works in its own mkdtemp
 * directory; downloads over HTTP are covered by
 * tests/integration/test_models_cli.sh against tests/models/hub.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/internal.h"
#include "models/models.h"
#include "util/util.h"

#include "tmpdir.h"

/* A port nothing listens on: a pull that needs the network fails fast. */
#define DEAD_URL "http://127.0.0.1:9/ggerganov/whisper.cpp"
#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"

typedef struct {
    char root[TMPDIR_ROOT_MAX];
    char err[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (!tmpdir_make(f->root, "models"))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tmpdir_remove(f->root);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

static void path_in(const fixture *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->root, name);
}

/* ---- built-in catalog ----------------------------------------------------- */

static void test_builtin_catalog(void **state)
{
    fixture *f = *state;
    models_catalog *c = NULL;
    assert_int_equal(models_catalog_load(&c, NULL, f->err, sizeof f->err), MODELS_OK);
    const char *required[] = {"tiny", "tiny.en", "base", "base.en", "small", "small.en",
                              "small.en-tdrz", "medium", "medium.en", "large-v1", "large-v2",
                              "large-v3", "large-v3-turbo", "tiny-q5_1", "tiny.en-q5_1",
                              "tiny-q8_0", "base-q5_1", "base.en-q5_1", "base-q8_0",
                              "small-q5_1", "small.en-q5_1", "small-q8_0", "medium-q5_0",
                              "medium.en-q5_0", "medium-q8_0", "large-v2-q5_0", "large-v2-q8_0",
                              "large-v3-q5_0", "large-v3-turbo-q5_0", "large-v3-turbo-q8_0"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!models_find(c, required[i]))
            fail_msg("built-in catalog lacks '%s'", required[i]);
    size_t n = models_catalog_count(c);
    assert_true(n >= sizeof required / sizeof required[0]);
    for (size_t i = 0; i < n; i++) {
        const models_entry *e = models_catalog_at(c, i);
        assert_true(models_valid_name(e->name));
        assert_false(e->user);
        /* every built-in entry is verifiable: 40 lower-case hex digits */
        assert_int_equal(strlen(e->sha1), 40);
        for (const char *p = e->sha1; *p; p++)
            assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
        assert_true(e->approx_bytes > 10LL * 1024 * 1024);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(e->name, models_catalog_at(c, j)->name);
    }
    assert_string_equal(models_catalog_at(c, 0)->name, "tiny");
    assert_string_equal(models_find(c, "base.en")->sha1,
                        "137c40403d78fd54d454da0f9bd998f78703390c");
    assert_string_equal(models_find(c, "large-v3-turbo")->sha1,
                        "4af2b29d7ec73d781377bfd1758ca957a807e941");
    assert_int_equal(models_find(c, "base.en")->approx_bytes, 142LL * 1024 * 1024);
    assert_null(models_find(c, "base.EN"));
    assert_null(models_find(c, "ggml-base.en"));
    assert_null(models_catalog_at(c, n));
    models_catalog_free(c);
    models_catalog_free(NULL);
}

/* ---- user catalog ------------------------------------------------------------ */

static void test_user_catalog(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX];
    path_in(f, "catalog.txt", path, sizeof path);
    write_file(path, "# my models\n"
                     "\n"
                     "my-finetune 1234 0123456789ABCDEF0123456789abcdef01234567  # mirror\n"
                     "   base.en\t- -\n"
                     "no-size - " ABC_SHA1 "\r\n"
                     "last 99 -");
    models_catalog *c = NULL;
    assert_int_equal(models_catalog_load(&c, path, f->err, sizeof f->err), MODELS_OK);
    size_t builtin = 0;
    models_catalog *plain = NULL;
    assert_int_equal(models_catalog_load(&plain, "", f->err, sizeof f->err), MODELS_OK);
    builtin = models_catalog_count(plain);
    models_catalog_free(plain);
    /* base.en replaced in place; three new names appended in file order */
    assert_int_equal(models_catalog_count(c), builtin + 3);
    const models_entry *e = models_find(c, "my-finetune");
    assert_non_null(e);
    assert_true(e->user);
    assert_int_equal(e->size, 1234);
    assert_string_equal(e->sha1, "0123456789abcdef0123456789abcdef01234567"); /* lower-cased */
    e = models_find(c, "base.en");
    assert_true(e->user);
    assert_int_equal(e->size, 0);
    assert_string_equal(e->sha1, "");
    assert_string_equal(models_catalog_at(c, 9)->name, "base.en"); /* kept its place */
    assert_string_equal(models_catalog_at(c, builtin)->name, "my-finetune");
    assert_string_equal(models_catalog_at(c, builtin + 1)->name, "no-size");
    assert_string_equal(models_catalog_at(c, builtin + 2)->name, "last");
    assert_int_equal(models_find(c, "last")->size, 99);
    models_catalog_free(c);
}

static void expect_bad_catalog(fixture *f, const char *text, const char *want1, const char *want2)
{
    char path[PATH_MAX];
    path_in(f, "bad.txt", path, sizeof path);
    write_file(path, text);
    models_catalog *c = (models_catalog *)1;
    assert_int_equal(models_catalog_load(&c, path, f->err, sizeof f->err), MODELS_ERR_CATALOG);
    assert_null(c);
    if (!strstr(f->err, want1) || !strstr(f->err, want2))
        fail_msg("message '%s' lacks '%s' or '%s'", f->err, want1, want2);
    assert_non_null(strstr(f->err, path));
}

static void test_user_catalog_errors(void **state)
{
    fixture *f = *state;
    expect_bad_catalog(f, "ok 1 -\nbad 12\n", "bad.txt:2:", "expected 3 fields");
    expect_bad_catalog(f, "a 1 - extra\n", ":1:", "got 4");
    expect_bad_catalog(f, "# c\nx 12 notahash\n", ":2:", "'notahash'");
    expect_bad_catalog(f, "x 12 0123456789abcdef0123456789abcdef0123456g\n", ":1:", "40 hex");
    expect_bad_catalog(f, "x twelve -\n", ":1:", "size 'twelve'");
    expect_bad_catalog(f, "x 0 -\n", ":1:", "size '0'");
    expect_bad_catalog(f, "x -5 -\n", ":1:", "size '-5'");
    expect_bad_catalog(f, "../evil 1 -\n", ":1:", "'../evil'");
    expect_bad_catalog(f, "a/b 1 -\n", ":1:", "'a/b'");

    char path[PATH_MAX];
    path_in(f, "no-such-file", path, sizeof path);
    models_catalog *c = NULL;
    assert_int_equal(models_catalog_load(&c, path, f->err, sizeof f->err), MODELS_ERR_CATALOG);
    assert_non_null(strstr(f->err, "no-such-file"));
    assert_non_null(strstr(f->err, "No such file"));
    assert_null(c);
}

static void test_catalog_parse_bounds(void **state)
{
    fixture *f = *state;
    models_catalog *c = NULL;
    assert_int_equal(models__catalog_new(&c), MODELS_OK);
    /* not NUL-terminated: the length is what counts */
    const char text[] = {'z', ' ', '7', ' ', '-', '\n', 'y'};
    assert_int_equal(models__catalog_parse(c, text, 5, "mem", f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(models_find(c, "z")->size, 7);
    assert_null(models_find(c, "y"));
    char longline[2000];
    memset(longline, 'a', sizeof longline);
    assert_int_equal(models__catalog_parse(c, longline, sizeof longline, "mem", f->err,
                                           sizeof f->err), MODELS_ERR_CATALOG);
    assert_non_null(strstr(f->err, "mem:1: line longer"));
    const char nul[] = "a 1 -\0\n";
    assert_int_equal(models__catalog_parse(c, nul, sizeof nul - 1, "mem", f->err, sizeof f->err),
                     MODELS_ERR_CATALOG);
    models_catalog_free(c);
}

/* ---- names and paths ------------------------------------------------------------ */

static void test_names_and_paths(void **state)
{
    fixture *f = *state;
    assert_false(models_is_path("base.en"));
    assert_false(models_is_path("large-v3-turbo-q5_0"));
    assert_true(models_is_path("ggml-base.en.bin"));
    assert_true(models_is_path("./base.en"));
    assert_true(models_is_path("/models/x"));
    assert_false(models_is_path(NULL));

    assert_true(models_valid_name("small.en-tdrz"));
    assert_false(models_valid_name(""));
    assert_false(models_valid_name(".hidden"));
    assert_false(models_valid_name("-flag"));
    assert_false(models_valid_name("a b"));
    assert_false(models_valid_name("a/b"));
    char longname[MODELS_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(models_valid_name(longname));
    longname[MODELS_NAME_MAX] = '\0';
    assert_true(models_valid_name(longname));

    char path[64];
    assert_int_equal(models_resolve("/m", "base.en", path, sizeof path, f->err, sizeof f->err),
                     MODELS_OK);
    assert_string_equal(path, "/m/ggml-base.en.bin");
    assert_int_equal(models_resolve("/m", "../x.bin", path, sizeof path, f->err, sizeof f->err),
                     MODELS_OK);
    assert_string_equal(path, "../x.bin");
    assert_int_equal(models_resolve("/m", "a b", path, sizeof path, f->err, sizeof f->err),
                     MODELS_ERR_NAME);
    assert_non_null(strstr(f->err, "'a b'"));
    assert_string_equal(path, "");
    assert_int_equal(models_resolve("/m", "", path, sizeof path, f->err, sizeof f->err),
                     MODELS_ERR_NAME);
    char tiny[12];
    assert_int_equal(models_resolve("/models", "base.en", tiny, sizeof tiny, f->err,
                                    sizeof f->err), MODELS_ERR_IO);
    assert_string_equal(tiny, "");
    assert_int_equal(models_part_path("/m", "base.en", path, sizeof path, f->err, sizeof f->err),
                     MODELS_OK);
    assert_string_equal(path, "/m/.ggml-base.en.bin.part");

    models_dir_default("/custom", "/data", path, sizeof path);
    assert_string_equal(path, "/custom");
    models_dir_default("", "/data/cesar", path, sizeof path);
    assert_string_equal(path, "/data/cesar/models");
    models_dir_default(NULL, "/d", path, sizeof path);
    assert_string_equal(path, "/d/models");
}

static void test_locate(void **state)
{
    fixture *f = *state;
    char model[PATH_MAX], path[PATH_MAX];
    path_in(f, "ggml-tiny.bin", model, sizeof model);
    write_file(model, "x");
    assert_int_equal(models_locate(f->root, "tiny", path, sizeof path, f->err, sizeof f->err),
                     MODELS_OK);
    assert_string_equal(path, model);
    assert_int_equal(models_locate(f->root, model, path, sizeof path, f->err, sizeof f->err),
                     MODELS_OK);
    assert_int_equal(models_locate(f->root, "base", path, sizeof path, f->err, sizeof f->err),
                     MODELS_ERR_NOT_INSTALLED);
    assert_non_null(strstr(f->err, "'base' is not installed"));
    assert_non_null(strstr(f->err, "cesar models pull base"));
    assert_int_equal(models_locate(f->root, "./nope.bin", path, sizeof path, f->err,
                                   sizeof f->err), MODELS_ERR_NOT_INSTALLED);
    assert_non_null(strstr(f->err, "'./nope.bin': No such file"));
    path_in(f, "ggml-dir.bin", model, sizeof model);
    assert_int_equal(mkdir(model, 0755), 0);
    assert_int_equal(models_locate(f->root, "dir", path, sizeof path, f->err, sizeof f->err),
                     MODELS_ERR_NOT_INSTALLED);
    assert_int_equal(models_locate(f->root, "a b", path, sizeof path, f->err, sizeof f->err),
                     MODELS_ERR_NAME);
}

static void test_suggest(void **state)
{
    fixture *f = *state;
    models_catalog *c = NULL;
    assert_int_equal(models_catalog_load(&c, NULL, f->err, sizeof f->err), MODELS_OK);
    assert_string_equal(models_suggest(c, "bsae.en"), "base.en");
    assert_string_equal(models_suggest(c, "base-en"), "base.en");
    assert_string_equal(models_suggest(c, "tiny.em"), "tiny.en");
    assert_string_equal(models_suggest(c, "large-v3-trbo"), "large-v3-turbo");
    assert_string_equal(models_suggest(c, "medium.en-q5"), "medium.en-q5_0");
    assert_null(models_suggest(c, "whisper-xxl-9000"));
    assert_null(models_suggest(c, ""));
    assert_null(models_suggest(NULL, "base"));
    models_catalog_free(c);
}

/* ---- listing and removing -------------------------------------------------------- */

static const models_item *item_named(const models_item *items, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].name, name) == 0)
            return &items[i];
    return NULL;
}

static void test_list(void **state)
{
    fixture *f = *state;
    char p[PATH_MAX];
    path_in(f, "ggml-base.en.bin", p, sizeof p);
    write_file(p, "12345");
    path_in(f, ".ggml-tiny.bin.part", p, sizeof p);
    write_file(p, "abc");
    path_in(f, "ggml-zz-custom.bin", p, sizeof p);
    write_file(p, "zz");
    path_in(f, "ggml-aa-custom.bin", p, sizeof p);
    write_file(p, "a");
    path_in(f, "ggml-adir.bin", p, sizeof p); /* a directory is not a model */
    assert_int_equal(mkdir(p, 0755), 0);
    path_in(f, "notes.txt", p, sizeof p);
    write_file(p, "x");
    path_in(f, "ggml-.bin", p, sizeof p);
    write_file(p, "x");

    models_catalog *c = NULL;
    assert_int_equal(models_catalog_load(&c, NULL, f->err, sizeof f->err), MODELS_OK);
    models_item *items = NULL;
    size_t n = 0;
    assert_int_equal(models_list(c, f->root, &items, &n, f->err, sizeof f->err), MODELS_OK);
    size_t builtin = models_catalog_count(c);
    assert_int_equal(n, builtin + 2);
    assert_string_equal(items[0].name, "tiny");
    assert_false(items[0].installed);
    assert_int_equal(items[0].partial_bytes, 3);
    assert_int_equal(items[0].size, 75LL * 1024 * 1024);
    const models_item *it = item_named(items, n, "base.en");
    assert_true(it->installed);
    assert_int_equal(it->size, 5);
    assert_ptr_equal(it->entry, models_find(c, "base.en"));
    snprintf(p, sizeof p, "%s/ggml-base.en.bin", f->root);
    assert_string_equal(it->path, p);
    /* strays after the catalog, sorted */
    assert_string_equal(items[builtin].name, "aa-custom");
    assert_string_equal(items[builtin + 1].name, "zz-custom");
    assert_null(items[builtin].entry);
    assert_true(items[builtin + 1].installed);
    assert_int_equal(items[builtin + 1].size, 2);
    assert_null(item_named(items, n, "adir"));
    free(items);

    /* a missing directory lists the catalog, nothing installed */
    path_in(f, "nowhere", p, sizeof p);
    assert_int_equal(models_list(c, p, &items, &n, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(n, builtin);
    for (size_t i = 0; i < n; i++)
        assert_false(items[i].installed);
    free(items);
    models_catalog_free(c);
}

static void test_remove(void **state)
{
    fixture *f = *state;
    char model[PATH_MAX], part[PATH_MAX];
    path_in(f, "ggml-base.bin", model, sizeof model);
    path_in(f, ".ggml-base.bin.part", part, sizeof part);
    write_file(model, "m");
    write_file(part, "p");
    bool partial = false;
    assert_int_equal(models_remove(f->root, "base", &partial, f->err, sizeof f->err), MODELS_OK);
    assert_true(partial);
    assert_int_equal(access(model, F_OK), -1);
    assert_int_equal(access(part, F_OK), -1);

    assert_int_equal(models_remove(f->root, "base", &partial, f->err, sizeof f->err),
                     MODELS_ERR_NOT_INSTALLED);
    assert_non_null(strstr(f->err, "'base' is not installed"));
    assert_non_null(strstr(f->err, model));

    write_file(part, "p"); /* only a partial download: removed, and that is success */
    assert_int_equal(models_remove(f->root, "base", &partial, f->err, sizeof f->err), MODELS_OK);
    assert_true(partial);
    assert_int_equal(models_remove(f->root, "/etc/passwd", NULL, f->err, sizeof f->err),
                     MODELS_ERR_NAME);
    assert_int_equal(access("/etc/passwd", F_OK), 0);
}

static void test_file_sha1(void **state)
{
    fixture *f = *state;
    char p[PATH_MAX], hex[41];
    path_in(f, "abc", p, sizeof p);
    write_file(p, "abc");
    assert_int_equal(models_file_sha1(p, hex, NULL, NULL, NULL, f->err, sizeof f->err), MODELS_OK);
    assert_string_equal(hex, ABC_SHA1);
    atomic_int cancel = 1;
    assert_int_equal(models_file_sha1(p, hex, NULL, NULL, &cancel, f->err, sizeof f->err),
                     MODELS_ERR_CANCELLED);
    path_in(f, "absent", p, sizeof p);
    assert_int_equal(models_file_sha1(p, hex, NULL, NULL, NULL, f->err, sizeof f->err),
                     MODELS_ERR_IO);
    assert_non_null(strstr(f->err, "absent"));
}

/* ---- pull without a server ---------------------------------------------------------- */

static models_catalog *catalog_with(fixture *f, const char *text)
{
    char path[PATH_MAX];
    path_in(f, "user-catalog.txt", path, sizeof path);
    write_file(path, text);
    models_catalog *c = NULL;
    assert_int_equal(models_catalog_load(&c, path, f->err, sizeof f->err), MODELS_OK);
    return c;
}

static void test_pull_refusals(void **state)
{
    fixture *f = *state;
    models_catalog *c = catalog_with(f, "nohash 3 -\n");
    char dir[PATH_MAX];
    path_in(f, "models", dir, sizeof dir);
    models_pull_params p = models_pull_default_params();
    assert_string_equal(p.base_url, "https://huggingface.co/ggerganov/whisper.cpp");
    p.base_url = DEAD_URL;
    p.models_dir = dir;
    p.catalog = c;
    p.name = "not-a-model";
    assert_int_equal(models_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_NAME);
    assert_non_null(strstr(f->err, "'not-a-model'"));
    p.name = "../x";
    assert_int_equal(models_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_NAME);
    p.name = "nohash";
    assert_int_equal(models_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_UNVERIFIABLE);
    assert_non_null(strstr(f->err, "--no-verify"));
    /* nothing was created for a refused pull */
    assert_int_equal(access(dir, F_OK), -1);

    /* with verification off it gets as far as the (dead) network */
    p.no_verify = true;
    p.connect_timeout_ms = 2000;
    assert_int_equal(models_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_NETWORK);
    assert_non_null(strstr(f->err, DEAD_URL "/resolve/main/ggml-nohash.bin"));
    /* the directory was made, and no empty partial file left in it */
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    char part[PATH_MAX + 32];
    snprintf(part, sizeof part, "%s/.ggml-nohash.bin.part", dir);
    assert_int_equal(access(part, F_OK), -1);
    models_catalog_free(c);
}

static void test_pull_already_installed(void **state)
{
    fixture *f = *state;
    models_catalog *c = catalog_with(f, "abc 3 " ABC_SHA1 "\nabc-unsized - " ABC_SHA1 "\n");
    char model[PATH_MAX];
    path_in(f, "ggml-abc.bin", model, sizeof model);
    write_file(model, "abc");
    models_pull_params p = models_pull_default_params();
    p.base_url = DEAD_URL; /* any connection attempt would fail the pull */
    p.models_dir = f->root;
    p.catalog = c;
    p.name = "abc";
    models_pull_result r;
    assert_int_equal(models_pull(&p, &r, f->err, sizeof f->err), MODELS_OK);
    assert_true(r.already_installed);
    assert_int_equal(r.bytes, 3);
    assert_string_equal(r.sha1, ABC_SHA1);
    assert_string_equal(r.path, model);

    /* damaged (right size, wrong bytes): a download is attempted, fails, and
     * the installed file is left as it was */
    write_file(model, "abd");
    p.connect_timeout_ms = 2000;
    assert_int_equal(models_pull(&p, &r, f->err, sizeof f->err), MODELS_ERR_NETWORK);
    assert_false(r.already_installed);
    char hex[41];
    assert_int_equal(models_file_sha1(model, hex, NULL, NULL, NULL, f->err, sizeof f->err),
                     MODELS_OK);
    assert_string_not_equal(hex, ABC_SHA1);
    models_catalog_free(c);
}

/* Two pulls of one model must not write the same partial file: the second
 * finds it locked and says so, touching nothing. */
static void test_pull_busy(void **state)
{
    fixture *f = *state;
    models_catalog *c = catalog_with(f, "abc 3 " ABC_SHA1 "\n");
    char part[PATH_MAX];
    path_in(f, ".ggml-abc.bin.part", part, sizeof part);
    write_file(part, "ab");
    int fd = open(part, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    models_pull_params p = models_pull_default_params();
    p.base_url = DEAD_URL;
    p.models_dir = f->root;
    p.catalog = c;
    p.name = "abc";
    assert_int_equal(models_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_BUSY);
    assert_non_null(strstr(f->err, "another process"));
    struct stat st;
    assert_int_equal(stat(part, &st), 0);
    assert_int_equal(st.st_size, 2);
    close(fd);
    models_catalog_free(c);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int code = MODELS_OK; code <= MODELS_ERR_NOMEM; code++)
        assert_string_not_equal(models_strerror(code), "unknown error");
    assert_string_equal(models_strerror(-1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtin_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_catalog_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_parse_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suggest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sha1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_already_installed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_busy, setup, teardown),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
