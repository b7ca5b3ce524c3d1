/* test_api_recovery: what survives the server process (docs/api.md,
 * "Starting the server"). kill -9 in the middle of a queue of five jobs, a
 * restart on the same data directory, and every job still completes exactly
 * once — the interrupted one on its second attempt. Then SIGTERM with
 * --shutdown-timeout 1 while a job runs: exit status 0 soon after the grace
 * period, no new request served meanwhile, and after a restart the job is
 * queued again and completes.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_JOBS 5

static bool str_is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *or_none(const char *s)
{
    return s ? s : "none";
}

/* ---- a raw keep-alive connection ----------------------------------------------------- */

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends a GET on fd and reads one response (headers, then Content-Length
 * bytes) within timeout seconds. Returns the status, 0 when the connection
 * ended or timed out first; the response text goes to buf. */
static int raw_get(int fd, const char *path, char *buf, size_t cap, double timeout)
{
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    buf[0] = '\0';
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return 0;
    size_t len = 0;
    double t0 = th_now();
    while (len + 1 < cap && th_now() - t0 < timeout) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = cl && cl < end ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
        if (len >= (size_t)(end + 4 - buf) + want)
            break;
    }
    int status = 0;
    if (strncmp(buf, "HTTP/1.", 7) == 0 && strlen(buf) > 12)
        status = atoi(buf + 9);
    return status;
}

static void test_kill9(const char *audio)
{
    th_server *s = th_server_start("kill9", &(th_server_opts){.workers = 1});
    if (!s)
        return;
    char *ids[N_JOBS] = {0};
    for (int i = 0; i < N_JOBS; i++) {
        ids[i] = th_submit(s, audio, th_strf("job-%d.wav", i), NULL);
        if (!ids[i])
            goto out;
    }
    json_t *j = th_wait_running(s, ids[0], 0, 60);
    bool running = str_is(th_jstr(j, "status"), "processing");
    double progress = th_jnum(j, "progress", -1);
    json_decref(j);
    if (!TH_CHECK(running, "the first job is processing with progress > 0 (progress %g)", progress))
        goto out;
    int code = th_server_stop(s, SIGKILL, 10);
    TH_CHECK(code == 128 + SIGKILL, "SIGKILL ended the server (status %d)", code);
    th_note("killed the server while job 1 was at %g%%", progress);

    if (!th_server_restart(s))
        goto out;
    for (int i = 0; i < N_JOBS; i++) {
        j = th_wait_job(s, ids[i], "completed,partial,error,cancelled", 180);
        TH_CHECK(str_is(th_jstr(j, "status"), "completed"),
                 "after the restart job %d completes "
                 "(%s %s)",
                 i + 1, or_none(th_jstr(j, "status")), or_none(th_jstr(j, "error_message")));
        const char *text = th_jstr(j, "result_text");
        TH_CHECK(text && *text, "job %d has its result_text", i + 1);
        int want = i == 0 ? 2 : 1;
        TH_CHECK(th_jnum(j, "attempts", -1) == want, "job %d has attempts %d (got %g)", i + 1, want,
                 th_jnum(j, "attempts", -1));
        json_decref(j);
        th_response *r = th_getf(s, "/jobs/%s/result?format=txt", ids[i]);
        TH_CHECK(r->status == 200 && r->body_len > 0, "job %d's result is served (%s)", i + 1,
                 th_describe(r));
        th_response_free(r);
    }
    json_t *all = th_list_all(s, NULL, 2, NULL);
    TH_CHECK(all && json_array_size(all) == N_JOBS, "GET /jobs lists %d jobs (got %zu)", N_JOBS,
             all ? json_array_size(all) : 0);
    bool unique = true, known = true;
    size_t i, k;
    json_t *a, *b;
    json_array_foreach(all, i, a)
    {
        const char *id = th_jstr(a, "id");
        bool mine = false;
        for (int n = 0; n < N_JOBS; n++)
            mine = mine || str_is(id, ids[n]);
        known = known && mine;
        json_array_foreach(all, k, b)
        {
            if (k != i && str_is(id, th_jstr(b, "id")))
                unique = false;
        }
    }
    TH_CHECK(unique, "no job is listed twice");
    TH_CHECK(known, "every listed job is one of the five submitted");
    json_decref(all);
    all = th_list_all(s, "status=completed", 50, NULL);
    TH_CHECK(all && json_array_size(all) == N_JOBS, "all %d are completed (got %zu)", N_JOBS,
             all ? json_array_size(all) : 0);
    json_decref(all);
out:
    for (int n = 0; n < N_JOBS; n++)
        free(ids[n]);
    if (s->pid > 0)
        th_server_stop(s, SIGTERM, 30);
}

static void test_sigterm(const char *audio)
{
    th_server *s = th_server_start(
        "sigterm",
        &(th_server_opts){.workers = 1, .extra_args = {"--shutdown-timeout", "1", NULL}});
    if (!s)
        return;
    char *id = th_submit(s, audio, "long.wav", NULL);
    if (!id)
        return;
    json_t *j = th_wait_running(s, id, 0, 60);
    bool running = str_is(th_jstr(j, "status"), "processing");
    json_decref(j);
    if (!TH_CHECK(running, "the long job is processing")) {
        free(id);
        return;
    }
    /* a connection opened before the signal, to ask on while shutting down */
    char buf[4096];
    int fd = connect_port(s->port);
    int first = fd >= 0 ? raw_get(fd, "/health", buf, sizeof buf, 5) : 0;
    TH_CHECK(first == 200, "a keep-alive connection is open before SIGTERM (status %d)", first);
    double t0 = th_now();
    kill(s->pid, SIGTERM);
    th_sleep(0.3);
    /* shutting down: a new connection is refused... */
    th_response *r = th_getf(s, "/jobs");
    if (r->status == 0)
        TH_CHECK(true, "while shutting down, a new connection is not served (%s)", r->error);
    else
        th_expect_error(r, 503, "shutting_down", NULL,
                        "GET /jobs on a new connection while "
                        "shutting down");
    th_response_free(r);
    /* ...and a request on the open one gets 503 shutting_down or no answer */
    int during = fd >= 0 ? raw_get(fd, "/jobs", buf, sizeof buf, 3) : -1;
    th_note("request on the kept-alive connection while shutting down: %s",
            during > 0 ? th_strf("%d", during) : "no response");
    TH_CHECK(during == 0 || (during == 503 && strstr(buf, "shutting_down")),
             "while shutting down, a request on an open connection is not served normally "
             "(got %d: %.200s)",
             during, buf);
    if (fd >= 0)
        close(fd);
    int code = th_server_stop(s, 0, 20);
    double took = th_now() - t0;
    TH_CHECK(code == 0, "SIGTERM: exit status 0 (got %d)", code);
    TH_CHECK(took < 5.0, "SIGTERM with --shutdown-timeout 1: stopped within 5 s (%.2f s)", took);
    th_note("the server stopped %.2f s after SIGTERM", took);

    if (!th_server_restart(s)) {
        free(id);
        return;
    }
    j = th_get_job(s, id);
    const char *st = th_jstr(j, "status");
    TH_CHECK(str_is(st, "queued") || str_is(st, "processing"),
             "after the restart the job is queued again (got %s)", or_none(st));
    json_decref(j);
    j = th_wait_job(s, id, "completed,partial,error,cancelled", 240);
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"), "the re-queued job completes (%s)",
             or_none(th_jstr(j, "status")));
    TH_CHECK(th_jnum(j, "attempts", -1) == 2, "it took 2 attempts (got %g)",
             th_jnum(j, "attempts", -1));
    json_decref(j);
    code = th_server_stop(s, SIGTERM, 30);
    TH_CHECK(code == 0, "an idle server exits 0 on SIGTERM (got %d)", code);
    free(id);
}

int main(void)
{
    th_init("test_api_recovery");
    /* about 21 s of speech: four clips */
    const char *twenty =
        th_audio_join("twenty.wav", (const char *const[]){"0870", "0880", "0890", "0920", NULL});
    const char *lng = th_audio_rounds("long.wav", 4); /* ~100 s: many seconds of work */
    if (twenty)
        test_kill9(twenty);
    if (lng)
        test_sigterm(lng);
    return th_finish();
}
