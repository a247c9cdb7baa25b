/* lio.c - idl.read_csv, idl.write_csv (and _csv_writer, a block at a time),
 * idl.write_file_atomic, and idl.hash
 * (the exact data fingerprints that checkpoint files store). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "file.h"
#include "hash.h"
#include "lbind.h"

static char check_delimiter(lua_State *L, int idx, const char *fn)
{
    size_t n;
    const char *d = lua_tolstring(L, idx, &n);
    if (!d || n != 1 || d[0] == '\n' || d[0] == '\r' || d[0] == '.' || d[0] == '-')
        lidl_error(L, fn, "delimiter must be one character (not a newline, '.' or '-')");
    return d[0];
}

/* Reads the options table of read_csv at idx (header, delimiter). */
static void read_opts(lua_State *L, int idx, char *delim, idl_csv_header *header)
{
    *delim = ',';
    *header = IDL_CSV_AUTO;
    if (lua_isnoneornil(L, idx))
        return;
    if (!lua_istable(L, idx))
        lidl_error(L, "read_csv", "options must be a table, got %s", luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(key, "delimiter") == 0) {
            *delim = check_delimiter(L, -1, "read_csv");
        } else if (strcmp(key, "header") == 0) {
            if (lua_isboolean(L, -1))
                *header = lua_toboolean(L, -1) ? IDL_CSV_HEADER : IDL_CSV_NO_HEADER;
            else if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "auto") == 0)
                *header = IDL_CSV_AUTO;
            else
                lidl_error(L, "read_csv", "header must be true, false or \"auto\"");
        } else {
            lidl_error(L, "read_csv", "unknown option '%s' (known: header, delimiter)", key);
        }
        lua_pop(L, 1);
    }
}

/* The table read from a file lives in a userdata whose __gc frees it, so a
 * Lua error while it is converted cannot leak it. */
static int csvbox_gc(lua_State *L)
{
    idl_csv_free(lua_touserdata(L, 1));
    return 0;
}

static idl_csv_table *new_csvbox(lua_State *L)
{
    idl_csv_table *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    if (luaL_newmetatable(L, "idl.csvbox")) {
        lua_pushcfunction(L, csvbox_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return t;
}

static int l_read_csv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char delim;
    idl_csv_header header;
    read_opts(L, 2, &delim, &header);
    idl_csv_table *t = new_csvbox(L);
    idl_csv_error err;
    idl_status st = idl_csv_read(path, delim, header, t, &err);
    if (st == IDL_EIO)
        return lidl_error(L, "read_csv", "cannot read '%s': %s", path, err.message);
    if (st == IDL_EPARSE && err.column > 0)
        return lidl_error(L, "read_csv", "%s:%d: column %d: %s", path, err.line, err.column,
                          err.message);
    if (st == IDL_EPARSE)
        return lidl_error(L, "read_csv", "%s:%d: %s", path, err.line, err.message);
    lidl_check(L, st, "read_csv");
    idl_mat *m = lidl_newmat(L, t->rows, t->cols, "read_csv");
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++)
            IDL_AT(m, r, c) = t->values[(size_t)r * (size_t)t->cols + (size_t)c];
    if (t->names) {
        lua_createtable(L, t->cols, 0);
        for (int c = 0; c < t->cols; c++) {
            lua_pushstring(L, t->names[c]);
            lua_rawseti(L, -2, c + 1);
        }
    } else {
        lua_pushnil(L);
    }
    return 2;
}

/* The names table at idx (cols strings) as an array of C strings, NULL for
 * nil; the array and an anchor of the strings are pushed on the stack. */
static const char **check_names(lua_State *L, int idx, int cols, char delim, const char *fn)
{
    if (lua_isnoneornil(L, idx))
        return NULL;
    if (!lua_istable(L, idx) || (lua_Integer)lua_rawlen(L, idx) != cols)
        lidl_error(L, fn, "names must be a table of %d strings", cols);
    const char **names = lua_newuserdatauv(L, (size_t)cols * sizeof *names + 1, 0);
    lua_createtable(L, cols, 0); /* anchors the name strings */
    int anchor = lua_gettop(L);
    for (int c = 0; c < cols; c++) {
        lua_geti(L, idx, c + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            lidl_error(L, fn, "name %d must be a string, got %s", c + 1, luaL_typename(L, -1));
        names[c] = lua_tostring(L, -1);
        lua_rawseti(L, anchor, c + 1);
    }
    int bad = idl_csv_bad_name(names, cols, delim);
    if (bad >= 0)
        lidl_error(L, fn, "name %d would not read back (it holds the delimiter or a line break)",
                   bad + 1);
    return names;
}

static int l_write_csv(lua_State *L)
{
    const char *fn = "write_csv";
    const char *path = luaL_checkstring(L, 1);
    idl_mat *m = lidl_checkmat(L, 2, fn, "m");
    char delim = lua_isnoneornil(L, 4) ? ',' : check_delimiter(L, 4, fn);
    const char **names = check_names(L, 3, m->cols, delim, fn);
    idl_csv_error err;
    idl_status st = idl_csv_write(path, m, names, delim, &err);
    if (st == IDL_EIO)
        return lidl_error(L, fn, "cannot write '%s': %s", path, err.message);
    lidl_check(L, st, fn);
    return 0;
}

/* _csv_writer: a CSV file written a block of rows at a time (predictions of
 * a streamed source), through one atomic writer: nothing appears at path
 * until commit, and a failed write or an abort (also by the collector, when
 * the handle is dropped uncommitted) leaves the old file as it was. */
#define LIDL_CSVWRITER "idl.csvwriter"

typedef struct writer_box {
    idl_writer *w; /* NULL once committed or aborted */
    int cols;      /* the width of every row, fixed by the first block or the names */
    char delim;
} writer_box;

static writer_box *check_writer(lua_State *L, const char *fn)
{
    writer_box *b = luaL_checkudata(L, 1, LIDL_CSVWRITER);
    if (!b->w)
        lidl_error(L, fn, "the writer is closed (committed or aborted)");
    return b;
}

/* Pushes nil and "cannot write '<path>': <reason>" for the box at idx (its
 * user value is the path), then releases the writer (aborted unless done). */
static int writer_failure(lua_State *L, int idx, writer_box *b, bool done)
{
    const char *reason = idl_writer_reason(b->w);
    if (!done)
        idl_writer_abort(b->w);
    free(b->w);
    b->w = NULL;
    lua_pushnil(L);
    lua_getiuservalue(L, idx, 1);
    lua_pushfstring(L, "cannot write '%s': %s", lua_tostring(L, -1), reason);
    lua_remove(L, -2);
    return 2;
}

static int l_csv_writer(lua_State *L)
{
    const char *fn = "_csv_writer";
    const char *path = luaL_checkstring(L, 1);
    char delim = lua_isnoneornil(L, 3) ? ',' : check_delimiter(L, 3, fn);
    if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        return lidl_error(L, fn, "names must be a table of strings, got %s", luaL_typename(L, 2));
    lua_Integer len = lua_isnoneornil(L, 2) ? 0 : (lua_Integer)lua_rawlen(L, 2);
    if (len > (1 << 20))
        return lidl_error(L, fn, "names must hold at most %d strings", 1 << 20);
    int cols = (int)len;
    const char **names = check_names(L, 2, cols, delim, fn);
    writer_box *b = lua_newuserdatauv(L, sizeof *b, 1);
    b->w = NULL;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    b->cols = names ? cols : -1;
    b->delim = delim;
    luaL_setmetatable(L, LIDL_CSVWRITER);
    idl_writer *w = malloc(sizeof *w);
    if (!w)
        return lidl_error(L, fn, "out of memory");
    if (idl_writer_open(w, path) != IDL_OK) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write '%s': %s", path, idl_writer_reason(w));
        free(w);
        return 2;
    }
    b->w = w;
    if (names && idl_csv_write_names(w, names, cols, delim) != IDL_OK)
        return writer_failure(L, lua_gettop(L), b, false);
    return 1;
}

/* writer:write(M) -> true, or nil and a message (the writer is then aborted). */
static int l_writer_write(lua_State *L)
{
    const char *fn = "write";
    writer_box *b = check_writer(L, fn);
    idl_mat *m = lidl_checkmat(L, 2, fn, "M");
    if (b->cols >= 0 && m->cols != b->cols)
        return lidl_error(L, fn, "M has %d columns, the file's rows have %d", m->cols, b->cols);
    b->cols = m->cols;
    if (idl_csv_write_matrix(b->w, m, b->delim) != IDL_OK)
        return writer_failure(L, 1, b, false);
    lua_pushboolean(L, 1);
    return 1;
}

/* writer:commit() -> true, or nil and a message (the old file is kept). */
static int l_writer_commit(lua_State *L)
{
    writer_box *b = check_writer(L, "commit");
    if (idl_writer_commit(b->w) != IDL_OK)
        return writer_failure(L, 1, b, true);
    free(b->w);
    b->w = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_writer_abort(lua_State *L)
{
    writer_box *b = luaL_checkudata(L, 1, LIDL_CSVWRITER);
    if (b->w) {
        idl_writer_abort(b->w);
        free(b->w);
        b->w = NULL;
    }
    return 0;
}

static int l_write_file_atomic(lua_State *L)
{
    const char *fn = "write_file_atomic";
    const char *path = luaL_checkstring(L, 1);
    int n = lua_gettop(L);
    for (int i = 2; i <= n; i++)
        if (lua_type(L, i) != LUA_TSTRING)
            lidl_error(L, fn, "argument %d must be a string, got %s", i, luaL_typename(L, i));
    /* no Lua error can happen from here to the commit: nothing to leak */
    idl_writer *w = malloc(sizeof *w);
    if (!w)
        return lidl_error(L, fn, "out of memory");
    idl_status st = idl_writer_open(w, path);
    for (int i = 2; st == IDL_OK && i <= n; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        st = idl_writer_write(w, s, len);
    }
    if (st == IDL_OK || w->path)
        st = idl_writer_commit(w); /* also removes the temporary after a failed write */
    if (st == IDL_OK) {
        free(w);
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    if (st == IDL_EIO)
        lua_pushfstring(L, "cannot write '%s': %s", path, idl_writer_reason(w));
    else
        lua_pushfstring(L, "cannot write '%s': %s", path, idl_strerror(st));
    free(w);
    return 2;
}

static int l_hash(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "hash", "m");
    uint64_t h;
    lidl_check(L, idl_mat_hash(m, &h), "hash");
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    lua_pushstring(L, hex);
    return 1;
}

void lidl_open_io(lua_State *L)
{
    static const luaL_Reg writer_methods[] = {{"write", l_writer_write},
                                              {"commit", l_writer_commit},
                                              {"abort", l_writer_abort},
                                              {NULL, NULL}};
    luaL_newmetatable(L, LIDL_CSVWRITER);
    luaL_newlib(L, writer_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_writer_abort);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_csv_writer);
    lua_setfield(L, -2, "_csv_writer");
    lua_pushcfunction(L, l_hash);
    lua_setfield(L, -2, "hash");
    lua_pushcfunction(L, l_read_csv);
    lua_setfield(L, -2, "read_csv");
    lua_pushcfunction(L, l_write_csv);
    lua_setfield(L, -2, "write_csv");
    lua_pushcfunction(L, l_write_file_atomic);
    lua_setfield(L, -2, "write_file_atomic");
}
