/* lrng.c - idl.rng(seed): seeded generators as userdata (GSL mt19937). */
#include <stdint.h>

#include "lbind.h"

/* A generator's userdata is the generator itself, GSL state included
 * (idl_rng_init): the collector counts its ~5 KB, and nothing needs freeing. */
idl_rng *lidl_checkrng(lua_State *L, int idx, const char *fname)
{
    idl_rng *r = luaL_testudata(L, idx, LIDL_RNG);
    if (!r)
        lidl_error(L, fname, "a generator from idl.rng(seed) is required, got %s",
                   luaL_typename(L, idx));
    return r;
}

static int l_rng(lua_State *L)
{
    lua_Integer seed = lua_isnoneornil(L, 1)
                           ? 0
                           : lidl_checkrange(L, 1, 0, (lua_Integer)UINT32_MAX, "rng", "seed");
    idl_rng_init(lua_newuserdatauv(L, idl_rng_bytes(), 0), (unsigned long)seed);
    luaL_setmetatable(L, LIDL_RNG);
    return 1;
}

static int rng_uniform(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:uniform");
    double lo = lua_isnoneornil(L, 2) ? 0.0 : lidl_checkfinite(L, 2, "rng:uniform", "lo");
    double hi = lua_isnoneornil(L, 3) ? 1.0 : lidl_checkfinite(L, 3, "rng:uniform", "hi");
    lua_pushnumber(L, lo + (hi - lo) * idl_rng_uniform(r));
    return 1;
}

static int rng_normal(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:normal");
    double mean = lua_isnoneornil(L, 2) ? 0.0 : lidl_checkfinite(L, 2, "rng:normal", "mean");
    double sd = lua_isnoneornil(L, 3) ? 1.0 : lidl_checkfinite(L, 3, "rng:normal", "sd");
    lua_pushnumber(L, mean + sd * idl_rng_normal(r));
    return 1;
}

static int rng_integer(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:integer");
    lua_Integer n = lidl_checkrange(L, 2, 1, (lua_Integer)UINT32_MAX, "rng:integer", "n");
    lua_pushinteger(L, (lua_Integer)idl_rng_below(r, (unsigned long)n) + 1);
    return 1;
}

static int rng_permutation(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:permutation");
    lua_Integer n = lidl_checkrange(L, 2, 0, 1 << 28, "rng:permutation", "n");
    size_t *p = lua_newuserdatauv(L, (size_t)n * sizeof(size_t) + 1, 0);
    idl_rng_permutation(r, p, (size_t)n);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)p[i] + 1);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int rng_shuffle(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:shuffle");
    if (!lua_istable(L, 2))
        lidl_error(L, "rng:shuffle", "expected a table, got %s", luaL_typename(L, 2));
    lua_Integer n = luaL_len(L, 2);
    for (lua_Integer i = n; i > 1; i--) {
        lua_Integer j = (lua_Integer)idl_rng_below(r, (unsigned long)i) + 1;
        lua_geti(L, 2, i);
        lua_geti(L, 2, j);
        lua_seti(L, 2, i);
        lua_seti(L, 2, j);
    }
    lua_settop(L, 2);
    return 1;
}

static int rng_state(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:state");
    size_t n = idl_rng_state_size(r);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n);
    idl_rng_get_state(r, p);
    luaL_pushresultsize(&b, n);
    return 1;
}

static int rng_set_state(lua_State *L)
{
    idl_rng *r = lidl_checkrng(L, 1, "rng:set_state");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    idl_status st = idl_rng_set_state(r, s, n);
    if (st == IDL_EINVAL)
        lidl_error(L, "rng:set_state", "state has %d bytes, expected %d", (int)n,
                   (int)idl_rng_state_size(r));
    if (st != IDL_OK)
        lidl_error(L, "rng:set_state", "not a state of this generator (from rng:state())");
    lua_settop(L, 1);
    return 1;
}

static int rng_tostring(lua_State *L)
{
    lidl_checkrng(L, 1, "rng:tostring");
    lua_pushfstring(L, "idl.rng (mt19937) %p", lua_topointer(L, 1));
    return 1;
}

static const luaL_Reg rng_methods[] = {
    {"uniform", rng_uniform},       {"normal", rng_normal}, {"integer", rng_integer},
    {"permutation", rng_permutation}, {"shuffle", rng_shuffle}, {"state", rng_state},
    {"set_state", rng_set_state},   {NULL, NULL}};

void lidl_open_rng(lua_State *L)
{
    luaL_newmetatable(L, LIDL_RNG);
    lua_pushcfunction(L, rng_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, rng_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_rng);
    lua_setfield(L, -2, "rng");
}
