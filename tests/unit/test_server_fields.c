/* test_server_fields: the job options of a submission — collecting form
 * fields (pieces, duplicates, unknown names, length) and resolving them
 * against the server's defaults and the engines' lists, with messages that
 * name the field, the value and what is allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/fields.h"
#include "server/internal.h"

static server defaults(void)
{
    server s;
    memset(&s, 0, sizeof s);
    s.format = "txt";
    s.diarize = true;
    s.min_speakers = 1;
    s.max_speakers = 8;
    return s;
}

static void add(server__form *f, const char *key, const char *value)
{
    char why[256];
    assert_int_equal(server__form_add(f, key, value, 0, strlen(value), why, sizeof why), 0);
}

/* Resolves f and expects failure on field with every piece of `needles` in
 * the message. */
static void expect_reject(const server *s, const server__form *f, const char *field,
                          const char *needle1, const char *needle2)
{
    server__job_fields out;
    char name[40] = "", why[1024] = "";
    assert_int_not_equal(server__form_resolve(s, f, &out, name, sizeof name, why, sizeof why), 0);
    assert_string_equal(name, field);
    if (!strstr(why, needle1) || (needle2 && !strstr(why, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", why, needle1, needle2 ? needle2 : "");
}

static void defaults_fill_everything(void **state)
{
    (void)state;
    server s = defaults();
    server__form f;
    server__form_init(&f);
    server__job_fields out;
    char name[40], why[256];
    assert_int_equal(server__form_resolve(&s, &f, &out, name, sizeof name, why, sizeof why), 0);
    assert_string_equal(out.engine, "pocketsphinx");
    assert_string_equal(out.model, "en-us");
    assert_string_equal(out.format, "txt");
    assert_null(out.language);
    /* the built-in diarizer is always there: diarize is the server's setting */
    assert_true(server__diarization_available());
    assert_true(out.diarize);
    assert_int_equal(out.min_speakers, 0);
    assert_int_equal(out.max_speakers, 0);
    s.diarize = false;
    assert_int_equal(server__form_resolve(&s, &f, &out, name, sizeof name, why, sizeof why), 0);
    assert_false(out.diarize);
}

static void given_values_are_used(void **state)
{
    (void)state;
    server s = defaults();
    server__form f;
    server__form_init(&f);
    add(&f, "engine", "auto");
    add(&f, "model", "en-us");
    add(&f, "language", "en");
    add(&f, "format", "srt");
    add(&f, "diarize", "YES");
    add(&f, "min_speakers", "2");
    add(&f, "max_speakers", "3");
    server__job_fields out;
    char name[40], why[256];
    assert_int_equal(server__form_resolve(&s, &f, &out, name, sizeof name, why, sizeof why), 0);
    assert_string_equal(out.engine, "pocketsphinx");
    assert_string_equal(out.language, "en");
    assert_string_equal(out.format, "srt");
    assert_true(out.diarize);
    assert_int_equal(out.min_speakers, 2);
    assert_int_equal(out.max_speakers, 3);
}

static void values_arrive_in_pieces(void **state)
{
    (void)state;
    server__form f;
    server__form_init(&f);
    char why[256];
    assert_int_equal(server__form_add(&f, "format", "vt", 0, 2, why, sizeof why), 0);
    assert_int_equal(server__form_add(&f, "format", "t", 2, 1, why, sizeof why), 0);
    assert_string_equal(f.value[SERVER__F_FORMAT], "vtt");
}

static void collecting_refuses_bad_fields(void **state)
{
    (void)state;
    server__form f;
    server__form_init(&f);
    char why[256];
    assert_int_not_equal(server__form_add(&f, "colour", "red", 0, 3, why, sizeof why), 0);
    assert_non_null(strstr(why, "'colour'"));
    assert_non_null(strstr(why, "max_speakers"));
    add(&f, "model", "en-us");
    assert_int_not_equal(server__form_add(&f, "model", "x", 0, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "more than once"));
    char big[1100];
    memset(big, 'a', sizeof big);
    assert_int_not_equal(server__form_add(&f, "language", big, 0, sizeof big, why, sizeof why),
                         0);
    assert_non_null(strstr(why, "longer than 1024"));
}

static void unknown_names_list_the_allowed_ones(void **state)
{
    (void)state;
    server s = defaults();
    server__form f;
    server__form_init(&f);
    add(&f, "model", "large-v3");
    expect_reject(&s, &f, "model", "'large-v3'", "en-us");
    server__form_init(&f);
    add(&f, "engine", "wav2vec");
    expect_reject(&s, &f, "engine", "'wav2vec'", "pocketsphinx");
    server__form_init(&f);
    add(&f, "language", "fr");
    expect_reject(&s, &f, "language", "'fr'", "auto");
    server__form_init(&f);
    add(&f, "format", "TXT");
    expect_reject(&s, &f, "format", "'TXT'", "vtt");
    server__form_init(&f);
    add(&f, "diarize", "maybe");
    expect_reject(&s, &f, "diarize", "'maybe'", "true or false");
}

static void model_paths_are_never_accepted(void **state)
{
    (void)state;
    server s = defaults();
    server__form f;
    server__form_init(&f);
    add(&f, "model", "/usr/share/pocketsphinx/model/en-us");
    expect_reject(&s, &f, "model", "not available", NULL);
    server__form_init(&f);
    add(&f, "model", "../en-us");
    expect_reject(&s, &f, "model", "not available", NULL);
}

static void speaker_counts_are_checked(void **state)
{
    (void)state;
    server s = defaults();
    static const char *const bad[] = {"0", "33", "-1", "2.5", "x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        server__form f;
        server__form_init(&f);
        add(&f, "min_speakers", bad[i]);
        expect_reject(&s, &f, "min_speakers", "1 to 32", NULL);
        server__form_init(&f);
        add(&f, "max_speakers", bad[i]);
        expect_reject(&s, &f, "max_speakers", "1 to 32", NULL);
    }
    server__form f;
    server__form_init(&f);
    add(&f, "min_speakers", "5");
    add(&f, "max_speakers", "2");
    expect_reject(&s, &f, "min_speakers", "(5)", "(2)");
    /* against the server's default maximum (8) when max is not given */
    server__form_init(&f);
    add(&f, "min_speakers", "10");
    expect_reject(&s, &f, "min_speakers", "server default", NULL);
}

/* A models directory holding ggml-test-model.bin (a stub: choosing the
 * engine and checking the model only look for the file). */
typedef struct {
    char dir[64];
    char file[128];
} models_fixture;

static void make_models_dir(models_fixture *m)
{
    snprintf(m->dir, sizeof m->dir, "/tmp/cesar_test_fields_XXXXXX");
    assert_non_null(mkdtemp(m->dir));
    snprintf(m->file, sizeof m->file, "%s/ggml-test-model.bin", m->dir);
    FILE *fp = fopen(m->file, "w");
    assert_non_null(fp);
    fputs("stub\n", fp);
    fclose(fp);
}

static void remove_models_dir(models_fixture *m)
{
    unlink(m->file);
    rmdir(m->dir);
}

static void resolve_ok(const server *s, const server__form *f, server__job_fields *out)
{
    char name[40] = "", why[1024] = "";
    if (server__form_resolve(s, f, out, name, sizeof name, why, sizeof why) != 0)
        fail_msg("rejected %s: %s", name, why);
}

static void whisper_models_must_be_installed(void **state)
{
    (void)state;
    models_fixture m;
    make_models_dir(&m);
    server s = defaults();
    s.models_dir = m.dir;
    server__form f;
    server__form_init(&f);
    add(&f, "engine", "whisper");
    add(&f, "model", "not-installed");
    expect_reject(&s, &f, "model", "'not-installed'", "not installed");
    server__form_init(&f);
    add(&f, "engine", "whisper");
    add(&f, "model", "../ggml-test-model");
    expect_reject(&s, &f, "model", "'../ggml-test-model'", "not a model name");
    server__form_init(&f);
    add(&f, "engine", "whisper");
    add(&f, "model", m.file); /* paths are the server's configuration, not clients' */
    expect_reject(&s, &f, "model", "not a model name", NULL);

    server__form_init(&f);
    add(&f, "engine", "whisper");
    add(&f, "model", "test-model");
    server__job_fields out;
    resolve_ok(&s, &f, &out);
    assert_string_equal(out.engine, "whisper");
    assert_string_equal(out.model, "test-model");

    /* The default model (Whisper's "base", or the server's) must be installed too. */
    server__form_init(&f);
    add(&f, "engine", "whisper");
    expect_reject(&s, &f, "model", "'base'", "not installed");
    s.model = "test-model";
    resolve_ok(&s, &f, &out);
    assert_string_equal(out.model, "test-model");
    s.model = NULL;

    /* Without a models directory nothing is installed. */
    server__form_init(&f);
    add(&f, "engine", "whisper");
    add(&f, "model", "test-model");
    s.models_dir = NULL;
    expect_reject(&s, &f, "model", "'test-model'", "not installed");
    remove_models_dir(&m);
}

/* "auto" is settled at submission: whisper exactly when the model asked for
 * (or the server's, or Whisper's default "base") is installed. */
static void auto_resolves_at_submission(void **state)
{
    (void)state;
    models_fixture m;
    make_models_dir(&m);
    server s = defaults();
    s.models_dir = m.dir;
    server__job_fields out;
    server__form f;
    server__form_init(&f);
    resolve_ok(&s, &f, &out); /* no "base" installed */
    assert_string_equal(out.engine, "pocketsphinx");
    assert_string_equal(out.model, "en-us");

    add(&f, "engine", "auto");
    add(&f, "model", "test-model");
    resolve_ok(&s, &f, &out);
    assert_string_equal(out.engine, "whisper");
    assert_string_equal(out.model, "test-model");

    server__form_init(&f);
    s.engine = "auto";
    s.model = "test-model";
    resolve_ok(&s, &f, &out); /* the server's own model */
    assert_string_equal(out.engine, "whisper");
    assert_string_equal(out.model, "test-model");

    /* an explicit engine is kept whatever is installed */
    add(&f, "engine", "pocketsphinx");
    resolve_ok(&s, &f, &out);
    assert_string_equal(out.engine, "pocketsphinx");
    assert_string_equal(out.model, "en-us");
    remove_models_dir(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_fill_everything),
        cmocka_unit_test(given_values_are_used),
        cmocka_unit_test(values_arrive_in_pieces),
        cmocka_unit_test(collecting_refuses_bad_fields),
        cmocka_unit_test(unknown_names_list_the_allowed_ones),
        cmocka_unit_test(model_paths_are_never_accepted),
        cmocka_unit_test(speaker_counts_are_checked),
        cmocka_unit_test(whisper_models_must_be_installed),
        cmocka_unit_test(auto_resolves_at_submission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
