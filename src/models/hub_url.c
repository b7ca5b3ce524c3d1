/* hub_url: the rule for where a Hugging Face token may go. Only https
 * protects it on the wire; plain http is allowed solely for a test hub on
 * this machine (a loopback address) and only when the user said so with
 * hub_allow_insecure. The check reads the URL text and nothing else, so it
 * runs before any connection, name lookup or proxy is involved.
 */
#include "models/models.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

#define URL_HOST_MAX 256

/* The host of an http(s) URL's authority (after "scheme://"), without
 * userinfo, port or IPv6 brackets. False when it does not fit or is empty. */
static bool url_host(const char *authority, char *host, size_t n)
{
    size_t end = strcspn(authority, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < end; i++)
        if (authority[i] == '@')
            at = authority + i;
    const char *h = at ? at + 1 : authority;
    size_t len = (size_t)(authority + end - h);
    if (len > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', len);
        if (!close)
            return false;
        len = (size_t)(close - h - 1);
        h++;
    } else {
        const char *colon = memchr(h, ':', len);
        if (colon)
            len = (size_t)(colon - h);
    }
    if (len == 0 || len >= n)
        return false;
    memcpy(host, h, len);
    host[len] = '\0';
    return true;
}

static bool is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return false;
}

int models_hub_url_check(const char *hub_url, bool allow_insecure, char *err, size_t errlen)
{
    char host[URL_HOST_MAX];
    if (!hub_url || !*hub_url)
        return util_errf(err, errlen, MODELS_ERR_INSECURE, "no hub URL given");
    if (strncasecmp(hub_url, "https://", 8) == 0) {
        if (!url_host(hub_url + 8, host, sizeof host))
            return util_errf(err, errlen, MODELS_ERR_INSECURE, "hub URL '%s' has no host",
                             hub_url);
        return MODELS_OK;
    }
    if (strncasecmp(hub_url, "http://", 7) != 0)
        return util_errf(err, errlen, MODELS_ERR_INSECURE, "hub URL '%s' is not an https:// "
                         "URL", hub_url);
    if (!url_host(hub_url + 7, host, sizeof host))
        return util_errf(err, errlen, MODELS_ERR_INSECURE, "hub URL '%s' has no host", hub_url);
    if (!allow_insecure)
        return util_errf(err, errlen, MODELS_ERR_INSECURE, "hub URL '%s' is plain http, which "
                         "would expose the Hugging Face token: use https://, or (for a test hub "
                         "on this machine only) set hub_allow_insecure = true", hub_url);
    if (!is_loopback(host))
        return util_errf(err, errlen, MODELS_ERR_INSECURE, "hub URL '%s' is plain http to '%s', "
                         "which is not a loopback address: hub_allow_insecure allows http only "
                         "to 127.0.0.0/8, ::1 or localhost", hub_url, host);
    return MODELS_OK;
}
