/* fetch internals shared between the module's files and its unit tests:
 * the address policy behind the SSRF protection, kept pure so it can be
 * tested on every range without a network, and a variant of fetch_http
 * with test hooks. Not part of the public API. */
#ifndef CESAR_FETCH_INTERNAL_H
#define CESAR_FETCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "fetch/fetch.h"

/* Whether a download may not connect to sa (AF_INET or AF_INET6; any other
 * family is blocked): loopback, private, shared (CGNAT), link-local,
 * multicast, unspecified, broadcast and reserved ranges, their
 * IPv4-mapped IPv6 forms and the IPv6 forms that embed an IPv4 address
 * (NAT64, 6to4). When blocked, why (capacity whylen; may be NULL/0) gets
 * the address and its kind, e.g. "127.0.0.1 (a loopback address)". Pure. */
bool fetch__address_blocked(const struct sockaddr *sa, char *why, size_t whylen);

/* Test hooks for fetch__http_ex; zero-initialised = fetch_http. */
typedef struct {
    /* Skip the address check on the first socket the download opens, so a
     * test can start at its loopback server and still see every later
     * connection (a redirect to another host, or to the same one after the
     * server closed the connection) checked. Never set outside tests. */
    bool exempt_first_connection;
} fetch__http_hooks;

/* fetch_http with hooks (NULL = none). */
int fetch__http_ex(const char *url, const char *dest_path, const fetch_params *p,
                   const fetch__http_hooks *hooks, char *err, size_t errlen);

#endif
