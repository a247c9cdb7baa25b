/* SPDX-License-Identifier: GPL-3.0-or-later */
/* repl.h: the interactive loop of the `idl` executable (repl.c). It borrows main's lua_State (where
 * idl.c has set the globals `idl` and `help`), sets the global `_idl_complete`, loads the lazily
 * loaded parts of idl for completion, and owns line input, history and Ctrl-C at the prompt. */
#ifndef IDL_REPL_REPL_H
#define IDL_REPL_REPL_H

#include <lua.h>

/* Reads, runs and prints chunks from stdin until end of input. Uses readline (line editing,
 * ~/.idl_history, tab completion) when stdin is a terminal; otherwise reads plain lines and shows
 * no prompt, so piped sessions print only results and errors. */
void idl_repl_loop(lua_State *L);

#endif
