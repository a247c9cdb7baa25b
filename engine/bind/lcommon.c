/* lcommon.c - argument checking and matrix userdata shared by the binding. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lbind.h"

/* From this size on a new matrix also advances the collector (lidl_newmat). */
enum { LARGE_MATRIX_BYTES = 1 << 20 };

/* The userdata header; an owning matrix's doubles follow it. Its size is a
 * multiple of 16 so the data stays 16-byte aligned. */
typedef struct lidl_header {
    idl_mat m;
    double pad_;
} lidl_header;

int lidl_error(lua_State *L, const char *fname, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    luaL_where(L, 1);
    /* named as the Lua layer names its functions: "idl.zeros", "idl.matrix:get";
     * an operator's name ("matrix * (matmul)", "m[i]") is written as it is */
    bool as_is = strncmp(fname, "idl.", 4) == 0 || strpbrk(fname, " [(") != NULL;
    lua_pushfstring(L, "%s%s: %s", as_is ? "" : "idl.", fname, msg);
    lua_concat(L, 2);
    return lua_error(L);
}

void lidl_check(lua_State *L, idl_status st, const char *fname)
{
    if (st != IDL_OK)
        lidl_error(L, fname, "%s", idl_strerror(st));
}

/* The machine's memory in bytes (0 when unknown), read once. */
static double physical_memory(void)
{
    static double bytes = -1.0;
    if (bytes < 0.0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        bytes = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    }
    return bytes;
}

idl_mat *lidl_newmat(lua_State *L, int rows, int cols, const char *fname)
{
    if (rows < 0 || cols < 0)
        lidl_error(L, fname, "negative size %dx%d", rows, cols);
    size_t n = (size_t)rows * (size_t)cols;
    if (n > ((size_t)1 << 40) / sizeof(double))
        lidl_error(L, fname, "a %dx%d matrix is too large", rows, cols);
    /* Larger than the machine's memory it cannot be used: say so, rather
     * than "not enough memory" from Lua (or an abort under AddressSanitizer). */
    double bytes = (double)n * (double)sizeof(double), ram = physical_memory();
    if (ram > 0.0 && bytes > ram)
        lidl_error(L, fname, "a %dx%d matrix is too large (%.3g GB, the machine has %.3g GB)", rows,
                   cols, bytes / 1e9, ram / 1e9);
    lidl_header *h = lua_newuserdatauv(L, sizeof(lidl_header) + n * sizeof(double), 1);
    h->m = idl_mat_wrap((double *)(h + 1), rows, cols);
    luaL_setmetatable(L, LIDL_MATRIX);
    /* A large matrix is counted a second time as collector work: operator-style code
     * (C = A * B in a loop) makes one dead result per statement, and at Lua's default pace
     * four of them piled up before a cycle freed them, each new one in fresh pages (the loop
     * of 300x10000 products cost 1.13-1.20x its dgemms in processor time, in either collector
     * mode; with this step 0.99-1.02x: experiments/bench_matmul.lua). */
    if (bytes >= LARGE_MATRIX_BYTES)
        lua_gc(L, LUA_GCSTEP, (int)(bytes / 1024.0 < INT_MAX ? bytes / 1024.0 : INT_MAX));
    return &h->m;
}

idl_mat *lidl_newmat_like(lua_State *L, const idl_mat *m, const char *fname)
{
    return lidl_newmat(L, m->rows, m->cols, fname);
}

idl_mat *lidl_testmat(lua_State *L, int idx)
{
    lidl_header *h = luaL_testudata(L, idx, LIDL_MATRIX);
    return h ? &h->m : NULL;
}

idl_mat *lidl_checkmat(lua_State *L, int idx, const char *fname, const char *what)
{
    idl_mat *m = lidl_testmat(L, idx);
    if (!m)
        lidl_error(L, fname, "%s must be a matrix, got %s", what, luaL_typename(L, idx));
    return m;
}

lua_Integer lidl_checkrange(lua_State *L, int idx, lua_Integer lo, lua_Integer hi,
                            const char *fname, const char *what)
{
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (!isint) {
        if (lua_type(L, idx) == LUA_TNUMBER)
            lidl_error(L, fname, "%s must be an integer, got %s", what,
                       lua_tostring(L, idx));
        lidl_error(L, fname, "%s must be an integer, got %s", what, luaL_typename(L, idx));
    }
    if (v < lo || v > hi)
        lidl_error(L, fname, "%s must be in [%lld, %lld], got %lld", what, (long long)lo,
                   (long long)hi, (long long)v);
    return v;
}

int lidl_checksize(lua_State *L, int idx, const char *fname, const char *what)
{
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (!isint || v < 0)
        lidl_error(L, fname, "%s must be a non-negative integer, got %s", what,
                   lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
    if (v > (1 << 30))
        lidl_error(L, fname, "%s is too large (%lld)", what, (long long)v);
    return (int)v;
}

double lidl_checkfinite(lua_State *L, int idx, const char *fname, const char *what)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        lidl_error(L, fname, "%s must be a number, got %s", what, luaL_typename(L, idx));
    double v = lua_tonumber(L, idx);
    if (!isfinite(v))
        lidl_error(L, fname, "%s must be finite, got %f", what, v);
    return v;
}

const char *lidl_describe(lua_State *L, int idx)
{
    int t = lua_type(L, idx);
    if (t == LUA_TNUMBER || t == LUA_TSTRING)
        return luaL_tolstring(L, idx, NULL);
    return luaL_typename(L, idx);
}

int lidl_checkeither(lua_State *L, int idx, const char *fname, const char *what, const char *a,
                     const char *b, int dflt)
{
    if (lua_isnoneornil(L, idx))
        return dflt;
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
    if (strcmp(s, a) != 0 && strcmp(s, b) != 0)
        lidl_error(L, fname, "%s must be \"%s\" or \"%s\", got %s", what, a, b,
                   lidl_describe(L, idx));
    return strcmp(s, b) == 0;
}

idl_mat *lidl_newview(lua_State *L, int parent, idl_mat view)
{
    parent = lua_absindex(L, parent);
    lidl_header *h = lua_newuserdatauv(L, sizeof(lidl_header), 1);
    h->m = view;
    luaL_setmetatable(L, LIDL_MATRIX);
    lua_pushvalue(L, parent);
    lua_setiuservalue(L, -2, 1);
    return &h->m;
}
