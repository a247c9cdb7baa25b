/* llinalg.c - dense solves: idl.lstsq (least squares, plain or ridge) and idl.solve. */
#include "lbind.h"
#include "linalg.h"

static int l_lstsq(lua_State *L)
{
    const char *fn = "lstsq";
    idl_mat *a = lidl_checkmat(L, 1, fn, "A");
    idl_mat *b = lidl_checkmat(L, 2, fn, "B");
    double ridge = lua_isnoneornil(L, 3) ? 0.0 : lidl_checkfinite(L, 3, fn, "ridge");
    if (ridge < 0.0)
        lidl_error(L, fn, "ridge must be >= 0, got %g", ridge);
    if (b->rows != a->rows)
        lidl_error(L, fn, "A is %dx%d, B is %dx%d (want %d rows)", a->rows, a->cols, b->rows,
                   b->cols, a->rows);
    if (!idl_all_finite(a))
        lidl_error(L, fn, "A (%dx%d) has NaN or infinite entries", a->rows, a->cols);
    if (!idl_all_finite(b))
        lidl_error(L, fn, "B (%dx%d) has NaN or infinite entries", b->rows, b->cols);
    idl_mat *x = lidl_newmat(L, a->cols, b->cols, fn);
    int rank = 0;
    idl_status st = idl_lstsq(a, b, ridge, x, &rank);
    if (st == IDL_ELAPACK)
        lidl_error(L, fn, ridge > 0.0 ? "A^T A + ridge I (%dx%d) is not numerically positive "
                                        "definite: increase ridge"
                                      : "the SVD of A (%dx%d) did not converge",
                   a->cols, a->cols);
    lidl_check(L, st, fn);
    lua_pushinteger(L, rank);
    return 2;
}

static int l_solve(lua_State *L)
{
    const char *fn = "solve";
    idl_mat *a = lidl_checkmat(L, 1, fn, "A");
    idl_mat *b = lidl_checkmat(L, 2, fn, "B");
    if (a->rows != a->cols)
        lidl_error(L, fn, "A must be square, got %dx%d", a->rows, a->cols);
    if (b->rows != a->rows)
        lidl_error(L, fn, "A is %dx%d, B is %dx%d (want %d rows)", a->rows, a->cols, b->rows,
                   b->cols, a->rows);
    if (!idl_all_finite(a))
        lidl_error(L, fn, "A (%dx%d) has NaN or infinite entries", a->rows, a->cols);
    if (!idl_all_finite(b))
        lidl_error(L, fn, "B (%dx%d) has NaN or infinite entries", b->rows, b->cols);
    idl_mat *x = lidl_newmat(L, a->rows, b->cols, fn);
    idl_status st = idl_solve(a, b, x);
    if (st == IDL_ELAPACK)
        lidl_error(L, fn, "A (%dx%d) is singular", a->rows, a->cols);
    lidl_check(L, st, fn);
    return 1;
}

void lidl_open_linalg(lua_State *L)
{
    static const luaL_Reg fns[] = {{"lstsq", l_lstsq}, {"solve", l_solve}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
