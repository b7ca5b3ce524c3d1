/* harness_internal.h: helpers shared by harness.c and harness_http.c and
 * not part of the tests' interface (harness.h). Strings they return belong
 * to the caller (free them), unlike th_strf's. Allocation failure exits the
 * test with status 2.
 */
#ifndef CESAR_TESTS_SERVER_HARNESS_INTERNAL_H
#define CESAR_TESTS_SERVER_HARNESS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

/* A response body (or SSE line) larger than this fails the transfer. */
#define TH__MAX_BODY (64u * 1024u * 1024u)

void *th__xmalloc(size_t n);
char *th__xstrdup(const char *s); /* NULL for NULL */
char *th__vstrf(const char *fmt, va_list ap);
char *th__strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
