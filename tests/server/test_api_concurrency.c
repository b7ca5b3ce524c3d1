/* test_api_concurrency: load and memory behaviour of `cesar serve`.
 *
 * - 100 uploads at once (libcurl multi interface, 100 easy handles in
 *   flight): all 202, 100 distinct ids, all completed by 2 workers, GET /jobs
 *   lists 100.
 * - A 1 GiB upload (a WAV header then a sparse silent region, streamed from
 *   disk with curl_mime_filedata) while a thread samples the server's VmRSS
 *   every 50 ms: the file is streamed to disk, so RSS grows by less than
 *   20 MB; 202; then purged so no worker spends time on it.
 * - With a 1 MiB max_upload_size, a 256 MiB upload is answered 413 without
 *   the server reading it all, and without RSS growth.
 */
#include "harness.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_UPLOADS 100
#define RSS_LIMIT_KB (20L * 1024L)

static bool str_is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void test_parallel_uploads(th_server *s)
{
    CURLM *multi = curl_multi_init();
    th_transfer *t[N_UPLOADS];
    th_response *resp[N_UPLOADS] = {0};
    const char *clip = th_clip("0880");
    for (int i = 0; i < N_UPLOADS; i++) {
        t[i] = th_transfer_new_upload(s, clip, th_strf("up-%03d.wav", i), NULL, NULL);
        curl_easy_setopt(th_transfer_easy(t[i]), CURLOPT_PRIVATE, (void *)(intptr_t)i);
        curl_multi_add_handle(multi, th_transfer_easy(t[i]));
    }
    double t0 = th_now();
    int running = N_UPLOADS, done = 0;
    while (done < N_UPLOADS && th_now() - t0 < 300) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            CURLcode result = m->data.result;
            void *priv = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
            int i = (int)(intptr_t)priv;
            curl_multi_remove_handle(multi, e);
            resp[i] = th_transfer_done(t[i], result);
            t[i] = NULL;
            done++;
        }
        if (done < N_UPLOADS)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    th_note("%d uploads answered in %.1f s", done, th_now() - t0);
    for (int i = 0; i < N_UPLOADS; i++) {
        if (t[i]) {
            curl_multi_remove_handle(multi, th_transfer_easy(t[i]));
            resp[i] = th_transfer_done(t[i], CURLE_OPERATION_TIMEDOUT);
        }
    }
    curl_multi_cleanup(multi);

    int accepted = 0, distinct = 0;
    const char *ids[N_UPLOADS] = {0};
    const char *first_bad = NULL;
    for (int i = 0; i < N_UPLOADS; i++) {
        const char *id = th_jstr(resp[i]->json, "id");
        if (resp[i]->status == 202 && id) {
            accepted++;
            bool dup = false;
            for (int k = 0; k < distinct; k++)
                dup = dup || str_is(ids[k], id);
            if (!dup)
                ids[distinct++] = th_strf("%s", id);
        } else if (!first_bad) {
            first_bad = th_describe(resp[i]);
        }
    }
    TH_CHECK(accepted == N_UPLOADS, "%d concurrent uploads -> all 202 (got %d; first other: %s)",
             N_UPLOADS, accepted, first_bad ? first_bad : "-");
    TH_CHECK(distinct == accepted, "the %d job ids are distinct (%d distinct)", accepted, distinct);
    for (int i = 0; i < N_UPLOADS; i++)
        th_response_free(resp[i]);

    t0 = th_now();
    int completed = 0;
    const char *first_other = NULL;
    for (int i = 0; i < distinct; i++) {
        json_t *j = th_wait_job(s, ids[i], "completed,partial,error,cancelled", 600);
        if (str_is(th_jstr(j, "status"), "completed"))
            completed++;
        else if (!first_other)
            first_other = th_strf("%s: %s", ids[i], j ? th_jstr(j, "status") : "timeout");
        json_decref(j);
    }
    th_note("all jobs finished %.1f s after the uploads", th_now() - t0);
    TH_CHECK(completed == N_UPLOADS, "all %d jobs completed (got %d; first other %s)", N_UPLOADS,
             completed, first_other ? first_other : "-");
    json_t *all = th_list_all(s, NULL, 500, NULL);
    TH_CHECK(all && json_array_size(all) == N_UPLOADS, "GET /jobs lists %d jobs (got %zu)",
             N_UPLOADS, all ? json_array_size(all) : 0);
    json_decref(all);
    all = th_list_all(s, "status=completed", 30, NULL);
    TH_CHECK(all && json_array_size(all) == N_UPLOADS,
             "GET /jobs?status=completed walks to %d jobs (got %zu)", N_UPLOADS,
             all ? json_array_size(all) : 0);
    json_decref(all);
}

/* Uploads path while sampling the server's RSS; returns the response and
 * the growth of RSS over the level before the upload, in KiB. */
static th_response *upload_measured(th_server *s, const char *path, const char *name,
                                    const char *const *headers, long *growth_kb)
{
    th_sleep(0.5);
    long before = th_server_rss_kb(s);
    th_rss_sampler *rs = th_rss_sampler_start(s->pid, 50);
    th_response *r = th_upload(s, path, name, NULL, headers);
    int samples = 0;
    long peak = th_rss_sampler_stop(rs, &samples);
    *growth_kb = peak - before;
    th_note("%s: RSS before %ld KiB, peak %ld KiB over %d samples, %.1f s, %lld bytes sent", name,
            before, peak, samples, r->seconds, (long long)r->uploaded);
    /* a sample every 50 ms: an upload taking 0.3 s or more got several */
    TH_CHECK(before > 0 && samples >= 1 && (r->seconds < 0.3 || samples >= 3),
             "%s: RSS sampled during the upload (before %ld KiB, %d samples in %.2f s)", name,
             before, samples, r->seconds);
    return r;
}

static void test_big_upload(th_server *s)
{
    long long size = 1LL << 30;
    const char *big = th_audio_silent_wav("silence-1g.wav", size);
    if (!TH_CHECK(big != NULL, "made a sparse 1 GiB WAV"))
        return;
    long growth;
    th_response *r = upload_measured(s, big, "silence-1g.wav", NULL, &growth);
    TH_CHECK(r->status == 202, "a 1 GiB upload -> 202 (%s)", th_describe(r));
    TH_CHECK(growth < RSS_LIMIT_KB, "the 1 GiB upload grew the server's RSS by %ld KiB (< %ld)",
             growth, RSS_LIMIT_KB);
    const char *id = th_jstr(r->json, "id");
    if (id) {
        th_response *d = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", id), NULL, NULL, 0);
        TH_CHECK(d->status == 204, "purge the 1 GiB job -> 204 (%s)", th_describe(d));
        th_response_free(d);
        TH_CHECK(!th_path_exists(th_strf("%s/%s", s->jobs_dir, id)),
                 "the purged 1 GiB upload is off the disk");
    }
    th_response_free(r);
    remove(big);
}

static void test_413_streaming(void)
{
    th_server *s = th_server_start(
        "limit-1m",
        &(th_server_opts){.workers = 1, .extra_env = {"CESAR_SERVER_MAX_UPLOAD_SIZE=1M", NULL}});
    if (!s)
        return;
    long long size = 256LL << 20;
    const char *big = th_audio_silent_wav("silence-256m.wav", size);
    if (!TH_CHECK(big != NULL, "made a sparse 256 MiB WAV"))
        return;
    /* with Content-Length and curl's Expect: 100-continue the server can
     * refuse at the headers; otherwise it must count while it streams */
    const char *const variants[][3] = {
        {NULL, NULL, NULL},
        {"Expect:", NULL, NULL},
        {"Transfer-Encoding: chunked", "Expect:", NULL},
    };
    const char *label[] = {"with Content-Length", "with Content-Length, no Expect",
                           "chunked, no Expect"};
    for (int v = 0; v < 3; v++) {
        long growth;
        th_response *r = upload_measured(s, big, th_strf("silence-256m.wav %s", label[v]),
                                         variants[v][0] ? variants[v] : NULL, &growth);
        const char *what = th_strf("256 MiB %s against a 1 MiB limit", label[v]);
        th_expect_error(r, 413, "payload_too_large", NULL, what);
        /* With Expect: 100-continue the client waits for the verdict on the
         * headers, so nothing needs sending. A client already sending gets
         * its 413 after the body (answering mid-send would reset it); that
         * the body was counted, not stored, shows in the RSS and the disk. */
        if (v == 0)
            TH_CHECK(r->uploaded < size / 4,
                     "%s: answered before reading the whole upload (%lld of %lld bytes sent)", what,
                     (long long)r->uploaded, size);
        else
            th_note("%s: %lld of %lld bytes sent", what, (long long)r->uploaded, size);
        TH_CHECK(r->seconds < 10, "%s: the 413 came quickly (%.1f s)", what, r->seconds);
        TH_CHECK(growth < RSS_LIMIT_KB, "%s: RSS grew by %ld KiB (< %ld)", what, growth,
                 RSS_LIMIT_KB);
        th_response_free(r);
    }
    /* just over the limit: the headers cannot tell (multipart overhead), so
     * the limit is hit while the file streams */
    const char *over = th_audio_silent_wav("just-over.wav", (1LL << 20) + 8192);
    th_response *jr = th_upload(s, over, "just-over.wav", NULL, NULL);
    th_expect_error(jr, 413, "payload_too_large", NULL, "1 MiB + 8 KiB against a 1 MiB limit");
    th_response_free(jr);
    jr = th_upload(s, over, "just-over.wav", NULL,
                   (const char *const[]){"Transfer-Encoding: chunked", "Expect:", NULL});
    th_expect_error(jr, 413, "payload_too_large", NULL,
                    "1 MiB + 8 KiB, chunked, against a 1 MiB limit");
    th_response_free(jr);

    char first[512];
    int n = th_count_files(s->data_dir, "jobs.db", first, sizeof first);
    TH_CHECK(n == 0, "the refused upload left no file (%d, e.g. %s)", n, n ? first : "-");
    th_response *r = th_getf(s, "/health");
    TH_CHECK(r->status == 200, "the server still answers after the 413 (%s)", th_describe(r));
    th_response_free(r);
    remove(big);
}

/* Runs every part, or only those named on the command line
 * (parallel, big, 413), which helps when looking into one. */
static bool wanted(int argc, char **argv, const char *part)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], part) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    th_init("test_api_concurrency");
    if (wanted(argc, argv, "parallel") || wanted(argc, argv, "big")) {
        th_server *s = th_server_start("concurrency", &(th_server_opts){.workers = 2});
        if (s && wanted(argc, argv, "parallel"))
            test_parallel_uploads(s);
        if (s && wanted(argc, argv, "big"))
            test_big_upload(s);
    }
    if (wanted(argc, argv, "413"))
        test_413_streaming();
    return th_finish();
}
