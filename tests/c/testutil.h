/*
 * testutil.h - a tiny assertion harness for the C unit tests (header only).
 * Each test program counts checks and failures and ends with the plain line
 * "N passed, M failed" that CI reads; the exit code is non-zero on failure.
 */
#ifndef IDL_TESTUTIL_H
#define IDL_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mat.h"

static int tu_passed, tu_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            tu_passed++;                                                              \
        } else {                                                                      \
            tu_failed++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                         \
    do {                                                                              \
        double tu_a = (a), tu_b = (b);                                                \
        if (fabs(tu_a - tu_b) <= (tol)) {                                             \
            tu_passed++;                                                              \
        } else {                                                                      \
            tu_failed++;                                                              \
            fprintf(stderr, "%s:%d: %s = %.17g, %s = %.17g, tol %g\n", __FILE__,      \
                    __LINE__, #a, tu_a, #b, tu_b, (double)(tol));                     \
        }                                                                             \
    } while (0)

/* A malloc'd rows x cols matrix (ld = rows + pad, to exercise strides). */
static inline idl_mat tu_alloc(int rows, int cols, int pad)
{
    int ld = rows + pad > 0 ? rows + pad : 1;
    idl_mat m = {rows, cols, ld, calloc((size_t)ld * (size_t)(cols > 0 ? cols : 1), sizeof(double))};
    if (!m.data) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return m;
}

/* "/tmp/idl_test_<pid>_<name>" in buf: this process's own file, so that test
 * suites running at the same time (other build trees) do not collide. */
static inline const char *tu_temp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/tmp/idl_test_%ld_%s", (long)getpid(), name);
    return buf;
}

/* Deterministic pseudo-random fill in [-1, 1) (an LCG, independent of GSL). */
static inline void tu_fill(idl_mat *m, unsigned *state)
{
    for (int j = 0; j < m->cols; j++)
        for (int i = 0; i < m->rows; i++) {
            *state = *state * 1664525u + 1013904223u;
            IDL_AT(m, i, j) = (double)(*state >> 8) / (double)(1u << 24) * 2.0 - 1.0;
        }
}

static inline int tu_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, tu_passed, tu_failed);
    return tu_failed ? 1 : 0;
}

#endif
