/* tmpdir.h: the scratch directory a unit test's fixture lives in — made
 * fresh under /tmp for each test (mkdtemp, so parallel runs never share
 * one) and removed whole afterwards. Header-only: each test executable
 * includes it once. */
#ifndef CESAR_TESTS_TMPDIR_H
#define CESAR_TESTS_TMPDIR_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

/* Room for "/tmp/cesar-" + a short name + "-XXXXXX". */
#define TMPDIR_ROOT_MAX 64

/* Makes /tmp/cesar-NAME-XXXXXX and writes its path into root; false when
 * the name does not fit or the directory cannot be made. */
static inline bool tmpdir_make(char root[TMPDIR_ROOT_MAX], const char *name)
{
    int n = snprintf(root, TMPDIR_ROOT_MAX, "/tmp/cesar-%s-XXXXXX", name);
    return n > 0 && n < TMPDIR_ROOT_MAX && mkdtemp(root) != NULL;
}

/* Removes root and everything under it (best effort: a test's leftovers
 * must not fail the next one). */
static inline void tmpdir_remove(const char *root)
{
    util_remove_tree(root, false, NULL, 0);
}

#endif
