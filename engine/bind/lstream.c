/* lstream.c - idl._csv_stream: the handle on engine/core/csvstream.c behind
 * idl.data.stream_csv (lua/idl/stream.lua). Expected failures (a file that
 * cannot be read, a malformed line) return nil, message; the Lua layer raises
 * them under its own name. */
#include <string.h>

#include "csvstream.h"
#include "lbind.h"

#define LIDL_CSVSTREAM "idl.csvstream"

typedef struct stream_box {
    idl_csv_stream *s; /* NULL once closed */
    char path[4096];
} stream_box;

static stream_box *check_box(lua_State *L, const char *fname)
{
    stream_box *b = luaL_testudata(L, 1, LIDL_CSVSTREAM);
    if (!b)
        lidl_error(L, fname, "self must be a CSV stream, got %s", luaL_typename(L, 1));
    if (!b->s)
        lidl_error(L, fname, "the stream is closed");
    return b;
}

/* Pushes nil and "<path>:<line>: [column <c>: ]<message>" (or the I/O reason). */
static int push_failure(lua_State *L, const char *path, idl_status st, const idl_csv_error *err)
{
    lua_pushnil(L);
    if (st == IDL_EIO && err->line == 0)
        lua_pushfstring(L, "cannot read '%s': %s", path, err->message);
    else if (err->column > 0)
        lua_pushfstring(L, "%s:%d: column %d: %s", path, err->line, err->column, err->message);
    else if (err->line > 0)
        lua_pushfstring(L, "%s:%d: %s", path, err->line, err->message);
    else
        lua_pushfstring(L, "'%s': %s", path, err->message[0] ? err->message : idl_strerror(st));
    return 2;
}

static idl_csv_header check_header(lua_State *L, int idx, const char *fname)
{
    if (lua_isboolean(L, idx))
        return lua_toboolean(L, idx) ? IDL_CSV_HEADER : IDL_CSV_NO_HEADER;
    if (lua_type(L, idx) == LUA_TSTRING && strcmp(lua_tostring(L, idx), "auto") == 0)
        return IDL_CSV_AUTO;
    lidl_error(L, fname, "header must be true, false or \"auto\"");
    return IDL_CSV_AUTO;
}

static int l_csv_stream(lua_State *L)
{
    const char *fn = "_csv_stream";
    size_t n, dn;
    const char *path = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    if (!path || n >= sizeof(((stream_box *)0)->path) || strlen(path) != n)
        return lidl_error(L, fn, "path must be a string (without NUL, under 4096 bytes)");
    const char *d = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &dn) : NULL;
    if (!d || dn != 1 || d[0] == '\n' || d[0] == '\r' || d[0] == '.' || d[0] == '-')
        return lidl_error(L, fn, "delimiter must be one character (not a newline, '.' or '-')");
    idl_csv_stream_opts opts = {d[0], check_header(L, 3, fn), 0, 1};
    opts.shard_size = (int)lidl_checkrange(L, 5, 1, 1 << 20, fn, "shard size");
    opts.shard_rank = (int)lidl_checkrange(L, 4, 0, opts.shard_size - 1, fn, "shard rank");
    stream_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->s = NULL;
    memcpy(b->path, path, n + 1);
    luaL_setmetatable(L, LIDL_CSVSTREAM);
    idl_csv_error err;
    idl_status st = idl_csv_stream_open(path, &opts, &b->s, &err);
    if (st != IDL_OK)
        return push_failure(L, path, st, &err);
    return 1;
}

static int l_cols(lua_State *L)
{
    lua_pushinteger(L, idl_csv_stream_cols(check_box(L, "cols")->s));
    return 1;
}

static int l_names(lua_State *L)
{
    stream_box *b = check_box(L, "names");
    int cols = idl_csv_stream_cols(b->s);
    if (!idl_csv_stream_name(b->s, 0)) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, cols, 0);
    for (int c = 0; c < cols; c++) {
        lua_pushstring(L, idl_csv_stream_name(b->s, c));
        lua_rawseti(L, -2, c + 1);
    }
    return 1;
}

/* Replaces the matrix at idx by a compact copy of its first rows rows. */
static void shrink_rows(lua_State *L, int idx, int rows, const char *fname)
{
    idl_mat *full = lidl_testmat(L, idx);
    idl_mat top = idl_mat_block(full, 0, 0, rows, full->cols);
    idl_mat *m = lidl_newmat(L, rows, full->cols, fname);
    lidl_check(L, idl_copy(&top, m), fname);
    lua_replace(L, idx);
}

static int l_next(lua_State *L)
{
    const char *fn = "next";
    stream_box *b = check_box(L, fn);
    int batch = (int)lidl_checkrange(L, 2, 1, 1 << 24, fn, "batch_size");
    int cols = idl_csv_stream_cols(b->s);
    int target = (int)lidl_checkrange(L, 3, 0, cols, fn, "target") - 1;
    if (target >= 0 && cols == 1)
        return lidl_error(L, fn, "the file has one column: no features are left beside the target");
    lua_settop(L, 3);
    idl_mat *x = lidl_newmat(L, batch, cols - (target >= 0), fn);
    idl_mat *y = NULL;
    if (target >= 0)
        y = lidl_newmat(L, batch, 1, fn);
    else
        lua_pushnil(L);
    int nread = 0;
    idl_csv_error err;
    idl_status st = idl_csv_stream_next(b->s, target, x, y, &nread, &err);
    if (st != IDL_OK)
        return push_failure(L, b->path, st, &err);
    if (nread == 0) {
        lua_pushnil(L);
        return 1;
    }
    if (nread < batch) {
        shrink_rows(L, 4, nread, fn);
        if (y)
            shrink_rows(L, 5, nread, fn);
    }
    return 2;
}

static int l_rewind(lua_State *L)
{
    stream_box *b = check_box(L, "rewind");
    idl_csv_error err;
    idl_status st = idl_csv_stream_rewind(b->s, &err);
    if (st != IDL_OK)
        return push_failure(L, b->path, st, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L)
{
    stream_box *b = luaL_testudata(L, 1, LIDL_CSVSTREAM);
    if (!b)
        return lidl_error(L, "close", "self must be a CSV stream, got %s", luaL_typename(L, 1));
    idl_csv_stream_close(b->s);
    b->s = NULL;
    return 0;
}

void lidl_open_stream(lua_State *L)
{
    static const luaL_Reg methods[] = {{"cols", l_cols},     {"names", l_names},
                                       {"next", l_next},     {"rewind", l_rewind},
                                       {"close", l_close},   {NULL, NULL}};
    luaL_newmetatable(L, LIDL_CSVSTREAM);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_csv_stream);
    lua_setfield(L, -2, "_csv_stream");
}
