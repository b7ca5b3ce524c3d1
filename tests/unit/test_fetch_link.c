/* Unit tests for fetch's link handling: fetch_classify on a table of the
 * YouTube, direct and malformed links people paste, the URL splitter's
 * parts, and the normalisation behind fetch_cache_key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"
#include "fetch/internal_yt.h"

enum { YT = 1, HTTP = 2, BAD = 3 };

typedef struct {
    const char *url;
    int expect;      /* YT, HTTP or BAD */
    const char *id;  /* YT: the id */
    const char *msg; /* BAD: a substring of the message */
} link_case;

#define PLAYLIST "is a playlist, not a video; paste the link of one video"
#define BAD_ID "is not a YouTube video id"

static const link_case cases[] = {
    /* YouTube videos, every usual form */
    {"https://www.youtube.com/watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"http://youtube.com/watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://m.youtube.com/watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://music.youtube.com/watch?v=dQw4w9WgXcQ&feature=share", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/watch?feature=youtu.be&v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/watch?v=a-B_c1D2e3F&list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG&index=3",
     YT, "a-B_c1D2e3F", NULL},
    {"https://www.youtube.com/watch?list=PL123&index=2&v=a-B_c1D2e3F", YT, "a-B_c1D2e3F", NULL},
    {"HTTPS://WWW.YouTube.COM/watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/watch?app=desktop&v=AbCdEfGhIjK&t=1m2s", YT, "AbCdEfGhIjK", NULL},
    {"https://youtu.be/dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://youtu.be/dQw4w9WgXcQ?t=42", YT, "dQw4w9WgXcQ", NULL},
    {"https://YOUTU.BE/dQw4w9WgXcQ?si=Xy_z&list=PL1", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/shorts/_-zZ09aAbB1", YT, "_-zZ09aAbB1", NULL},
    {"https://youtube.com/shorts/_-zZ09aAbB1?feature=share", YT, "_-zZ09aAbB1", NULL},
    {"https://www.youtube.com/shorts/dQw4w9WgXcQ/", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/embed/dQw4w9WgXcQ?start=10", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/v/dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/live/dQw4w9WgXcQ?feature=share", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com/watch?v=dQw4w9WgXcQ#t=30", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com:443/watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://www.youtube.com./watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},
    {"https://m.youtube.com/watch/?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", NULL},

    /* YouTube links that are not one video */
    {"https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG", BAD, NULL,
     PLAYLIST},
    {"https://music.youtube.com/playlist?list=OLAK5uy_abc", BAD, NULL, PLAYLIST},
    {"https://www.youtube.com/watch?list=PL123", BAD, NULL, PLAYLIST},
    {"https://www.youtube.com/embed/videoseries?list=PL123", BAD, NULL, PLAYLIST},
    {"https://www.youtube.com/watch?v=dQw4w9WgXc", BAD, NULL, BAD_ID},
    {"https://www.youtube.com/watch?v=dQw4w9WgXcQQ", BAD, NULL, BAD_ID},
    {"https://www.youtube.com/watch?v=dQw4w9W%67XcQ", BAD, NULL, BAD_ID},
    {"https://youtu.be/dQw4w9WgX.Q", BAD, NULL, BAD_ID},
    {"https://youtu.be/", BAD, NULL, "has no video id"},
    {"https://youtu.be", BAD, NULL, "has no video id"},
    {"https://www.youtube.com/watch", BAD, NULL, "no v= parameter"},
    {"https://www.youtube.com/watch?v=", BAD, NULL, "has no video id"},
    {"https://www.youtube.com/shorts/", BAD, NULL, "has no video id"},
    {"https://www.youtube.com/@SomeChannel", BAD, NULL, "a YouTube page, not a video"},
    {"https://www.youtube.com/", BAD, NULL, "a YouTube page, not a video"},
    {"https://www.youtube.com/results?search_query=cats", BAD, NULL, "a YouTube page"},
    {"https://www.youtube-nocookie.com/watch?v=dQw4w9WgXcQ", BAD, NULL, "not a video embed"},

    /* direct links */
    {"https://example.com/audio.mp3", HTTP, NULL, NULL},
    {"http://example.com", HTTP, NULL, NULL},
    {"https://cdn.example.org:8443/a/b.wav?sig=abc&exp=1#frag", HTTP, NULL, NULL},
    {"http://[2001:db8::1]:8080/x.ogg", HTTP, NULL, NULL},
    {"https://img.youtube.com/vi/dQw4w9WgXcQ/0.jpg", HTTP, NULL, NULL},
    {"https://notyoutube.com/watch?v=dQw4w9WgXcQ", HTTP, NULL, NULL},
    {"https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", HTTP, NULL, NULL},
    {"http://127.0.0.1:8000/tone.wav", HTTP, NULL, NULL},
    {"https://xn--mnchen-3ya.de/a.mp3", HTTP, NULL, NULL},
    {"https://example.com/a%20b.mp3", HTTP, NULL, NULL},
    {"http://example.com:/a", HTTP, NULL, NULL},
    {"https://m\xc3\xbcnchen.de/a.mp3", HTTP, NULL, NULL},

    /* not links we take */
    {"", BAD, NULL, "empty"},
    {"example.com/a.mp3", BAD, NULL, "has no scheme"},
    {"www.youtube.com/watch?v=dQw4w9WgXcQ", BAD, NULL, "has no scheme"},
    {"youtube.com:443/watch?v=dQw4w9WgXcQ", BAD, NULL, "has no scheme"},
    {"localhost:8080/a.wav", BAD, NULL, "has no scheme"},
    {"/tmp/a.wav", BAD, NULL, "has no scheme"},
    {"ftp://example.com/a.mp3", BAD, NULL, "'ftp:' links are not supported"},
    {"file:///etc/passwd", BAD, NULL, "'file:' links are not supported"},
    {"javascript:alert(1)", BAD, NULL, "'javascript:' links are not supported"},
    {"https://exa mple.com/a.mp3", BAD, NULL, "a space at position 12"},
    {" https://example.com/a.mp3", BAD, NULL, "a space at position 1"},
    {"https://example.com/a.mp3\n", BAD, NULL, "a tab or line break"},
    {"https://example.com/\x01", BAD, NULL, "a control character"},
    {"http:///a.mp3", BAD, NULL, "no host name"},
    {"https://", BAD, NULL, "no host name"},
    {"https://:8080/a", BAD, NULL, "no host name"},
    {"http:example.com", BAD, NULL, "must be followed by '//'"},
    {"http://user:pw@example.com/a", BAD, NULL, "user name or password"},
    {"https://www.youtube.com@evil.example/watch?v=dQw4w9WgXcQ", BAD, NULL,
     "user name or password"},
    {"http://example.com:99999/", BAD, NULL, "port '99999'"},
    {"http://example.com:0/", BAD, NULL, "port '0'"},
    {"http://example.com:80a/", BAD, NULL, "port '80a'"},
    {"http://exa<mple.com/", BAD, NULL, "contains '<'"},
    {"http://[::1/", BAD, NULL, "no closing ']'"},
    {"http://[::1]x/", BAD, NULL, "after the IPv6 address"},
    {"http://[fe80::1%25eth0]/", BAD, NULL, "IPv6 address in the link contains '%'"},
};

static void test_classify_table(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof cases[0];
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        const link_case *c = &cases[i];
        fetch_link_kind kind = (fetch_link_kind)99;
        char id[FETCH_VIDEO_ID_MAX];
        char err[256] = "";
        memset(id, 'x', sizeof id);
        int rc = fetch_classify(c->url, &kind, id, err, sizeof err);
        if (c->expect == BAD) {
            if (rc != FETCH_ERR_INVALID_URL || !strstr(err, c->msg))
                fail_msg("case %zu '%s': rc %d, message '%s', expected '%s'", i, c->url, rc, err,
                         c->msg);
            assert_string_equal(id, ""); /* out-parameters are always assigned */
            continue;
        }
        if (rc != FETCH_OK)
            fail_msg("case %zu '%s': rc %d (%s)", i, c->url, rc, err);
        if (c->expect == YT) {
            assert_int_equal(kind, FETCH_LINK_YOUTUBE);
            assert_string_equal(id, c->id);
        } else {
            if (kind != FETCH_LINK_HTTP)
                fail_msg("case %zu '%s': expected a direct link", i, c->url);
            assert_string_equal(id, "");
        }
    }
}

static void test_classify_limits_and_nulls(void **state)
{
    (void)state;
    char err[256];
    fetch_link_kind kind;
    char id[FETCH_VIDEO_ID_MAX];
    /* exactly 8 KiB passes, one byte more does not */
    size_t max = FETCH__URL_MAX;
    char *url = malloc(max + 2);
    assert_non_null(url);
    strcpy(url, "https://example.com/");
    size_t len = strlen(url);
    memset(url + len, 'a', max - len);
    url[max] = '\0';
    assert_int_equal(fetch_classify(url, &kind, id, err, sizeof err), FETCH_OK);
    assert_int_equal(kind, FETCH_LINK_HTTP);
    url[max] = 'a';
    url[max + 1] = '\0';
    assert_int_equal(fetch_classify(url, &kind, id, err, sizeof err), FETCH_ERR_INVALID_URL);
    assert_non_null(strstr(err, "longer than 8192"));
    free(url);
    /* NULL url, NULL outputs and no message buffer are all fine */
    assert_int_equal(fetch_classify(NULL, &kind, id, err, sizeof err), FETCH_ERR_INVALID_URL);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(fetch_classify("https://youtu.be/dQw4w9WgXcQ", NULL, NULL, NULL, 0), FETCH_OK);
    assert_int_equal(fetch_classify("ftp://x", NULL, NULL, NULL, 0), FETCH_ERR_INVALID_URL);
    /* a tiny message buffer is truncated, still terminated */
    char small[8];
    assert_int_equal(fetch_classify("ftp://x", &kind, id, small, sizeof small),
                     FETCH_ERR_INVALID_URL);
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void test_url_parts(void **state)
{
    (void)state;
    fetch__url u;
    char err[256];
    const char *s = "HTTPS://Host.Example:8443/p/a%20th?q=1&r=2#frag";
    assert_int_equal(fetch__url_parse(s, &u, err, sizeof err), FETCH_OK);
    assert_true(u.https);
    assert_int_equal(u.host_len, strlen("Host.Example"));
    assert_memory_equal(u.host, "Host.Example", u.host_len);
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.path_len, strlen("/p/a%20th"));
    assert_memory_equal(u.path, "/p/a%20th", u.path_len);
    assert_non_null(u.query);
    assert_int_equal(u.query_len, strlen("q=1&r=2"));
    assert_memory_equal(u.query, "q=1&r=2", u.query_len);

    assert_int_equal(fetch__url_parse("http://h?x", &u, err, sizeof err), FETCH_OK);
    assert_false(u.https);
    assert_int_equal(u.port, -1);
    assert_int_equal(u.path_len, 0);
    assert_memory_equal(u.query, "x", 1);

    assert_int_equal(fetch__url_parse("http://h#only-fragment", &u, err, sizeof err), FETCH_OK);
    assert_null(u.query);
    assert_int_equal(u.path_len, 0);

    assert_int_equal(fetch__url_parse("http://[::FFFF:1.2.3.4]:81/", &u, err, sizeof err),
                     FETCH_OK);
    assert_true(u.host_ipv6);
    assert_memory_equal(u.host, "::FFFF:1.2.3.4", u.host_len);
    assert_int_equal(u.port, 81);
}

typedef struct {
    const char *url;
    const char *key; /* NULL: refused */
} key_case;

static void test_cache_keys(void **state)
{
    (void)state;
    static const key_case keys[] = {
        {"HTTP://Example.COM:80/a?b#c", "url:http://example.com/a?b"},
        {"https://Example.com:443/Path/File.MP3", "url:https://example.com/Path/File.MP3"},
        {"https://example.com:8443/x", "url:https://example.com:8443/x"},
        {"http://example.com:443/x", "url:http://example.com:443/x"},
        {"https://example.com:80/x", "url:https://example.com:80/x"},
        {"http://example.com:0080/a", "url:http://example.com/a"},
        {"http://example.com:/a", "url:http://example.com/a"},
        {"https://example.com", "url:https://example.com/"},
        {"http://example.com?q=1", "url:http://example.com/?q=1"},
        {"http://example.com/a?", "url:http://example.com/a?"},
        {"http://example.com/A%2fb?X=Y&y=z#Top", "url:http://example.com/A%2fb?X=Y&y=z"},
        {"http://[2001:DB8::1]:80/a", "url:http://[2001:db8::1]/a"},
        {"http://[2001:db8::1]:8080/a", "url:http://[2001:db8::1]:8080/a"},
        {"https://M\xc3\x9cNCHEN.de/a", "url:https://m\xc3\x9cnchen.de/a"},
        /* every link of one video is one key */
        {"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "yt:dQw4w9WgXcQ"},
        {"https://youtu.be/dQw4w9WgXcQ?t=42", "yt:dQw4w9WgXcQ"},
        {"HTTP://M.YOUTUBE.COM/shorts/dQw4w9WgXcQ", "yt:dQw4w9WgXcQ"},
        {"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", "yt:dQw4w9WgXcQ"},
        {"https://youtu.be/dQw4w9WgXcq", "yt:dQw4w9WgXcq"}, /* ids are case-sensitive */
        {"https://www.youtube.com/playlist?list=PL1", NULL},
        {"ftp://example.com/a", NULL},
        {"", NULL},
        {"https://exa mple.com/", NULL},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *key = (char *)"sentinel";
        char err[256] = "";
        int rc = fetch_cache_key(keys[i].url, &key, err, sizeof err);
        if (!keys[i].key) {
            assert_int_equal(rc, FETCH_ERR_INVALID_URL);
            assert_null(key);
            assert_true(err[0] != '\0');
            continue;
        }
        if (rc != FETCH_OK)
            fail_msg("'%s': rc %d (%s)", keys[i].url, rc, err);
        if (strcmp(key, keys[i].key) != 0)
            fail_msg("'%s': key '%s', expected '%s'", keys[i].url, key, keys[i].key);
        free(key);
    }
}

/* The cache key and the classification agree, and normalising a key's URL
 * again gives the same key. */
static void test_cache_key_idempotent(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].expect != HTTP)
            continue;
        char *k1 = NULL, *k2 = NULL;
        assert_int_equal(fetch_cache_key(cases[i].url, &k1, NULL, 0), FETCH_OK);
        assert_true(strncmp(k1, "url:", 4) == 0);
        assert_int_equal(fetch_cache_key(k1 + 4, &k2, NULL, 0), FETCH_OK);
        assert_string_equal(k1, k2);
        free(k1);
        free(k2);
    }
}

/* fetch_link_name: the video id, the last path segment without query or
 * fragment, or "" (the CLI then falls back to the host, the API to none). */
static void test_link_name(void **state)
{
    (void)state;
    static const struct {
        const char *url, *name;
    } cases[] = {
        {"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10", "dQw4w9WgXcQ"},
        {"https://youtu.be/dQw4w9WgXcQ", "dQw4w9WgXcQ"},
        {"https://example.com/media/talk.mp3?sig=1#t=5", "talk.mp3"},
        {"https://example.com/a/b/", ""},
        {"https://example.com", ""},
        {"https://example.com?x=/y.mp3", ""},
        {"http://user@example.com:8080/x.ogg", "x.ogg"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, 'x', sizeof out);
        fetch_link_name(cases[i].url, out, sizeof out);
        assert_string_equal(out, cases[i].name);
    }
    char small[5];
    fetch_link_name("https://example.com/recording.wav", small, sizeof small);
    assert_string_equal(small, "reco");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_limits_and_nulls),
        cmocka_unit_test(test_url_parts),
        cmocka_unit_test(test_cache_keys),
        cmocka_unit_test(test_cache_key_idempotent),
        cmocka_unit_test(test_link_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
