/* SPDX-License-Identifier: GPL-3.0-or-later */
/* complete.h: tab-completion candidates for the REPL (complete.c), as a Lua C function so the same
 * code serves readline and the tests. It reads the Lua state only and never runs Lua code. */
#ifndef IDL_REPL_COMPLETE_H
#define IDL_REPL_COMPLETE_H

#include <lua.h>

/* Lua: complete(text) -> sorted array of the completions of text, each a full replacement for it.
 * "pri" gives global names and keywords ("print"), "a.b.x" the fields of a.b starting with x
 * ("a.b.xmax"), "m:no" the methods of m ("m:norm"). Names starting with '_' are left out unless
 * the partial name is not empty ("idl._t" gives "idl._time_dgemm", "idl." does not). Fields are found in tables and in the __index
 * tables of metatables, so userdata methods and string methods complete too. */
int idl_repl_complete(lua_State *L);

#endif
