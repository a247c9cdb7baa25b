/* SPDX-License-Identifier: GPL-3.0-or-later */
/* repl.c: the interactive loop of `idl`, after lua.c's doREPL. A line is first tried as an
 * expression ("return <line>") so values print without '='; a chunk that ends too early (its syntax
 * error is at "<eof>") continues on the next line; "?x" asks help for x. Results are printed
 * through idl.repl's show (tables as readable Lua, estimators as summaries, the rest with
 * tostring, so matrices show through their __tostring). Input comes from GNU readline when stdin is
 * a terminal, from plain stdio otherwise. Ctrl-C at the prompt drops the pending input; while code
 * runs, idl.c's hook interrupts it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getline, sigaction, strdup */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "complete.h"
#include "idl.h"
#include "repl.h"

#define PROMPT "> "
#define PROMPT2 ">> "
#define HISTORY_FILE "/.idl_history"
#define HISTORY_LINES 1000
#define EOF_MARK "<eof>"

/* What reading a line gave. */
enum { LINE_OK, LINE_EOF, LINE_INTERRUPTED };

/* load_line results besides a lua_load status. */
enum { REPL_EOF = -1, REPL_SKIP = -2 };

static int use_readline;   /* stdin is a terminal */
static char *history_path; /* NULL when there is no home directory */

/* Readline callbacks take no context argument. */
static lua_State *completion_state;
static char *accepted_line;
static int line_done;

static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_sigint(int sig)
{
    (void)sig;
    prompt_interrupted = 1;
}

/* ---- history ---- */

static void open_history(void)
{
    const char *home = getenv("HOME");
    int fd;
    if (home == NULL || home[0] == '\0')
        return;
    history_path = malloc(strlen(home) + sizeof HISTORY_FILE);
    if (history_path == NULL)
        return;
    strcpy(history_path, home);
    strcat(history_path, HISTORY_FILE);
    /* append_history needs an existing file; 0600 because history may hold secrets */
    fd = open(history_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0)
        close(fd);
    using_history();
    stifle_history(HISTORY_LINES);
    read_history(history_path);
}

/* Appends at once, so a session ended by os.exit or a crash still keeps its history. Failures to
 * write (read-only home) are ignored on purpose. */
static void save_history(const char *chunk)
{
    if (!use_readline || chunk[0] == '\0')
        return;
    add_history(chunk);
    if (history_path != NULL)
        append_history(1, history_path);
}

static void close_history(void)
{
    if (history_path != NULL)
        history_truncate_file(history_path, HISTORY_LINES);
    free(history_path);
    history_path = NULL;
}

/* ---- completion ---- */

static int complete_text(lua_State *L)
{
    const char *text = *(const char **)lua_touserdata(L, 1);
    lua_pushstring(L, text); /* here, under pcall: a memory error must not longjmp through readline */
    lua_replace(L, 1);
    return idl_repl_complete(L);
}

/* Readline's generator: the state-th candidate of the array at the top of the stack. */
static char *next_candidate(const char *text, int state)
{
    static lua_Integer index;
    lua_State *L = completion_state;
    char *candidate = NULL;
    (void)text;
    if (state == 0)
        index = 0;
    if (lua_rawgeti(L, -1, ++index) == LUA_TSTRING)
        candidate = strdup(lua_tostring(L, -1)); /* readline frees it */
    lua_pop(L, 1);
    return candidate;
}

static char **attempt_completion(const char *text, int start, int end)
{
    lua_State *L = completion_state;
    char **matches = NULL;
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;      /* never fall back to file names */
    rl_completion_append_character = '\0'; /* a space after "m:norm" would be in the way */
    lua_pushcfunction(L, complete_text);
    lua_pushlightuserdata(L, &text);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK)
        matches = rl_completion_matches(text, next_candidate);
    lua_pop(L, 1);
    return matches;
}

static void init_readline(lua_State *L)
{
    completion_state = L;
    rl_readline_name = "idl";
    rl_catch_signals = 0; /* SIGINT at the prompt is handled by read_terminal */
    rl_attempted_completion_function = attempt_completion;
    /* '.' and ':' are not breaks, so TAB sees "m:no" whole and can look inside m */
    rl_basic_word_break_characters = " \t\n\"'`\\<>=;,+-*/%^~#&|(){}[]";
    open_history();
}

/* ---- reading lines ---- */

static void on_line(char *line)
{
    accepted_line = line;
    line_done = 1;
    rl_callback_handler_remove(); /* or readline would show the prompt again */
}

/* Readline's callback interface rather than readline(): a SIGINT interrupts select and the line
 * is dropped cleanly here, where readline() would keep reading or need a longjmp. */
static int read_terminal(const char *prompt, char **line)
{
    line_done = 0;
    accepted_line = NULL;
    rl_callback_handler_install(prompt, on_line);
    while (!line_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        if (select(STDIN_FILENO + 1, &fds, NULL, NULL, NULL) >= 0) {
            rl_callback_read_char();
        } else if (errno != EINTR) {
            rl_callback_handler_remove();
            return LINE_EOF;
        } else if (prompt_interrupted) {
            rl_echo_signal_char(SIGINT);
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_cleanup_after_signal();
            rl_callback_handler_remove();
            fputc('\n', stdout);
            return LINE_INTERRUPTED;
        }
    }
    *line = accepted_line;
    return accepted_line != NULL ? LINE_OK : LINE_EOF;
}

/* No prompt: piped input is not echoed, so prompts would only clutter the results. */
static int read_plain(char **line)
{
    size_t size = 0;
    ssize_t n;
    *line = NULL;
    n = getline(line, &size, stdin);
    if (n < 0) {
        free(*line);
        *line = NULL;
        if (!prompt_interrupted)
            return LINE_EOF;
        clearerr(stdin);
        return LINE_INTERRUPTED;
    }
    if (n > 0 && (*line)[n - 1] == '\n')
        (*line)[n - 1] = '\0';
    return LINE_OK;
}

/* "?x" asks for help: help "x" for a name (idl.randn, m:norm), help(x) for any other expression,
 * help() alone for "?". */
static void push_help_call(lua_State *L, const char *what)
{
    size_t len, i;
    int name = 1;
    while (*what == ' ' || *what == '\t')
        what++;
    len = strlen(what);
    while (len > 0 && (what[len - 1] == ' ' || what[len - 1] == '\t'))
        len--;
    for (i = 0; i < len; i++) {
        char c = what[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == ':'))
            name = 0;
    }
    if (len == 0)
        lua_pushliteral(L, "help()");
    else if (name)
        lua_pushfstring(L, "help '%s'", lua_pushlstring(L, what, len));
    else
        lua_pushfstring(L, "help(%s)", lua_pushlstring(L, what, len));
    if (len > 0)
        lua_remove(L, -2);
}

/* Reads a line and pushes it; a first line "=expr" means "return expr", as in lua.c. */
static int push_line(lua_State *L, int firstline)
{
    struct sigaction sa, old;
    char *line = NULL;
    int status;
    sa.sa_handler = on_prompt_sigint;
    sa.sa_flags = 0; /* no SA_RESTART: the blocked read must return to see the flag */
    sigemptyset(&sa.sa_mask);
    prompt_interrupted = 0;
    fflush(stdout);
    sigaction(SIGINT, &sa, &old);
    status = use_readline ? read_terminal(firstline ? PROMPT : PROMPT2, &line) : read_plain(&line);
    sigaction(SIGINT, &old, NULL);
    if (status != LINE_OK)
        return status;
    if (firstline && line[0] == '=')
        lua_pushfstring(L, "return %s", line + 1);
    else if (firstline && line[0] == '?')
        push_help_call(L, line + 1);
    else
        lua_pushstring(L, line);
    free(line);
    return LINE_OK;
}

/* ---- loading chunks ---- */

/* A syntax error at "<eof>" means the chunk is unfinished, not wrong. */
static int incomplete(lua_State *L, int status)
{
    if (status == LUA_ERRSYNTAX) {
        size_t len;
        const char *msg = lua_tolstring(L, -1, &len);
        size_t mark_len = sizeof EOF_MARK - 1;
        return len >= mark_len && strcmp(msg + len - mark_len, EOF_MARK) == 0;
    }
    return 0;
}

/* Tries the line at the top as an expression; on success leaves its function instead. */
static int add_return(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *retline = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
    if (status == LUA_OK) {
        lua_remove(L, -2);
        save_history(line);
    } else {
        lua_pop(L, 2);
    }
    return status;
}

/* Loads the chunk at index 1 as statements, reading continuation lines while it is incomplete.
 * Leaves the function or the error message above the chunk. */
static int multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *chunk = lua_tolstring(L, 1, &len);
        int status = luaL_loadbuffer(L, chunk, len, "=stdin");
        int more;
        if (!incomplete(L, status)) {
            save_history(chunk);
            return status;
        }
        more = push_line(L, 0);
        if (more == LINE_EOF) { /* report the incomplete chunk's error */
            save_history(chunk);
            return status;
        }
        if (more == LINE_INTERRUPTED) { /* Ctrl-C drops the whole unfinished chunk */
            lua_pop(L, 1);
            return REPL_SKIP;
        }
        lua_remove(L, -2); /* the syntax error */
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Reads one chunk. Leaves a function (LUA_OK) or an error message, or nothing (REPL_EOF,
 * REPL_SKIP). */
static int load_line(lua_State *L)
{
    int status;
    lua_settop(L, 0);
    status = push_line(L, 1);
    if (status != LINE_OK)
        return status == LINE_EOF ? REPL_EOF : REPL_SKIP;
    status = add_return(L);
    if (status != LUA_OK)
        status = multiline(L);
    lua_remove(L, 1);
    return status;
}

/* ---- running ---- */

/* Registry key of the idl.repl module (how values show, timing), absent when it cannot load. */
#define REPL_MODULE "idl.repl module"

/* Loads every lazily loaded part of the global idl (listed in its metatable's __fields), so that
 * completion sees idl.data.*, idl.IDLModel and the rest, and keeps idl.repl in the registry.
 * Without idl.repl (another module named idl) values print through tostring; a failure to load
 * warns and leaves that plain REPL working. */
static const char setup_chunk[] =
    "local idl = rawget(_G, 'idl')\n"
    "if type(idl) ~= 'table' then return nil end\n"
    "local mt = getmetatable(idl)\n"
    "for k in pairs(type(mt) == 'table' and type(mt.__fields) == 'table' and mt.__fields or {}) do\n"
    "  local _ = idl[k]\n"
    "end\n"
    "if not package.searchpath('idl.repl', package.path) then return nil end\n"
    "return require 'idl.repl'";

static void setup_idl(lua_State *L)
{
    int status = luaL_loadbuffer(L, setup_chunk, sizeof setup_chunk - 1, "=(repl setup)");
    if (status == LUA_OK)
        status = idl_repl_docall(L, 0, 1);
    if (status == LUA_OK && lua_istable(L, -1)) {
        lua_setfield(L, LUA_REGISTRYINDEX, REPL_MODULE);
    } else if (status == LUA_OK) {
        lua_pop(L, 1);
    } else {
        fflush(stdout);
        fprintf(stderr, "idl: warning: REPL helpers not loaded: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

/* Pushes field `name` of the idl.repl module, or nil. */
static int get_repl_field(lua_State *L, const char *name)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, REPL_MODULE) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return LUA_TNIL;
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    return lua_type(L, -1);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* After a command, its wall time when idl.timing(true) asked for it. */
static void print_timing(lua_State *L, double seconds)
{
    if (get_repl_field(L, "timing_enabled") == LUA_TBOOLEAN && lua_toboolean(L, -1))
        printf("(%.3f s)\n", seconds);
    lua_pop(L, 1);
}

/* Each value through idl.repl's show (tables as readable Lua), or tostring without it. */
static int write_values(lua_State *L)
{
    int n = lua_gettop(L);
    int i;
    for (i = 1; i <= n; i++) {
        size_t len;
        const char *s;
        if (get_repl_field(L, "show") == LUA_TFUNCTION) {
            lua_pushvalue(L, i);
            lua_call(L, 1, 1);
            s = luaL_tolstring(L, -1, &len);
            lua_remove(L, -2);
        } else {
            lua_pop(L, 1);
            s = luaL_tolstring(L, i, &len);
        }
        if (i > 1)
            fputc('\t', stdout);
        fwrite(s, 1, len, stdout);
        lua_pop(L, 1);
    }
    fputc('\n', stdout);
    return 0;
}

/* Prints the values on the stack like print does, but independently of the global `print`.
 * Through docall, so a slow or failing __tostring can be interrupted and is reported. */
static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n > 0) {
        luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
        lua_pushcfunction(L, write_values);
        lua_insert(L, 1);
        idl_repl_report(L, idl_repl_docall(L, n, 0), 0);
    }
}

void idl_repl_loop(lua_State *L)
{
    int status;
    use_readline = isatty(STDIN_FILENO);
    setup_idl(L);
    lua_pushcfunction(L, idl_repl_complete);
    lua_setglobal(L, "_idl_complete");
    if (use_readline)
        init_readline(L);
    while ((status = load_line(L)) != REPL_EOF) {
        double start = now();
        if (status == REPL_SKIP)
            continue;
        if (status == LUA_OK)
            status = idl_repl_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            print_results(L);
        else
            idl_repl_report(L, status, 0);
        if (status == LUA_OK)
            print_timing(L, now() - start);
    }
    lua_settop(L, 0);
    if (use_readline) /* readline has already ended the line at Ctrl-D */
        close_history();
    fflush(stdout);
}
