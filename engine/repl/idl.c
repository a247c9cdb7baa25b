/* SPDX-License-Identifier: GPL-3.0-or-later */
/* idl.c: the `idl` executable, shaped like Lua 5.4's lua.c. It owns the Lua state and the command
 * line: runs -e strings, -l modules and a script exactly as lua5.4 would (so `idl /usr/bin/busted`
 * works), then hands over to the REPL (repl.c). The matrix engine arrives through luaopen_idl_core,
 * and the Lua modules are found next to the executable, never through environment variables. Every
 * mode has the global `help` (idl.help); -e chunks and the REPL also the global `idl`. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "idl.h"
#include "repl.h"

#ifndef IDL_VERSION
#error "IDL_VERSION must be defined by the build"
#endif
#ifndef IDL_SOURCE_LUA_DIR
#error "IDL_SOURCE_LUA_DIR must be defined by the build"
#endif

extern int luaopen_idl_core(lua_State *L);
extern void lidl_mpi_abort_if_parallel(int code); /* engine/bind/lmpi.c */

/* Where an installed idl keeps its Lua modules, relative to the directory of the executable. */
#define INSTALLED_LUA_DIR "/../share/lua/5.4"

/* The REPL's second banner line. */
#define REPL_HINT \
    "The module idl is preloaded as `idl`. help() explains help; Tab completes (idl.IDL<Tab>).\n"

/* Bits returned by collect_args. */
enum { HAS_ERROR = 1, HAS_I = 2, HAS_V = 4, HAS_E = 8, HAS_UPPER_E = 16, HAS_HELP = 32 };

static const char *progname = "idl";

/* The state a SIGINT interrupts; a signal handler receives no context. */
static lua_State *running_state;

void idl_repl_print_version(void)
{
    fputs("idl " IDL_VERSION " (" LUA_VERSION ") -- implicit deep learning\n", stdout);
    fflush(stdout);
}

static void print_message(const char *who, const char *msg)
{
    fflush(stdout); /* keeps results and errors in order when both go to one file */
    if (who != NULL)
        fprintf(stderr, "%s: ", who);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
}

int idl_repl_report(lua_State *L, int status, int named)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        print_message(named ? progname : NULL, msg != NULL ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* Message handler: turns any error object into a string with a traceback, as lua.c does. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

static void set_sigint(void (*handler)(int), struct sigaction *old)
{
    struct sigaction sa;
    sa.sa_handler = handler;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old);
}

/* A handler may not call Lua, but lua_sethook is safe here by design: the hook raises the error at
 * the next Lua instruction. Resetting to the default lets a second Ctrl-C kill a stuck C call. */
static void on_sigint(int sig)
{
    (void)sig;
    set_sigint(SIG_DFL, NULL);
    lua_sethook(running_state, stop_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

int idl_repl_docall(lua_State *L, int narg, int nres)
{
    struct sigaction old;
    int base = lua_gettop(L) - narg;
    int status;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    running_state = L;
    set_sigint(on_sigint, &old);
    status = lua_pcall(L, narg, nres, base);
    sigaction(SIGINT, &old, NULL);
    /* A Ctrl-C that arrived just as the call returned must not interrupt the next one. */
    if (lua_gethook(L) == stop_hook)
        lua_sethook(L, NULL, 0, 0);
    lua_remove(L, base);
    return status;
}

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: %s [options] [script [args]]\n"
            "Available options are:\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter interactive mode after executing 'script'\n"
            "  -l mod    require library 'mod' into global 'mod'\n"
            "  -l g=mod  require library 'mod' into global 'g'\n"
            "  -v        show version information (also --version)\n"
            "  -E        ignore environment variables\n"
            "  -W        turn warnings on\n"
            "  -h        show this help\n"
            "  --        stop handling options\n"
            "  -         stop handling options and execute stdin\n"
            "With no script and no -e or -v, idl starts its interactive REPL.\n",
            progname);
}

static void print_bad_option(const char *option)
{
    fprintf(stderr, "%s: ", progname);
    if (option[1] == 'e' || option[1] == 'l')
        fprintf(stderr, "'%s' needs argument\n", option);
    else
        fprintf(stderr, "unrecognized option '%s'\n", option);
    print_usage(stderr);
}

/* Reads the options as lua.c does. *script gets the index of the script in argv, 0 when there is
 * none, or the index of the offending option on HAS_ERROR. */
static int collect_args(char **argv, int *script)
{
    int args = 0;
    int i;
    *script = 0;
    if (argv[0] == NULL)
        return 0;
    if (argv[0][0] != '\0')
        progname = argv[0];
    for (i = 1; argv[i] != NULL; i++) {
        const char *a = argv[i];
        *script = i;
        if (a[0] != '-')
            return args;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return HAS_HELP;
        if (strcmp(a, "--version") == 0) { /* as -v */
            args |= HAS_V;
            continue;
        }
        switch (a[1]) {
        case '-':
            if (a[2] != '\0')
                return HAS_ERROR;
            *script = argv[i + 1] != NULL ? i + 1 : 0;
            return args;
        case '\0': /* '-' is the script: stdin */
            return args;
        case 'E':
        case 'W':
        case 'i':
        case 'v':
            if (a[2] != '\0')
                return HAS_ERROR;
            if (a[1] == 'E')
                args |= HAS_UPPER_E;
            else if (a[1] == 'i')
                args |= HAS_I;
            else if (a[1] == 'v')
                args |= HAS_V;
            break; /* -W acts in run_args */
        case 'e':
        case 'l':
            if (a[1] == 'e')
                args |= HAS_E;
            if (a[2] == '\0' && (argv[i + 1] == NULL || argv[i + 1][0] == '-'))
                return HAS_ERROR; /* the argument is missing */
            if (a[2] == '\0')
                i++;
            break;
        default:
            return HAS_ERROR;
        }
    }
    *script = 0;
    return args;
}

/* arg[0] is the script (or the program when there is none); what precedes it gets negative
 * indices, its arguments positive ones. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
    int i;
    lua_createtable(L, argc - script - 1 > 0 ? argc - script - 1 : 0, script + 1);
    for (i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status)
{
    if (status == LUA_OK)
        status = idl_repl_docall(L, 0, 0);
    return idl_repl_report(L, status, 1);
}

static int dostring(lua_State *L, const char *s, const char *name)
{
    return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod sets global mod = require "mod"; -l g=mod sets global g. */
static int dolibrary(lua_State *L, const char *spec)
{
    const char *eq = strchr(spec, '=');
    const char *modname = eq != NULL ? eq + 1 : spec;
    int status;
    lua_getglobal(L, "require");
    lua_pushstring(L, modname);
    status = idl_repl_docall(L, 1, 1);
    if (status == LUA_OK) {
        lua_pushlstring(L, spec, eq != NULL ? (size_t)(eq - spec) : strlen(spec));
        lua_insert(L, -2);
        lua_setglobal(L, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    return idl_repl_report(L, status, 1);
}

/* Runs -e and -l in command-line order; returns 0 at the first failure. */
static int run_args(lua_State *L, char **argv, int n)
{
    int i;
    for (i = 1; i < n; i++) {
        int option = argv[i][1];
        if (option == 'e' || option == 'l') {
            const char *extra = argv[i][2] != '\0' ? argv[i] + 2 : argv[++i];
            int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
            if (status != LUA_OK)
                return 0;
        } else if (option == 'W') {
            lua_warning(L, "@on", 0);
        }
    }
    return 1;
}

/* Pushes arg[1..#arg], which become the script's `...`. */
static int push_args(lua_State *L)
{
    int i, n;
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -i);
    return n;
}

static int handle_script(lua_State *L, char **argv)
{
    const char *fname = argv[0];
    int status;
    if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
        fname = NULL; /* stdin */
    status = luaL_loadfile(L, fname);
    if (status == LUA_OK)
        status = idl_repl_docall(L, push_args(L), LUA_MULTRET);
    return idl_repl_report(L, status, 1);
}

/* Pushes the directory holding the idl Lua modules: <exe_dir>/../share/lua/5.4 when idl is
 * installed there, else the source tree the executable was built from. */
static void push_module_dir(lua_State *L)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            char *dir;
            *slash = '\0';
            lua_pushfstring(L, "%s" INSTALLED_LUA_DIR, exe);
            dir = realpath(lua_tostring(L, -1), NULL);
            lua_pop(L, 1);
            if (dir != NULL) {
                lua_pushfstring(L, "%s/idl/init.lua", dir);
                if (access(lua_tostring(L, -1), R_OK) == 0) {
                    lua_pop(L, 1);
                    lua_pushstring(L, dir);
                    free(dir);
                    return;
                }
                lua_pop(L, 1);
                free(dir);
            }
        }
    }
    lua_pushstring(L, IDL_SOURCE_LUA_DIR);
}

/* The global `idl` of the REPL and of -e chunks. A broken module must not keep the REPL from
 * starting: it warns instead, with the first line of the error. */
static void set_idl_global(lua_State *L)
{
    int status;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "idl");
    status = idl_repl_docall(L, 1, 1);
    if (status == LUA_OK) {
        lua_setglobal(L, "idl");
    } else {
        const char *msg = lua_tostring(L, -1);
        int first_line = 0;
        if (msg == NULL)
            msg = "(error object is not a string)";
        while (msg[first_line] != '\0' && msg[first_line] != '\n')
            first_line++;
        fflush(stdout);
        fprintf(stderr, "idl: warning: cannot load module 'idl', global 'idl' not set: %.*s\n",
                first_line, msg);
        lua_pop(L, 1);
    }
}

/* The global `help` of every mode: loads idl.help on its first call, so that scripts that never
 * ask for help load nothing. A tail call, so that its errors blame the caller's line. */
static const char help_chunk[] = "help = function(...) return require('idl').help(...) end";

/* Makes require "idl.core" open the C engine and puts the idl modules first on package.path,
 * keeping the rest so system modules (busted, penlight) still load. */
static void open_idl(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_idl_core);
    lua_setfield(L, -2, "idl.core");
    lua_pop(L, 1);

    lua_getglobal(L, "package");
    push_module_dir(L);
    lua_getfield(L, -2, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", lua_tostring(L, -2), lua_tostring(L, -2),
                    lua_tostring(L, -1));
    lua_setfield(L, -4, "path");
    lua_pop(L, 3);
}

/* Everything that may raise runs here, under the lua_pcall in main. Returns true on success. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int script, interactive;
    int args = collect_args(argv, &script);
    int optlim = script > 0 ? script : argc;
    luaL_checkversion(L);
    if (args == HAS_ERROR) {
        print_bad_option(argv[script]);
        return 0;
    }
    if (args == HAS_HELP) {
        print_usage(stdout);
        lua_pushboolean(L, 1);
        return 1;
    }
    if (args & HAS_V)
        idl_repl_print_version();
    if (args & HAS_UPPER_E) { /* the package library then ignores LUA_PATH and LUA_CPATH */
        lua_pushboolean(L, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    }
    luaL_openlibs(L);
    open_idl(L);
    create_arg_table(L, argv, argc, script);
    /* Lua's incremental collector, not lua.c's generational one: with a big matrix per
     * statement (C = A * B in a loop) every collection comes while the last result is still
     * referenced, so generational mode ages each result into the old generation and four dead
     * ones pile up between major collections; incremental cycles span statements and, paced by
     * lidl_newmat, keep at most one (bench_matmul: 1.07-1.15x a dgemm in processor time, against
     * 1.03x). */
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCINC, 0, 0, 0);
    if (dostring(L, help_chunk, "=(help)") != LUA_OK)
        return 0;
    interactive = (args & HAS_I) || (script == 0 && !(args & (HAS_E | HAS_V)));
    if ((args & HAS_E) || interactive)
        set_idl_global(L);
    if (!run_args(L, argv, optlim))
        return 0;
    if (script > 0 && handle_script(L, argv + script) != LUA_OK)
        return 0;
    if (interactive) {
        if (!(args & HAS_V))
            idl_repl_print_version();
        fputs(REPL_HINT, stdout);
        idl_repl_loop(L);
    }
    lua_pushboolean(L, 1);
    return 1;
}

int main(int argc, char **argv)
{
    int status, ok;
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        print_message(argv[0], "cannot create state: not enough memory");
        return EXIT_FAILURE;
    }
    lua_gc(L, LUA_GCSTOP); /* no collections while the state is being built */
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    status = lua_pcall(L, 2, 1, 0);
    ok = lua_toboolean(L, -1);
    idl_repl_report(L, status, 1);
    if (!ok || status != LUA_OK) /* under mpirun, the other ranks must not wait for this one */
        lidl_mpi_abort_if_parallel(EXIT_FAILURE);
    lua_close(L);
    return ok && status == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
