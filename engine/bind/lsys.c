/* lsys.c - threads and time: idl.set_threads, idl.get_threads, idl.clock. */
#include <cblas.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "lbind.h"

/// idl.set_threads(n): the number of threads OpenBLAS uses (default: all cores).
static int l_set_threads(lua_State *L)
{
    openblas_set_num_threads((int)lidl_checkrange(L, 1, 1, 1024, "set_threads", "n"));
    return 0;
}

/// idl.get_threads() -> the number of threads OpenBLAS uses.
static int l_get_threads(lua_State *L)
{
    lua_pushinteger(L, openblas_get_num_threads());
    return 1;
}

/// idl.clock() -> monotonic wall-clock seconds (for timing and progress rates).
static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    return 1;
}

/// idl.executable() -> the absolute path of the running program (the `idl`
/// executable, or the Lua interpreter that loaded idl.core), so that scripts
/// can start worker processes of the same kind.
static int l_executable(lua_State *L)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return lidl_error(L, "executable", "cannot read /proc/self/exe");
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

/// idl._time_dgemm(C, A, B, reps) -> best seconds of one plain cblas_dgemm
/// C = A B over reps calls, with no Lua in the loop: the reference that
/// benchmarks divide by.
static int l_time_dgemm(lua_State *L)
{
    idl_mat *c = lidl_checkmat(L, 1, "_time_dgemm", "C");
    idl_mat *a = lidl_checkmat(L, 2, "_time_dgemm", "A");
    idl_mat *b = lidl_checkmat(L, 3, "_time_dgemm", "B");
    int reps = (int)lidl_checkrange(L, 4, 1, 100000, "_time_dgemm", "reps");
    if (a->cols != b->rows || c->rows != a->rows || c->cols != b->cols)
        lidl_error(L, "_time_dgemm", "C is %dx%d, A is %dx%d, B is %dx%d", c->rows, c->cols,
                   a->rows, a->cols, b->rows, b->cols);
    double best = HUGE_VAL;
    for (int r = 0; r < reps; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, a->rows, b->cols, a->cols, 1.0,
                    a->data, a->ld, b->data, b->ld, 0.0, c->data, c->ld);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (dt < best)
            best = dt;
    }
    lua_pushnumber(L, best);
    return 1;
}

void lidl_open_sys(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"set_threads", l_set_threads}, {"get_threads", l_get_threads}, {"clock", l_clock},
        {"_time_dgemm", l_time_dgemm}, {"executable", l_executable},
        {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
