/* lsys.c - threads, time, memory and signals: idl.set_threads, idl.get_threads, idl.clock,
 * idl.executable, idl.peak_rss, and the SIGINT flag that lets training stop cleanly on Ctrl-C
 * (idl._interrupt_begin, idl._interrupted, idl._interrupt_end). */
#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lbind.h"

static int l_set_threads(lua_State *L)
{
    openblas_set_num_threads((int)lidl_checkrange(L, 1, 1, 1024, "set_threads", "n"));
    return 0;
}

static int l_get_threads(lua_State *L)
{
    lua_pushinteger(L, openblas_get_num_threads());
    return 1;
}

static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    return 1;
}

static int l_executable(lua_State *L)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return lidl_error(L, "executable", "cannot read /proc/self/exe");
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int l_peak_rss(lua_State *L)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return lidl_error(L, "peak_rss", "getrusage failed");
    lua_pushinteger(L, (lua_Integer)ru.ru_maxrss * 1024);
    return 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* m as floats, column by column into ld = rows (malloc'd; NULL when out of memory). */
static float *floats_of(const idl_mat *m)
{
    float *f = malloc((size_t)m->rows * (size_t)m->cols * sizeof(float) + 1);
    for (int j = 0; f && j < m->cols; j++)
        for (int i = 0; i < m->rows; i++)
            f[(size_t)i + (size_t)j * (size_t)m->rows] = (float)IDL_AT(m, i, j);
    return f;
}

/* Best seconds of one C = A B over reps calls of cblas_dgemm, or of
 * cblas_sgemm on float copies of A and B made before the clock starts (the
 * float product is put back into C, so it can be checked). */
static int time_gemm(lua_State *L, const char *fn, bool single)
{
    idl_mat *c = lidl_checkmat(L, 1, fn, "C");
    idl_mat *a = lidl_checkmat(L, 2, fn, "A");
    idl_mat *b = lidl_checkmat(L, 3, fn, "B");
    int reps = (int)lidl_checkrange(L, 4, 1, 100000, fn, "reps");
    if (a->cols != b->rows || c->rows != a->rows || c->cols != b->cols)
        lidl_error(L, fn, "C is %dx%d, A is %dx%d, B is %dx%d", c->rows, c->cols, a->rows,
                   a->cols, b->rows, b->cols);
    float *af = single ? floats_of(a) : NULL, *bf = single ? floats_of(b) : NULL;
    float *cf = single ? floats_of(c) : NULL;
    if (single && !(af && bf && cf)) {
        free(af), free(bf), free(cf);
        lidl_error(L, fn, "out of memory");
    }
    double best = HUGE_VAL;
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        if (single)
            cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, a->rows, b->cols, a->cols,
                        1.0f, af, a->rows, bf, b->rows, 0.0f, cf, c->rows);
        else
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, a->rows, b->cols, a->cols,
                        1.0, a->data, a->ld, b->data, b->ld, 0.0, c->data, c->ld);
        best = fmin(best, now_seconds() - t0);
    }
    for (int j = 0; single && j < c->cols; j++)
        for (int i = 0; i < c->rows; i++)
            IDL_AT(c, i, j) = cf[(size_t)i + (size_t)j * (size_t)c->rows];
    free(af), free(bf), free(cf);
    lua_pushnumber(L, best);
    return 1;
}

static int l_time_dgemm(lua_State *L)
{
    return time_gemm(L, "_time_dgemm", false);
}

static int l_time_sgemm(lua_State *L)
{
    return time_gemm(L, "_time_sgemm", true);
}

/* ---- Ctrl-C during training --------------------------------------------
 * A training loop asks for SIGINT to become a request ("stop after this round")
 * instead of an error thrown at an arbitrary instruction (the REPL's and lua.c's
 * handlers): the handler only sets a flag that the loop reads between rounds,
 * so the model is never left half-updated. A second Ctrl-C while the flag is
 * still set hands over to the disposition that was in place before (the REPL's
 * "interrupted!" error, or the default: the process ends), so a stuck round
 * can still be aborted. Begin/end calls nest: only the outermost pair installs
 * and restores the handler. */

static volatile sig_atomic_t interrupt_flag;
static int interrupt_depth;
static struct sigaction previous_action;

static void on_training_sigint(int sig)
{
    if (!interrupt_flag) {
        interrupt_flag = 1;
        return;
    }
    sigaction(SIGINT, &previous_action, NULL);
    if (previous_action.sa_flags & SA_SIGINFO) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = sig;
        previous_action.sa_sigaction(sig, &info, NULL);
    } else if (previous_action.sa_handler == SIG_DFL) {
        raise(sig); /* blocked while this handler runs: delivered, and fatal, when it returns */
    } else if (previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(sig);
    }
}

static int l_interrupt_begin(lua_State *L)
{
    if (interrupt_depth == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_training_sigint;
        sa.sa_flags = SA_RESTART; /* a checkpoint being written is not cut by EINTR */
        sigemptyset(&sa.sa_mask);
        interrupt_flag = 0;
        if (sigaction(SIGINT, &sa, &previous_action) != 0)
            return lidl_error(L, "_interrupt_begin", "cannot install the SIGINT handler");
        /* An ignored SIGINT (a background job of a script) stays ignored. */
        if (!(previous_action.sa_flags & SA_SIGINFO) && previous_action.sa_handler == SIG_IGN)
            sigaction(SIGINT, &previous_action, NULL);
    }
    interrupt_depth++;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_interrupted(lua_State *L)
{
    lua_pushboolean(L, interrupt_depth > 0 && interrupt_flag != 0);
    return 1;
}

static int l_interrupt_end(lua_State *L)
{
    if (interrupt_depth > 0 && --interrupt_depth == 0)
        sigaction(SIGINT, &previous_action, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

void lidl_open_sys(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"set_threads", l_set_threads}, {"get_threads", l_get_threads}, {"clock", l_clock},
        {"_time_dgemm", l_time_dgemm}, {"_time_sgemm", l_time_sgemm},
        {"executable", l_executable},
        {"peak_rss", l_peak_rss},
        {"_interrupt_begin", l_interrupt_begin}, {"_interrupted", l_interrupted},
        {"_interrupt_end", l_interrupt_end}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
