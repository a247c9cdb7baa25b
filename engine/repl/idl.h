/* SPDX-License-Identifier: GPL-3.0-or-later */
/* idl.h: what the executable's main file (idl.c) shares with the REPL (repl.c): running Lua code so
 * that Ctrl-C interrupts it, and reporting errors. The lua_State belongs to main; these functions
 * work on its stack only. */
#ifndef IDL_REPL_IDL_H
#define IDL_REPL_IDL_H

#include <lua.h>

/* Calls the function below its narg arguments in protected mode with a traceback message handler;
 * a SIGINT meanwhile raises "interrupted!" in the running Lua code. Returns the lua_pcall status. */
int idl_repl_docall(lua_State *L, int narg, int nres);

/* If status is an error, prints the message at the top of the stack to stderr (prefixed by the
 * program name when named is nonzero) and pops it. Returns status. */
int idl_repl_report(lua_State *L, int status, int named);

/* Writes "idl <version> (Lua 5.4) -- implicit deep learning" and a newline to stdout. */
void idl_repl_print_version(void);

#endif
