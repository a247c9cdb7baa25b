/*
 * lbind.h - what the binding files of idl.core share. Private to engine/bind:
 * the module exports only luaopen_idl_core (the rest is hidden visibility).
 *
 * Matrices are full userdata of metatable "idl.matrix". An owning matrix
 * keeps its doubles inside the userdata, right after the header, so Lua's
 * collector counts every byte; a view points into its parent's bytes and keeps
 * the parent alive through user value 1.
 *
 * Indices cross the boundary exactly once: Lua is 1-based, the core 0-based.
 */
#ifndef IDL_LBIND_H
#define IDL_LBIND_H

#include <lauxlib.h>
#include <lua.h>

#include "mat.h"
#include "rng.h"

#define LIDL_MATRIX "idl.matrix"
#define LIDL_RNG "idl.rng"

/* Pushes a new rows x cols matrix with uninitialized contents. */
idl_mat *lidl_newmat(lua_State *L, int rows, int cols, const char *fname);

/* Pushes a new matrix with the same shape as m, uninitialized. */
idl_mat *lidl_newmat_like(lua_State *L, const idl_mat *m, const char *fname);

/* Pushes a view sharing the storage of the matrix at index parent, which it
 * keeps alive. */
idl_mat *lidl_newview(lua_State *L, int parent, idl_mat view);

/* The matrix at idx, or an error "<fname>: <what> must be a matrix, got <type>". */
idl_mat *lidl_checkmat(lua_State *L, int idx, const char *fname, const char *what);

/* The matrix at idx or NULL. */
idl_mat *lidl_testmat(lua_State *L, int idx);

/* Raises "<fname>: <message for st>" unless st is IDL_OK. */
void lidl_check(lua_State *L, idl_status st, const char *fname);

/* A size argument: a non-negative integer that fits an int. */
int lidl_checksize(lua_State *L, int idx, const char *fname, const char *what);

/* An integer argument in [lo, hi]. */
lua_Integer lidl_checkrange(lua_State *L, int idx, lua_Integer lo, lua_Integer hi,
                            const char *fname, const char *what);

/* A finite number argument. */
double lidl_checkfinite(lua_State *L, int idx, const char *fname, const char *what);

/* The value at idx as text for a message: numbers and strings as they are,
 * anything else by its type name. */
const char *lidl_describe(lua_State *L, int idx);

/* 0 or 1: which of the two names the string at idx is (nil: dflt), or an
 * error naming both. */
int lidl_checkeither(lua_State *L, int idx, const char *fname, const char *what, const char *a,
                     const char *b, int dflt);

/* The generator at idx, or an error naming fname. */
idl_rng *lidl_checkrng(lua_State *L, int idx, const char *fname);

/* Raises with the "<fname>: " prefix; the message is formatted, the arguments
 * are never used as a format. */
int lidl_error(lua_State *L, const char *fname, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Registration of each binding file's functions into the module table at -1
 * (and of methods into the matrix metatable). */
void lidl_open_matrix(lua_State *L);
void lidl_open_rng(lua_State *L);
void lidl_open_io(lua_State *L);
void lidl_open_sys(lua_State *L);
void lidl_open_optim(lua_State *L);
void lidl_open_loss(lua_State *L);
void lidl_open_linalg(lua_State *L);
void lidl_open_relaxed(lua_State *L);
void lidl_open_project(lua_State *L);
void lidl_open_solve(lua_State *L);
void lidl_open_mpi(lua_State *L);
void lidl_open_stream(lua_State *L);

#endif
