/* test_asr_badmodel: model directories whose files all exist but hold
 * garbage. PocketSphinx answers some of these with E_FATAL, which logs and
 * calls exit(); the engine turns that into ASR_ERR_MODEL so that a bad model
 * cannot end a server. The half-built decoder it abandons cannot be freed,
 * so LeakSanitizer is told to ignore memory allocated inside PocketSphinx in
 * this one binary — every other test binary still checks it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/asr.h"

#define REAL_HMM CESAR_PS_MODELDIR "/en-us"
#define REAL_LM CESAR_PS_MODELDIR "/en-us.lm.bin"
#define REAL_DICT CESAR_PS_MODELDIR "/cmudict-en-us.dict"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libsphinxbase.so\nleak:libpocketsphinx.so\n";
}

static const char *const hmm_files[] = {
    "mdef", "means", "variances", "transition_matrices", "sendump", "feat.params", "noisedict"};
#define N_HMM_FILES (sizeof hmm_files / sizeof hmm_files[0])

typedef struct {
    char root[64];
    char dir[128];
    char hmm[160], lm[160], dict[160];
} toy_model;

static const char *hmm_file(const toy_model *m, size_t i)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", m->hmm, hmm_files[i]);
    return path;
}

/* Replaces the link at path (inside the toy directory) with a garbage file. */
static void make_garbage(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* never write through to the real model */
    assert_int_equal(unlink(path), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not a model\n\x01\x02\x03\n", f);
    fclose(f);
}

/* A model directory "toy" of real directories holding one symbolic link per
 * file of the real model; a test swaps some links for garbage. Only links
 * and files inside the temporary directory are ever removed, so the real
 * model cannot be touched. */
static void make_toy(toy_model *m)
{
    snprintf(m->root, sizeof m->root, "/tmp/cesar_badmodel_XXXXXX");
    assert_non_null(mkdtemp(m->root));
    snprintf(m->dir, sizeof m->dir, "%s/toy", m->root);
    snprintf(m->hmm, sizeof m->hmm, "%s/toy", m->dir);
    snprintf(m->lm, sizeof m->lm, "%s/toy.lm.bin", m->dir);
    snprintf(m->dict, sizeof m->dict, "%s/toy.dict", m->dir);
    assert_int_equal(mkdir(m->dir, 0755), 0);
    assert_int_equal(mkdir(m->hmm, 0755), 0);
    for (size_t i = 0; i < N_HMM_FILES; i++) {
        char target[256];
        snprintf(target, sizeof target, "%s/%s", REAL_HMM, hmm_files[i]);
        assert_int_equal(symlink(target, hmm_file(m, i)), 0);
    }
    assert_int_equal(symlink(REAL_LM, m->lm), 0);
    assert_int_equal(symlink(REAL_DICT, m->dict), 0);
}

static void remove_toy(toy_model *m)
{
    for (size_t i = 0; i < N_HMM_FILES; i++)
        unlink(hmm_file(m, i));
    rmdir(m->hmm);
    unlink(m->lm);
    unlink(m->dict);
    rmdir(m->dir);
    rmdir(m->root);
}

static void expect_load_failure(const toy_model *m, const char *fragment)
{
    asr_params p = asr_default_params();
    p.model = m->dir;
    asr_engine *e = (asr_engine *)&p;
    char err[1024] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_MODEL);
    assert_null(e);
    if (!strstr(err, "could not load model") || !strstr(err, fragment))
        fail_msg("unexpected error: %s", err);
}

/* A garbage acoustic model: mdef.c's version check is an E_FATAL. */
static void test_garbage_acoustic_model(void **state)
{
    (void)state;
    toy_model m;
    make_toy(&m);
    for (size_t i = 0; i < N_HMM_FILES; i++)
        make_garbage(hmm_file(&m, i));
    expect_load_failure(&m, "Version error");
    remove_toy(&m);
}

static void test_garbage_language_model(void **state)
{
    (void)state;
    toy_model m;
    make_toy(&m);
    make_garbage(m.lm);
    expect_load_failure(&m, m.dir);
    remove_toy(&m);
}

/* PocketSphinx skips dictionary lines it cannot use (with an error in the
 * log), so a garbage dictionary may even load; either way the process
 * survives and nothing leaks past asr_close. */
static void test_garbage_dictionary(void **state)
{
    (void)state;
    toy_model m;
    make_toy(&m);
    make_garbage(m.dict);
    asr_params p = asr_default_params();
    p.model = m.dir;
    asr_engine *e = NULL;
    char err[1024] = "";
    int rc = asr_open(&e, &p, err, sizeof err);
    assert_true(rc == ASR_OK || rc == ASR_ERR_MODEL);
    assert_true(rc == ASR_OK ? e != NULL : e == NULL);
    asr_close(e);
    remove_toy(&m);
}

/* After all that, the real model still loads: no global state was left
 * half-way (the log forwarder, its fatal trap). */
static void test_real_model_still_loads(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    asr_engine *e = NULL;
    char err[512] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_OK);
    assert_string_equal(asr_language(e), "en");
    asr_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_acoustic_model),
        cmocka_unit_test(test_garbage_language_model),
        cmocka_unit_test(test_garbage_dictionary),
        cmocka_unit_test(test_real_model_still_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
