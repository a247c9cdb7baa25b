/* init.c - luaopen_idl_core: the only symbol the module exports. */
#include <gsl/gsl_errno.h>

#include "lbind.h"

__attribute__((visibility("default"))) int luaopen_idl_core(lua_State *L);

int luaopen_idl_core(lua_State *L)
{
    /* GSL must report through return codes, never abort the process. */
    gsl_set_error_handler_off();
    lua_newtable(L);
    lidl_open_matrix(L);
    lidl_open_rng(L);
    lidl_open_io(L);
    lidl_open_sys(L);
    lidl_open_optim(L);
    lidl_open_loss(L);
    lidl_open_linalg(L);
    lidl_open_relaxed(L);
    lidl_open_project(L);
    lidl_open_solve(L);
    lidl_open_mpi(L);
    lidl_open_stream(L);
    lua_pushliteral(L, "0.1.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
