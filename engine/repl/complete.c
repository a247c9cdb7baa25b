/* SPDX-License-Identifier: GPL-3.0-or-later */
/* complete.c: tab-completion candidates for the REPL. Lookups use raw access on tables and follow
 * metatables only through __index tables, so pressing TAB never runs user code (no __index
 * functions, no __pairs) and cannot fail halfway through. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "complete.h"

/* How many __index tables a lookup follows; stops cycles such as mt.__index = mt on itself. */
#define MAX_CHAIN 16

static const char *const keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL,
};

static int is_keyword(const char *s, size_t len)
{
    int i;
    for (i = 0; keywords[i] != NULL; i++)
        if (strlen(keywords[i]) == len && memcmp(keywords[i], s, len) == 0)
            return 1;
    return 0;
}

/* Lua's lexer takes ASCII letters, digits and '_' only; locale-dependent isalpha would not. */
static int is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* Only names are offered after '.' and ':', so every completion is valid syntax. */
static int is_name(const char *s, size_t len)
{
    size_t i;
    if (len == 0)
        return 0;
    for (i = 0; i < len; i++)
        if (!is_name_char(s[i], i == 0))
            return 0;
    return !is_keyword(s, len);
}

/* Replaces the value at the top by the next table of its lookup chain, its metatable's __index
 * when that is a table, or by nil. An __index function cannot be looked into without calling it,
 * so a metatable may list what it finds in a __fields table (idl matrices do). */
static void next_in_chain(lua_State *L)
{
    if (lua_getmetatable(L, -1)) {
        lua_pushliteral(L, "__index");
        if (lua_rawget(L, -2) == LUA_TFUNCTION) {
            lua_pop(L, 1);
            lua_pushliteral(L, "__fields");
            lua_rawget(L, -2);
        }
        lua_remove(L, -2);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
        }
    } else {
        lua_pushnil(L);
    }
    lua_remove(L, -2);
}

/* Replaces the value at the top by its field key as indexing would find it, or by nil. */
static void get_field(lua_State *L, const char *key, size_t len)
{
    int depth;
    for (depth = 0; depth < MAX_CHAIN && !lua_isnil(L, -1); depth++) {
        if (lua_istable(L, -1)) {
            lua_pushlstring(L, key, len);
            if (lua_rawget(L, -2) != LUA_TNIL) {
                lua_remove(L, -2);
                return;
            }
            lua_pop(L, 1);
        }
        next_in_chain(L);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

/* Replaces the table at the top by the value the dotted path [path, end) names, or by nil. */
static void resolve(lua_State *L, const char *path, const char *end)
{
    for (;;) {
        const char *dot = memchr(path, '.', (size_t)(end - path));
        const char *stop = dot != NULL ? dot : end;
        if (!is_name(path, (size_t)(stop - path))) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        get_field(L, path, (size_t)(stop - path));
        if (dot == NULL)
            return;
        path = dot + 1;
    }
}

/* What the candidates of one completion share. */
struct request {
    int set;            /* stack index of the table collecting candidates as keys */
    const char *prefix; /* the text up to and including the last '.' or ':' */
    size_t prefix_len;
    const char *part; /* the partial name after it */
    size_t part_len;
    int methods; /* after ':' only functions qualify */
};

static void add_candidate(lua_State *L, const struct request *r, const char *name, size_t len)
{
    lua_pushlstring(L, r->prefix, r->prefix_len);
    lua_pushlstring(L, name, len);
    lua_concat(L, 2);
    lua_pushboolean(L, 1);
    lua_rawset(L, r->set);
}

/* Adds the matching names among the keys of the table at the top. Private names (a leading '_',
 * such as idl._time_dgemm) are offered only once a '_' is typed. */
static void collect_keys(lua_State *L, const struct request *r)
{
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t len;
            const char *key = lua_tolstring(L, -2, &len);
            if (len >= r->part_len && memcmp(key, r->part, r->part_len) == 0 &&
                is_name(key, len) && (key[0] != '_' || r->part_len > 0) &&
                (!r->methods || lua_type(L, -1) == LUA_TFUNCTION))
                add_candidate(L, r, key, len);
        }
        lua_pop(L, 1);
    }
}

/* Adds the matching fields of the value at the top and of its lookup chain; pops the value. */
static void collect(lua_State *L, const struct request *r)
{
    int depth;
    for (depth = 0; depth < MAX_CHAIN && !lua_isnil(L, -1); depth++) {
        if (lua_istable(L, -1))
            collect_keys(L, r);
        next_in_chain(L);
    }
    lua_pop(L, 1);
}

static void collect_keywords(lua_State *L, const struct request *r)
{
    int i;
    for (i = 0; keywords[i] != NULL; i++)
        if (strncmp(keywords[i], r->part, r->part_len) == 0 && strlen(keywords[i]) >= r->part_len)
            add_candidate(L, r, keywords[i], strlen(keywords[i]));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Pushes the keys of the set at index set as a sorted array. */
static void push_sorted(lua_State *L, int set)
{
    size_t n = 0, i = 0;
    const char **names;
    lua_pushnil(L);
    while (lua_next(L, set)) {
        n++;
        lua_pop(L, 1);
    }
    /* a userdata, so the collector reclaims it if pushing below raises */
    names = lua_newuserdatauv(L, n * sizeof *names, 0);
    lua_pushnil(L);
    while (lua_next(L, set)) {
        names[i++] = lua_tostring(L, -2); /* stays valid: the set keeps the key alive */
        lua_pop(L, 1);
    }
    if (n > 1)
        qsort(names, n, sizeof *names, compare_names);
    lua_createtable(L, n < INT_MAX ? (int)n : 0, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_remove(L, -2);
}

/* The last '.' or ':' of text, where the partial name starts; NULL when there is none. */
static const char *last_separator(const char *text, size_t len)
{
    const char *sep = NULL;
    size_t i;
    for (i = 0; i < len; i++)
        if (text[i] == '.' || text[i] == ':')
            sep = text + i;
    return sep;
}

int idl_repl_complete(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *sep = last_separator(text, len);
    struct request r;
    lua_settop(L, 1);
    lua_newtable(L);
    r.set = lua_gettop(L);
    r.prefix = text;
    r.prefix_len = sep != NULL ? (size_t)(sep - text) + 1 : 0;
    r.part = text + r.prefix_len;
    r.part_len = len - r.prefix_len;
    r.methods = sep != NULL && *sep == ':';
    lua_pushglobaltable(L);
    if (sep != NULL)
        resolve(L, text, sep);
    else
        collect_keywords(L, &r);
    collect(L, &r);
    push_sorted(L, r.set);
    return 1;
}
