/*
 * fuzz_model.c - libFuzzer harness for the model-file loader (lua/idl/model.lua's
 * load and parse, and the engine functions they call).
 *
 * One Lua state runs the whole session: idl.core is linked in (preloaded),
 * the Lua modules come from the source tree. Each input is written to a file
 * and given to idl.load under pcall, twice: as it is, and "sealed" (any
 * trailing "end <checksum>" line replaced by the right one), since a fuzzer
 * cannot invert the FNV-1a checksum that guards the body. A Lua error is an
 * accepted outcome; a crash, a leak or a sanitizer report is not.
 *
 * IDL_FUZZ_STRICT=1 also aborts on the Lua-level findings: an error message
 * that does not name load, or a loaded model that cannot be saved again or
 * does not read back to the same text.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_idl_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef IDL_SOURCE_LUA_DIR
#error "IDL_SOURCE_LUA_DIR must name the source tree's lua/ directory"
#endif

/* Runs in the state: check(path, strict) loads path and, when the load
 * succeeds, saves and re-reads the model. */
static const char *const CHECK_LUA =
    "local idl = require 'idl'\n"
    "local model = require 'idl.model'\n"
    "return function(path, strict)\n"
    "  local ok, m = pcall(idl.load, path)\n"
    "  if not ok then\n"
    "    if strict and not tostring(m):find('load', 1, true) then\n"
    "      error('load raised without its name: ' .. tostring(m))\n"
    "    end\n"
    "    return\n"
    "  end\n"
    "  local saved, text = pcall(model.serialize, m)\n"
    "  if not saved then\n"
    "    if strict then error('a loaded model cannot be saved: ' .. tostring(text)) end\n"
    "    return\n"
    "  end\n"
    "  local again = model.serialize(model.parse(text))\n"
    "  if strict and again ~= text then error('save and load are not a fixed point') end\n"
    "  pcall(m.predict_u, m, idl.zeros(m.n, 2), {max_iter = 20})\n"
    "end\n";

static lua_State *state;
static int check_ref = LUA_NOREF;
static int strict;
static char path[512];

static void die(const char *what)
{
    fprintf(stderr, "fuzz_model: %s\n", what);
    abort();
}

static void remove_temp_file(void)
{
    remove(path);
}

static void setup(void)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/idl_fuzz_model_%d.idl", dir ? dir : "/tmp", (int)getpid());
    atexit(remove_temp_file);
    strict = getenv("IDL_FUZZ_STRICT") && strcmp(getenv("IDL_FUZZ_STRICT"), "0") != 0;
    state = luaL_newstate();
    if (!state)
        die("cannot create a Lua state");
    luaL_openlibs(state);
    lua_getglobal(state, "package");
    lua_getfield(state, -1, "preload");
    lua_pushcfunction(state, luaopen_idl_core);
    lua_setfield(state, -2, "idl.core");
    lua_pop(state, 1);
    lua_pushstring(state, IDL_SOURCE_LUA_DIR "/?.lua;" IDL_SOURCE_LUA_DIR "/?/init.lua");
    lua_setfield(state, -2, "path");
    lua_pop(state, 1);
    if (luaL_loadstring(state, CHECK_LUA) != LUA_OK || lua_pcall(state, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_model: %s\n", lua_tostring(state, -1));
        die("cannot load idl");
    }
    check_ref = luaL_ref(state, LUA_REGISTRYINDEX);
}

/* FNV-1a, 32 bits, as model.lua's checksum. */
static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void write_file(const uint8_t *p, size_t n, const char *tail)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die("cannot write the temporary file");
    fwrite(p, 1, n, f);
    if (tail)
        fputs(tail, f);
    fclose(f);
}

static void check(void)
{
    lua_rawgeti(state, LUA_REGISTRYINDEX, check_ref);
    lua_pushstring(state, path);
    lua_pushboolean(state, strict);
    if (lua_pcall(state, 2, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_model: %s\n", lua_tostring(state, -1));
        die("finding (IDL_FUZZ_STRICT)");
    }
    /* Collect everything this input made, so that libFuzzer's malloc/free
     * balance holds and any leak is a real one. */
    lua_gc(state, LUA_GCCOLLECT, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state)
        setup();
    write_file(data, size, NULL);
    check();
    /* Sealed: the body is everything before the last line starting "end ",
     * ending with a newline, then a valid end line. */
    size_t body = size;
    for (size_t i = size; i > 0; i--) {
        if ((i == 1 || data[i - 2] == '\n') && size - (i - 1) >= 4 && memcmp(data + i - 1, "end ", 4) == 0) {
            body = i - 1;
            break;
        }
    }
    uint8_t *sealed = malloc(body + 1);
    if (!sealed)
        return 0;
    memcpy(sealed, data, body);
    size_t n = body;
    if (n == 0 || sealed[n - 1] != '\n')
        sealed[n++] = '\n';
    char tail[32];
    snprintf(tail, sizeof tail, "end %08x\n", (unsigned)fnv1a(sealed, n));
    write_file(sealed, n, tail);
    free(sealed);
    check();
    return 0;
}
