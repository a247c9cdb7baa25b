/* loptim.c - fused optimizer steps: idl.adam_step and idl.sgd_step. */
#include "lbind.h"
#include "optim.h"

static void check_like(lua_State *L, const idl_mat *p, const idl_mat *m, const char *fn,
                       const char *what)
{
    if (m->rows != p->rows || m->cols != p->cols)
        lidl_error(L, fn, "%s is %dx%d, param is %dx%d", what, m->rows, m->cols, p->rows,
                   p->cols);
}

static int l_adam_step(lua_State *L)
{
    const char *fn = "adam_step";
    idl_mat *p = lidl_checkmat(L, 1, fn, "param");
    idl_mat *g = lidl_checkmat(L, 2, fn, "grad");
    idl_mat *m = lidl_checkmat(L, 3, fn, "m");
    idl_mat *v = lidl_checkmat(L, 4, fn, "v");
    check_like(L, p, g, fn, "grad");
    check_like(L, p, m, fn, "m");
    check_like(L, p, v, fn, "v");
    idl_adam_opts o = {lidl_checkfinite(L, 5, fn, "lr"), lidl_checkfinite(L, 6, fn, "beta1"),
                       lidl_checkfinite(L, 7, fn, "beta2"), lidl_checkfinite(L, 8, fn, "eps"),
                       lidl_checkfinite(L, 9, fn, "weight_decay"),
                       (long)lidl_checkrange(L, 10, 1, (lua_Integer)1 << 50, fn, "t")};
    lidl_check(L, idl_adam_step(p, g, m, v, &o), fn);
    lua_settop(L, 1);
    return 1;
}

static int l_sgd_step(lua_State *L)
{
    const char *fn = "sgd_step";
    idl_mat *p = lidl_checkmat(L, 1, fn, "param");
    idl_mat *g = lidl_checkmat(L, 2, fn, "grad");
    idl_mat *buf = lua_isnoneornil(L, 3) ? NULL : lidl_checkmat(L, 3, fn, "buf");
    check_like(L, p, g, fn, "grad");
    if (buf)
        check_like(L, p, buf, fn, "buf");
    double lr = lidl_checkfinite(L, 4, fn, "lr");
    double mu = lidl_checkfinite(L, 5, fn, "momentum");
    double wd = lidl_checkfinite(L, 6, fn, "weight_decay");
    if (mu != 0.0 && !buf)
        lidl_error(L, fn, "momentum %g needs a buffer", mu);
    lidl_check(L, idl_sgd_step(p, g, buf, lr, mu, wd), fn);
    lua_settop(L, 1);
    return 1;
}

void lidl_open_optim(lua_State *L)
{
    static const luaL_Reg fns[] = {{"adam_step", l_adam_step}, {"sgd_step", l_sgd_step},
                                   {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
