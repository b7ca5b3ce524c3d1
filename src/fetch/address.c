/* address: which IP addresses a download may connect to. This is the policy
 * half of the SSRF protection; http.c applies it to every socket libcurl is
 * about to connect, after DNS and after every redirect, so neither a
 * hostname that resolves to 127.0.0.1 nor a redirect to 169.254.169.254
 * reaches anything inside the network.
 *
 * Invariant: only addresses that are routable on the public internet pass.
 * Ranges that merely "should not appear" (documentation, benchmarking,
 * reserved) are blocked too: refusing them costs nothing, and a network may
 * use them internally. IPv6 forms that carry an IPv4 address (mapped,
 * NAT64, 6to4) are judged by the IPv4 address inside, because that is
 * where the packets end up. */
#include "fetch/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint32_t net;
    int bits;
    const char *kind; /* "loopback" -> "a loopback address" */
} v4_range;

/* First match wins, so the broadcast address precedes 240/4. */
static const v4_range v4_blocked[] = {
    {0x00000000u, 8, "unspecified"},     /* 0.0.0.0/8, "this network" */
    {0x0a000000u, 8, "private"},         /* 10/8 */
    {0x64400000u, 10, "shared (CGNAT)"}, /* 100.64/10 */
    {0x7f000000u, 8, "loopback"},        /* 127/8 */
    {0xa9fe0000u, 16, "link-local"},     /* 169.254/16, cloud metadata lives here */
    {0xac100000u, 12, "private"},        /* 172.16/12 */
    {0xc0000000u, 24, "reserved"},       /* 192.0.0/24, IETF protocol assignments */
    {0xc0000200u, 24, "documentation"},  /* 192.0.2/24 */
    {0xc0a80000u, 16, "private"},        /* 192.168/16 */
    {0xc6120000u, 15, "benchmarking"},   /* 198.18/15 */
    {0xc6336400u, 24, "documentation"},  /* 198.51.100/24 */
    {0xcb007100u, 24, "documentation"},  /* 203.0.113/24 */
    {0xe0000000u, 4, "multicast"},       /* 224/4 */
    {0xffffffffu, 32, "broadcast"},      /* 255.255.255.255 */
    {0xf0000000u, 4, "reserved"},        /* 240/4 */
};

/* The kind of a blocked IPv4 address (host byte order), or NULL. */
static const char *v4_kind(uint32_t a)
{
    for (size_t i = 0; i < sizeof v4_blocked / sizeof v4_blocked[0]; i++) {
        uint32_t mask = 0xffffffffu << (32 - v4_blocked[i].bits);
        if ((a & mask) == v4_blocked[i].net)
            return v4_blocked[i].kind;
    }
    return NULL;
}

static uint32_t v4_at(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static bool all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* The kind of a blocked IPv6 address, or NULL. *form is set to the name of
 * the IPv4-carrying form ("IPv4-mapped ", "NAT64 ", "6to4 ") when the
 * verdict came from the IPv4 address inside, else "". */
static const char *v6_kind(const unsigned char *b, const char **form)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    *form = "";
    if (memcmp(b, mapped, 12) == 0) {
        *form = "IPv4-mapped ";
        return v4_kind(v4_at(b + 12));
    }
    if (all_zero(b, 15))
        return b[15] == 0 ? "unspecified" : b[15] == 1 ? "loopback" : "reserved";
    /* NAT64 sits inside ::/8, so it is decided before the rest of it */
    if (memcmp(b, nat64, 12) == 0) {
        *form = "NAT64 ";
        return v4_kind(v4_at(b + 12));
    }
    if (memcmp(b, nat64, 4) == 0 && b[4] == 0 && b[5] == 1)
        return "local-use NAT64"; /* 64:ff9b:1::/48 translates into private space */
    if (b[0] == 0)                /* the rest of ::/8, including IPv4-compatible addresses */
        return "reserved";
    if (b[0] == 0x01 && b[1] == 0x00 && all_zero(b + 2, 6))
        return "discard-only"; /* 100::/64 */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return "documentation"; /* 2001:db8::/32 */
    if (b[0] == 0x20 && b[1] == 0x02) {
        *form = "6to4 ";
        return v4_kind(v4_at(b + 2));
    }
    if ((b[0] & 0xfe) == 0xfc)
        return "private (unique local)"; /* fc00::/7 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return "link-local"; /* fe80::/10 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return "site-local"; /* fec0::/10, deprecated but still private */
    if (b[0] == 0xff)
        return "multicast";
    return NULL;
}

bool fetch__address_blocked(const struct sockaddr *sa, char *why, size_t whylen)
{
    char text[INET6_ADDRSTRLEN] = "?";
    const char *kind = NULL;
    const char *form = "";
    if (!sa) {
        kind = "missing";
    } else if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in); /* sa may not be aligned for sockaddr_in */
        inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
        kind = v4_kind(ntohl(in.sin_addr.s_addr));
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
        kind = v6_kind(in6.sin6_addr.s6_addr, &form);
    } else {
        /* Only IP sockets are expected; anything else (a Unix socket) is
         * certainly not a public host. */
        kind = "non-IP";
        snprintf(text, sizeof text, "address family %d", (int)sa->sa_family);
    }
    if (!kind)
        return false;
    if (why && whylen) {
        char phrase[64];
        snprintf(phrase, sizeof phrase, "%s%s", form, kind);
        const char *article = strchr("aeiouAEIOU", phrase[0]) ? "an" : "a";
        snprintf(why, whylen, "%s (%s %s address)", text, article, phrase);
    }
    return true;
}
