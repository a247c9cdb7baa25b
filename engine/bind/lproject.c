/*
 * lproject.c - the projections of project.c as idl.project_* (a new matrix)
 * and idl.project_*_ (in place, returning its first argument). The binding
 * checks arguments with messages naming the shapes and sizes the workspace;
 * the core does the mathematics.
 */
#include <math.h>

#include "lbind.h"
#include "project.h"

/* The matrix to project: argument 1 (d) itself when in place, else a fresh
 * copy of it; either way the result ends on top of the stack. */
static idl_mat *target(lua_State *L, idl_mat *d, bool in_place, const char *fn)
{
    if (in_place) {
        lua_pushvalue(L, 1);
        return d;
    }
    idl_mat *out = lidl_newmat_like(L, d, fn);
    idl_copy(d, out);
    return out;
}

/* A non-negative finite number argument (a radius). */
static double check_radius(lua_State *L, int idx, const char *fn, const char *what)
{
    double v = lidl_checkfinite(L, idx, fn, what);
    if (v < 0.0)
        lidl_error(L, fn, "%s must be non-negative, got %g", what, v);
    return v;
}

/* A temporary workspace of n doubles (collected with the call's stack). */
static double *scratch(lua_State *L, size_t n)
{
    return lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof(double), 0);
}

static int project_inf(lua_State *L, bool in_place, const char *fn)
{
    idl_mat *d0 = lidl_checkmat(L, 1, fn, "D");
    double kappa = check_radius(L, 2, fn, "kappa");
    idl_mat *d = target(L, d0, in_place, fn);
    double *work = scratch(L, idl_project_inf_work_size(d->rows, d->cols));
    idl_status st = idl_project_inf(d, kappa, work);
    if (st == IDL_ENONFINITE)
        lidl_error(L, fn, "D has NaN or infinite entries");
    lidl_check(L, st, fn);
    lua_pop(L, 1);
    return 1;
}

static int l_project_inf(lua_State *L)
{
    return project_inf(L, false, "project_inf");
}

static int l_project_inf_(lua_State *L)
{
    return project_inf(L, true, "project_inf_");
}

static int project_spectral(lua_State *L, bool in_place, const char *fn)
{
    idl_mat *d0 = lidl_checkmat(L, 1, fn, "D");
    double radius = check_radius(L, 2, fn, "radius");
    idl_mat *d = target(L, d0, in_place, fn);
    size_t n;
    lidl_check(L, idl_project_spectral_worksize(d->rows, d->cols, &n), fn);
    idl_status st = idl_project_spectral(d, radius, scratch(L, n));
    if (st == IDL_ENONFINITE)
        lidl_error(L, fn, "D has NaN or infinite entries");
    lidl_check(L, st, fn);
    lua_pop(L, 1);
    return 1;
}

static int l_project_spectral(lua_State *L)
{
    return project_spectral(L, false, "project_spectral");
}

static int l_project_spectral_(lua_State *L)
{
    return project_spectral(L, true, "project_spectral_");
}

/* Shape and sign checks of project_lmi's arguments; A (index 3) may be nil. */
static idl_mat *check_lmi_args(lua_State *L, const idl_mat *d, const idl_mat *lambda,
                               const char *fn)
{
    int h = d->rows;
    if (d->cols != h)
        lidl_error(L, fn, "D is %dx%d, expected a square matrix", d->rows, d->cols);
    if (lambda->rows != h || lambda->cols != 1)
        lidl_error(L, fn, "lambda is %dx%d, expected %dx1", lambda->rows, lambda->cols, h);
    for (int i = 0; i < h; i++) {
        double v = lambda->data[i];
        if (!(v > 0.0))
            lidl_error(L, fn, "lambda must be strictly positive, lambda[%d] = %g", i + 1, v);
        if (isinf(v))
            lidl_error(L, fn, "lambda must be finite, lambda[%d] = %g", i + 1, v);
    }
    if (lua_isnoneornil(L, 3))
        return NULL;
    idl_mat *a = lidl_checkmat(L, 3, fn, "A");
    if (a->cols != h)
        lidl_error(L, fn, "A is %dx%d, expected %dx%d", a->rows, a->cols, a->rows, h);
    return a;
}

static int project_lmi(lua_State *L, bool in_place, const char *fn)
{
    idl_mat *d0 = lidl_checkmat(L, 1, fn, "D");
    idl_mat *lambda = lidl_checkmat(L, 2, fn, "lambda");
    idl_mat *a = check_lmi_args(L, d0, lambda, fn);
    idl_mat *d = target(L, d0, in_place, fn);
    size_t n;
    lidl_check(L, idl_project_lmi_worksize(d->rows, &n), fn);
    idl_status st = idl_project_lmi(d, lambda, a, scratch(L, n));
    if (st == IDL_ENONFINITE)
        lidl_error(L, fn, "D, lambda or A has NaN or infinite entries");
    lidl_check(L, st, fn);
    lua_pop(L, 1);
    return 1;
}

static int l_project_lmi(lua_State *L)
{
    return project_lmi(L, false, "project_lmi");
}

static int l_project_lmi_(lua_State *L)
{
    return project_lmi(L, true, "project_lmi_");
}

static int project_nonneg(lua_State *L, bool in_place, const char *fn)
{
    idl_project_nonneg(target(L, lidl_checkmat(L, 1, fn, "X"), in_place, fn));
    return 1;
}

static int l_project_nonneg(lua_State *L)
{
    return project_nonneg(L, false, "project_nonneg");
}

static int l_project_nonneg_(lua_State *L)
{
    return project_nonneg(L, true, "project_nonneg_");
}

static const luaL_Reg funcs[] = {{"project_inf", l_project_inf},
                                 {"project_inf_", l_project_inf_},
                                 {"project_spectral", l_project_spectral},
                                 {"project_spectral_", l_project_spectral_},
                                 {"project_lmi", l_project_lmi},
                                 {"project_lmi_", l_project_lmi_},
                                 {"project_nonneg", l_project_nonneg},
                                 {"project_nonneg_", l_project_nonneg_},
                                 {NULL, NULL}};

void lidl_open_project(lua_State *L)
{
    luaL_setfuncs(L, funcs, 0);
}
