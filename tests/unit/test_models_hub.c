/* Unit tests for the Hugging Face side of the models module: the token's
 * resolution order (configured value, HF_TOKEN, $HF_HOME/token, the
 * ~/.cache/huggingface default; empty values skipped; whitespace trimmed;
 * unreadable and malformed tokens refused), the URL policy (https only, http
 * on loopback only with allow_insecure), the pyannote paths, status, removal
 * and the pulls that need no server, and — against tests/models/hub.py on
 * loopback — a pull that installs and verifies, and the distinct error codes
 * for 401, 403, a corrupt file and a refused URL. Every message a test
 * produces is checked not to contain the token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "models/internal.h"
#include "models/models.h"
#include "util/util.h"

#include "tmpdir.h"

#define TOKEN "hf_unitTestSecret0123456789"
#define OTHER_TOKEN "hf_otherAccountToken98765"
#define WRONG_TOKEN "hf_revokedTokenAAAAAAAAAA"
#define DEAD_HUB "http://127.0.0.1:9" /* nothing listens: a connection fails fast */
#define READY_TIMEOUT_S 15.0
#define SEG_BYTES 70000
#define EMB_BYTES 150000

typedef struct {
    char root[TMPDIR_ROOT_MAX];
    char home[128], hf_home[128], models[128];
    char err[4096];
} fixture;

/* Fails the test when msg holds any of the tokens the tests use. */
static void assert_no_token(const char *msg)
{
    assert_null(strstr(msg, TOKEN));
    assert_null(strstr(msg, OTHER_TOKEN));
    assert_null(strstr(msg, WRONG_TOKEN));
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (!tmpdir_make(f->root, "models-hub"))
        return -1;
    snprintf(f->home, sizeof f->home, "%s/home", f->root);
    snprintf(f->hf_home, sizeof f->hf_home, "%s/hf", f->root);
    snprintf(f->models, sizeof f->models, "%s/models", f->root);
    if (mkdir(f->home, 0755) != 0 || mkdir(f->hf_home, 0755) != 0)
        return -1;
    setenv("HOME", f->home, 1);
    unsetenv("HF_HOME");
    unsetenv("HF_TOKEN");
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

static void write_file(const char *path, const char *data, size_t len)
{
    char dir[PATH_MAX];
    util_path_dirname(path, dir, sizeof dir);
    assert_int_equal(util_mkdir_p(dir, NULL, 0), UTIL_OK);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* ---- token resolution ------------------------------------------------------ */

static void test_token_order(void **state)
{
    fixture *f = *state;
    models_hf_token t;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/token", f->hf_home);
    write_text(file, "  \n" TOKEN "\r\n\n");
    setenv("HF_HOME", f->hf_home, 1);
    setenv("HF_TOKEN", OTHER_TOKEN, 1);

    /* (1) the configured value wins over everything */
    assert_int_equal(models_hf_token_resolve("hf_configuredValue123", NULL, &t, f->err,
                                             sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_CONFIG);
    assert_string_equal(t.token, "hf_configuredValue123");
    assert_string_equal(t.where, "config file");
    assert_int_equal(models_hf_token_resolve("hf_configuredValue123", "config file /x.toml", &t,
                                             f->err, sizeof f->err), MODELS_OK);
    assert_string_equal(t.where, "config file /x.toml");

    /* (2) empty configured value: HF_TOKEN */
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_ENV);
    assert_string_equal(t.token, OTHER_TOKEN);
    assert_string_equal(t.where, "HF_TOKEN");

    /* (3) empty HF_TOKEN counts as unset: the file, trimmed */
    setenv("HF_TOKEN", "", 1);
    assert_int_equal(models_hf_token_resolve(NULL, NULL, &t, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_FILE);
    assert_string_equal(t.token, TOKEN);
    assert_string_equal(t.where, file);

    /* HF_HOME unset: HOME/.cache/huggingface/token */
    unsetenv("HF_HOME");
    assert_int_equal(models_hf_token_resolve(NULL, NULL, &t, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_NONE);
    assert_string_equal(t.token, "");
    char def[PATH_MAX];
    snprintf(def, sizeof def, "%s/.cache/huggingface/token", f->home);
    assert_string_equal(t.where, def); /* where it looked */
    write_text(def, OTHER_TOKEN "\n");
    assert_int_equal(models_hf_token_resolve(NULL, NULL, &t, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_FILE);
    assert_string_equal(t.token, OTHER_TOKEN);
    assert_string_equal(t.where, def);

    /* a file of only whitespace is no token */
    write_text(def, " \n\t\n");
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_NONE);

    /* nothing at all: neither HOME nor HF_HOME */
    unsetenv("HOME");
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err), MODELS_OK);
    assert_int_equal(t.source, MODELS_TOKEN_NONE);
    assert_string_equal(t.where, "");
    setenv("HOME", f->home, 1);
}

static void test_token_refused(void **state)
{
    fixture *f = *state;
    models_hf_token t;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/token", f->hf_home);
    setenv("HF_HOME", f->hf_home, 1);

    /* a token with a space or a newline inside could forge headers */
    assert_int_equal(models_hf_token_resolve("hf_abc def" TOKEN, NULL, &t, f->err,
                                             sizeof f->err), MODELS_ERR_AUTH);
    assert_non_null(strstr(f->err, "config file"));
    assert_no_token(f->err);
    assert_int_equal(t.source, MODELS_TOKEN_NONE);
    assert_string_equal(t.token, "");
    setenv("HF_TOKEN", TOKEN "\nX-Evil: 1", 1);
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err),
                     MODELS_ERR_AUTH);
    assert_non_null(strstr(f->err, "HF_TOKEN"));
    assert_no_token(f->err);
    unsetenv("HF_TOKEN");

    /* too long */
    char big[MODELS_HF_TOKEN_MAX + 40];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(models_hf_token_resolve(big, NULL, &t, f->err, sizeof f->err),
                     MODELS_ERR_AUTH);
    assert_null(strstr(f->err, "aaaaaaaa"));

    /* a directory where the file should be: an error naming it */
    assert_int_equal(mkdir(file, 0755), 0);
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err),
                     MODELS_ERR_IO);
    assert_non_null(strstr(f->err, file));
    assert_int_equal(rmdir(file), 0);

    /* a file too large to be a token file */
    char *huge = malloc(MODELS_HF_TOKEN_FILE_MAX + 10);
    assert_non_null(huge);
    memset(huge, 'b', MODELS_HF_TOKEN_FILE_MAX + 10);
    write_file(file, huge, MODELS_HF_TOKEN_FILE_MAX + 10);
    free(huge);
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err),
                     MODELS_ERR_IO);
    assert_non_null(strstr(f->err, file));
    assert_null(strstr(f->err, "bbbb"));

    /* a file in it whose token has a space inside: names the file */
    write_text(file, TOKEN " trailing-part\n");
    assert_int_equal(models_hf_token_resolve("", NULL, &t, f->err, sizeof f->err),
                     MODELS_ERR_AUTH);
    assert_non_null(strstr(f->err, file));
    assert_no_token(f->err);
}

/* Permission denied on the token file is an error naming it, not "no
 * token". Root reads anything, so then the check runs as nobody. */
static int unreadable_check(const char *file)
{
    models_hf_token t;
    char err[4096];
    int rc = models_hf_token_resolve("", NULL, &t, err, sizeof err);
    if (rc != MODELS_ERR_IO || !strstr(err, file) || !strstr(err, "Permission denied") ||
        strstr(err, TOKEN) || t.source != MODELS_TOKEN_NONE)
        return 1;
    return 0;
}

static void test_token_unreadable(void **state)
{
    fixture *f = *state;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/token", f->hf_home);
    write_text(file, TOKEN);
    assert_int_equal(chmod(file, 0), 0);
    assert_int_equal(chmod(f->root, 0755), 0);
    setenv("HF_HOME", f->hf_home, 1);
    if (geteuid() != 0) {
        assert_int_equal(unreadable_check(file), 0);
        return;
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        _exit(unreadable_check(file));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_token_help(void **state)
{
    (void)state;
    char help[2048];
    models_hf_token_help(help, sizeof help);
    const char *needles[] = {"https://huggingface.co/settings/tokens",
                             "https://huggingface.co/pyannote/segmentation-3.0",
                             "https://huggingface.co/pyannote/wespeaker-voxceleb-resnet34-LM",
                             "hf_token", "HF_TOKEN", "~/.cache/huggingface/token", "conditions"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        assert_non_null(strstr(help, needles[i]));
    char small[16];
    models_hf_token_help(small, sizeof small); /* truncated, terminated */
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void test_redact(void **state)
{
    (void)state;
    char msg[128];
    snprintf(msg, sizeof msg, "a " TOKEN " b " TOKEN);
    models__redact(msg, sizeof msg, TOKEN);
    assert_string_equal(msg, "a [token] b [token]");
    /* growing near the end of a small buffer stays terminated */
    char tiny[8];
    snprintf(tiny, sizeof tiny, "x abcd");
    models__redact(tiny, sizeof tiny, "abcd");
    assert_string_equal(tiny, "x [toke");
    snprintf(msg, sizeof msg, "ab ab");
    models__redact(msg, sizeof msg, "ab"); /* too short to be a secret */
    assert_string_equal(msg, "ab ab");
}

/* ---- URL policy ----------------------------------------------------------------- */

static void test_url_policy(void **state)
{
    fixture *f = *state;
    struct {
        const char *url;
        bool insecure;
        int rc;
    } cases[] = {
        {"https://huggingface.co", false, MODELS_OK},
        {"HTTPS://hub.example.org:8443/", false, MODELS_OK},
        {"https://huggingface.co", true, MODELS_OK},
        {"http://127.0.0.1:8080", false, MODELS_ERR_INSECURE},
        {"http://127.0.0.1:8080", true, MODELS_OK},
        {"http://127.3.4.5", true, MODELS_OK},
        {"http://localhost:99/", true, MODELS_OK},
        {"http://[::1]:8080", true, MODELS_OK},
        {"http://[::ffff:127.0.0.1]:8080", true, MODELS_OK},
        {"http://huggingface.co", true, MODELS_ERR_INSECURE},
        {"http://10.0.0.1:8080", true, MODELS_ERR_INSECURE},
        {"http://128.0.0.1", true, MODELS_ERR_INSECURE},
        {"http://[::2]:80", true, MODELS_ERR_INSECURE},
        {"http://localhost.evil.org", true, MODELS_ERR_INSECURE},
        {"http://127.0.0.1@evil.org/", true, MODELS_ERR_INSECURE},
        {"http://127.0.0.1.evil.org", true, MODELS_ERR_INSECURE},
        {"ftp://127.0.0.1", true, MODELS_ERR_INSECURE},
        {"huggingface.co", false, MODELS_ERR_INSECURE},
        {"https://", false, MODELS_ERR_INSECURE},
        {"", false, MODELS_ERR_INSECURE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f->err[0] = '\0';
        int rc = models_hub_url_check(cases[i].url, cases[i].insecure, f->err, sizeof f->err);
        if (rc != cases[i].rc)
            fail_msg("%s (insecure %d): got %d, expected %d: %s", cases[i].url,
                     cases[i].insecure, rc, cases[i].rc, f->err);
        if (rc != MODELS_OK && *cases[i].url)
            assert_non_null(strstr(f->err, cases[i].url));
    }
    assert_int_equal(models_hub_url_check("http://127.0.0.1:1", false, f->err, sizeof f->err),
                     MODELS_ERR_INSECURE);
    assert_non_null(strstr(f->err, "hub_allow_insecure"));
    assert_int_equal(models_hub_url_check("http://10.1.1.1", true, f->err, sizeof f->err),
                     MODELS_ERR_INSECURE);
    assert_non_null(strstr(f->err, "hub_allow_insecure"));
}

/* ---- pyannote set without a server ------------------------------------------- */

static void pyannote_file(const fixture *f, int which, char *path, size_t n)
{
    snprintf(path, n, "%s/pyannote/%s/pytorch_model.bin", f->models,
             which == 0 ? "segmentation-3.0" : "wespeaker-voxceleb-resnet34-LM");
}

static void test_pyannote_layout(void **state)
{
    fixture *f = *state;
    char seg[PATH_MAX], emb[PATH_MAX], want[PATH_MAX];
    assert_int_equal(models_pyannote_paths(f->models, seg, sizeof seg, emb, sizeof emb, f->err,
                                           sizeof f->err), MODELS_OK);
    pyannote_file(f, 0, want, sizeof want);
    assert_string_equal(seg, want);
    pyannote_file(f, 1, want, sizeof want);
    assert_string_equal(emb, want);
    char tiny[8];
    assert_int_equal(models_pyannote_paths(f->models, tiny, sizeof tiny, emb, sizeof emb, f->err,
                                           sizeof f->err), MODELS_ERR_IO);

    models_pyannote_status st;
    assert_false(models_pyannote_installed(f->models));
    bool partial = true;
    assert_int_equal(models_pyannote_remove(f->models, &partial, f->err, sizeof f->err),
                     MODELS_ERR_NOT_INSTALLED);
    assert_false(partial);

    write_text(seg, "segmentation");
    char part[PATH_MAX + 32];
    snprintf(part, sizeof part, "%s/pyannote/wespeaker-voxceleb-resnet34-LM/"
             ".pytorch_model.bin.part", f->models);
    write_text(part, "part");
    assert_int_equal(models_pyannote_status_get(f->models, &st, f->err, sizeof f->err),
                     MODELS_OK);
    assert_false(st.installed);
    assert_true(st.files[0].installed);
    assert_int_equal(st.files[0].size, 12);
    assert_string_equal(st.files[0].repo, MODELS_PYANNOTE_SEGMENTATION);
    assert_false(st.files[1].installed);
    assert_int_equal(st.files[1].partial_bytes, 4);
    assert_false(models_pyannote_installed(f->models));

    write_text(emb, ""); /* an empty file is not an installed model */
    assert_false(models_pyannote_installed(f->models));
    write_text(emb, "embedding");
    assert_true(models_pyannote_installed(f->models));

    char stray[PATH_MAX + 16];
    snprintf(stray, sizeof stray, "%s/pyannote/notes.txt", f->models);
    write_text(stray, "mine");
    assert_int_equal(models_pyannote_remove(f->models, &partial, f->err, sizeof f->err),
                     MODELS_OK);
    assert_true(partial);
    assert_int_equal(access(seg, F_OK), -1);
    assert_int_equal(access(part, F_OK), -1);
    assert_int_equal(access(stray, F_OK), 0); /* the user's file and its directory stay */
}

static models_pyannote_params params_for(const fixture *f, const char *hub, const char *token)
{
    models_pyannote_params p = models_pyannote_default_params();
    p.hub_url = hub;
    p.models_dir = f->models;
    p.token = token;
    p.token_where = "HF_TOKEN";
    p.allow_insecure = true;
    p.connect_timeout_ms = 2000;
    return p;
}

static void test_pyannote_pull_offline(void **state)
{
    fixture *f = *state;
    models_pyannote_params d = models_pyannote_default_params();
    assert_string_equal(d.hub_url, "https://huggingface.co");
    assert_true(d.max_attempts >= 1);

    /* nothing installed, no token: refused with the help, nothing created */
    models_pyannote_params p = params_for(f, DEAD_HUB, NULL);
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err),
                     MODELS_ERR_TOKEN_REQUIRED);
    assert_non_null(strstr(f->err, "https://huggingface.co/settings/tokens"));
    assert_int_equal(access(f->models, F_OK), -1);

    /* http to a non-loopback host, even with allow_insecure: refused first */
    p = params_for(f, "http://192.0.2.1", TOKEN);
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err),
                     MODELS_ERR_INSECURE);
    assert_no_token(f->err);
    p = params_for(f, DEAD_HUB, TOKEN);
    p.allow_insecure = false;
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err),
                     MODELS_ERR_INSECURE);
    assert_non_null(strstr(f->err, "hub_allow_insecure"));

    /* a partial file another pull holds: busy, and left alone even empty */
    char seg_part[PATH_MAX + 32];
    snprintf(seg_part, sizeof seg_part, "%s/pyannote/segmentation-3.0/.pytorch_model.bin.part",
             f->models);
    write_text(seg_part, "");
    int fd = open(seg_part, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    p = params_for(f, DEAD_HUB, TOKEN);
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_BUSY);
    assert_non_null(strstr(f->err, "another process"));
    assert_int_equal(access(seg_part, F_OK), 0);
    close(fd);
    assert_int_equal(unlink(seg_part), 0);

    /* a token that cannot go into a header */
    p = params_for(f, DEAD_HUB, TOKEN "\r\nX: y");
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_AUTH);
    assert_non_null(strstr(f->err, "HF_TOKEN"));
    assert_no_token(f->err);

    /* with a token, it gets as far as the (dead) network: no empty part left */
    p = params_for(f, DEAD_HUB, TOKEN);
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_NETWORK);
    assert_non_null(strstr(f->err, DEAD_HUB "/pyannote/segmentation-3.0/resolve/main/"
                                            "pytorch_model.bin"));
    assert_no_token(f->err);
    char part[PATH_MAX + 32];
    snprintf(part, sizeof part, "%s/pyannote/segmentation-3.0/.pytorch_model.bin.part",
             f->models);
    assert_int_equal(access(part, F_OK), -1);

    /* both installed: no token needed and no connection made */
    char path[PATH_MAX];
    pyannote_file(f, 0, path, sizeof path);
    write_text(path, "seg");
    pyannote_file(f, 1, path, sizeof path);
    write_text(path, "embed");
    p = params_for(f, DEAD_HUB, NULL);
    models_pyannote_result r;
    assert_int_equal(models_pyannote_pull(&p, &r, f->err, sizeof f->err), MODELS_OK);
    assert_true(r.files[0].already_installed && r.files[1].already_installed);
    assert_int_equal(r.files[0].bytes, 3);
    assert_int_equal(r.files[1].bytes, 5);
    assert_string_equal(r.files[1].path, path);
    assert_string_equal(r.files[1].repo, MODELS_PYANNOTE_EMBEDDING);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int code = MODELS_ERR_AUTH; code <= MODELS_ERR_TOKEN_REQUIRED; code++)
        assert_string_not_equal(models_strerror(code), "unknown error");
}

/* ---- against the stand-in hub ------------------------------------------------ */

typedef struct {
    fixture *f;
    char hub_root[256], log[256];
    pid_t pid;
    int port;
    char url[64];
    unsigned char seg[SEG_BYTES], emb[EMB_BYTES];
} hub_fixture;

static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
}

/* Starts hub.py with the given extra options (NULL-terminated). */
static int start_hub(hub_fixture *h, const char *const *extra)
{
    char script[PATH_MAX], ready[300];
    snprintf(script, sizeof script, "%s/tests/models/hub.py", CESAR_SOURCE_DIR);
    snprintf(ready, sizeof ready, "%s/ready", h->f->root);
    const char *argv[32] = {"python3", script, "--root", h->hub_root, "--ready", ready, "--log",
                            h->log, "--repo-dirs", "--lfs"};
    int argc = 10;
    for (int i = 0; extra[i] && argc < 31; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    unlink(ready);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv("/usr/bin/python3", (char *const *)argv);
        _exit(127);
    }
    h->pid = pid;
    double deadline = util_now_seconds() + READY_TIMEOUT_S;
    while (util_now_seconds() < deadline) {
        FILE *fp = fopen(ready, "r");
        if (fp) {
            int ok = fscanf(fp, "%d", &h->port) == 1;
            fclose(fp);
            if (ok && h->port > 0) {
                snprintf(h->url, sizeof h->url, "http://127.0.0.1:%d", h->port);
                return 0;
            }
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void stop_hub(hub_fixture *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

static hub_fixture *hub_new(fixture *f)
{
    hub_fixture *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->f = f;
    snprintf(h->hub_root, sizeof h->hub_root, "%s/hub", f->root);
    snprintf(h->log, sizeof h->log, "%s/hub.log", f->root);
    fill(h->seg, sizeof h->seg, 7);
    fill(h->emb, sizeof h->emb, 11);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pyannote/segmentation-3.0/pytorch_model.bin", h->hub_root);
    write_file(path, (const char *)h->seg, sizeof h->seg);
    snprintf(path, sizeof path, "%s/pyannote/wespeaker-voxceleb-resnet34-LM/pytorch_model.bin",
             h->hub_root);
    write_file(path, (const char *)h->emb, sizeof h->emb);
    return h;
}

static void assert_installed_bytes(const fixture *f, int which, const unsigned char *want,
                                   size_t n)
{
    char path[PATH_MAX];
    pyannote_file(f, which, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *got = malloc(n + 1);
    assert_non_null(got);
    assert_int_equal(fread(got, 1, n + 1, fp), n);
    fclose(fp);
    assert_memory_equal(got, want, n);
    free(got);
}

/* Lines of the hub's request log that contain every one of needles
 * (NULL-terminated). */
static int log_count(const hub_fixture *h, const char *const *needles)
{
    FILE *fp = fopen(h->log, "r");
    if (!fp)
        return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        bool all = true;
        for (int i = 0; needles[i]; i++)
            all = all && strstr(line, needles[i]) != NULL;
        n += all;
    }
    fclose(fp);
    return n;
}

static void test_hub_pull(void **state)
{
    fixture *f = *state;
    hub_fixture *h = hub_new(f);
    const char *opts[] = {"--gated", "pyannote/segmentation-3.0=" TOKEN, "--valid-token",
                          OTHER_TOKEN, "--redirect", "--drop-after", "30000", "--echo-token",
                          NULL};
    assert_int_equal(start_hub(h, opts), 0);

    /* a wrong token: 401, told apart from the rest */
    models_pyannote_params p = params_for(f, h->url, WRONG_TOKEN);
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err), MODELS_ERR_AUTH);
    assert_non_null(strstr(f->err, "401"));
    assert_non_null(strstr(f->err, "Invalid credentials in Authorization header"));
    assert_non_null(strstr(f->err, "from HF_TOKEN"));
    assert_non_null(strstr(f->err, "(got [token])")); /* the hub echoed it; we do not */
    assert_no_token(f->err);

    /* a valid token whose account has not accepted the conditions: 403 */
    p = params_for(f, h->url, OTHER_TOKEN);
    assert_int_equal(models_pyannote_pull(&p, NULL, f->err, sizeof f->err),
                     MODELS_ERR_FORBIDDEN);
    assert_non_null(strstr(f->err, "403"));
    assert_non_null(strstr(f->err, "https://huggingface.co/pyannote/segmentation-3.0"));
    assert_non_null(strstr(f->err, "accept the conditions"));
    assert_no_token(f->err);

    /* the right token: the dropped connection is resumed in the same call,
     * the SHA-256 announced by the hub is checked */
    p = params_for(f, h->url, TOKEN);
    models_pyannote_result r;
    assert_int_equal(models_pyannote_pull(&p, &r, f->err, sizeof f->err), MODELS_OK);
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        assert_false(r.files[i].already_installed);
        assert_true(r.files[i].resumed);
        assert_int_equal(strlen(r.files[i].sha256), 64);
    }
    char hex[65];
    util_sha256_hex(h->seg, sizeof h->seg, hex);
    assert_string_equal(r.files[0].sha256, hex);
    assert_int_equal(r.files[0].bytes, SEG_BYTES);
    assert_int_equal(r.files[1].bytes, EMB_BYTES);
    assert_installed_bytes(f, 0, h->seg, sizeof h->seg);
    assert_installed_bytes(f, 1, h->emb, sizeof h->emb);
    assert_true(models_pyannote_installed(f->models));
    /* each file: cut at 30000 bytes, then asked for the rest with a Range */
    const char *resumed[] = {"/cdn/", "\"range\": \"bytes=30000-\"", "\"status\": 206", NULL};
    assert_int_equal(log_count(h, resumed), 2);
    const char *dropped[] = {"/cdn/", "\"range\": null", "\"sent\": 30000", NULL};
    assert_int_equal(log_count(h, dropped), 2);
    const char *refused[] = {"segmentation-3.0/resolve/main", "\"status\": 40", NULL};
    assert_int_equal(log_count(h, refused), 2); /* the 401 and the 403 */
    stop_hub(h);
    free(h);
}

static void test_hub_corrupt(void **state)
{
    fixture *f = *state;
    hub_fixture *h = hub_new(f);
    const char *opts[] = {"--corrupt", "wespeaker", NULL};
    assert_int_equal(start_hub(h, opts), 0);
    models_pyannote_params p = params_for(f, h->url, TOKEN);
    models_pyannote_result r;
    assert_int_equal(models_pyannote_pull(&p, &r, f->err, sizeof f->err), MODELS_ERR_VERIFY);
    char hex[65];
    util_sha256_hex(h->emb, sizeof h->emb, hex);
    assert_non_null(strstr(f->err, hex)); /* the announced digest, and the other one */
    assert_non_null(strstr(f->err, "SHA-256 mismatch"));
    assert_no_token(f->err);
    char path[PATH_MAX], part[PATH_MAX + 32];
    pyannote_file(f, 1, path, sizeof path);
    snprintf(part, sizeof part, "%s/pyannote/wespeaker-voxceleb-resnet34-LM/"
             ".pytorch_model.bin.part", f->models);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(part, F_OK), -1);
    /* the good file before it stays installed */
    assert_installed_bytes(f, 0, h->seg, sizeof h->seg);
    /* a second pull asks only for the missing file, from the start */
    const char *emb_get[] = {"wespeaker", "\"range\": null", NULL};
    const char *seg_get[] = {"segmentation", NULL};
    assert_int_equal(models_pyannote_pull(&p, &r, f->err, sizeof f->err), MODELS_ERR_VERIFY);
    assert_true(r.files[0].already_installed);
    assert_int_equal(log_count(h, emb_get), 2);
    assert_int_equal(log_count(h, seg_get), 1);
    stop_hub(h);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_unreadable, setup, teardown),
        cmocka_unit_test(test_token_help),
        cmocka_unit_test(test_redact),
        cmocka_unit_test_setup_teardown(test_url_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pyannote_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pyannote_pull_offline, setup, teardown),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test_setup_teardown(test_hub_pull, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_corrupt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
