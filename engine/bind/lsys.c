/* lsys.c - threads and time: idl.set_threads, idl.get_threads, idl.clock. */
#include <cblas.h>
#include <time.h>

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

void lidl_open_sys(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"set_threads", l_set_threads}, {"get_threads", l_get_threads}, {"clock", l_clock},
        {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
