/* lloss.c - output losses: idl.squared_loss, idl.softmax_xent, idl.softmax. */
#include "lbind.h"
#include "loss.h"

typedef idl_status (*loss_fn)(const idl_mat *, const idl_mat *, idl_mat *, double *);

/* Shared body: (Yhat, Y [, grad]) -> loss, grad. */
static int loss_call(lua_State *L, loss_fn fn, const char *name)
{
    idl_mat *yhat = lidl_checkmat(L, 1, name, "Yhat");
    idl_mat *y = lidl_checkmat(L, 2, name, "Y");
    if (yhat->rows != y->rows || yhat->cols != y->cols)
        lidl_error(L, name, "Yhat is %dx%d, Y is %dx%d", yhat->rows, yhat->cols, y->rows,
                   y->cols);
    if (yhat->cols == 0 || yhat->rows == 0)
        lidl_error(L, name, "Yhat is empty (%dx%d)", yhat->rows, yhat->cols);
    idl_mat *grad;
    if (lua_isnoneornil(L, 3)) {
        grad = lidl_newmat_like(L, yhat, name);
    } else {
        grad = lidl_checkmat(L, 3, name, "grad");
        if (grad->rows != yhat->rows || grad->cols != yhat->cols)
            lidl_error(L, name, "grad is %dx%d, Yhat is %dx%d", grad->rows, grad->cols,
                       yhat->rows, yhat->cols);
        lua_pushvalue(L, 3);
    }
    double loss;
    lidl_check(L, fn(yhat, y, grad, &loss), name);
    lua_pushnumber(L, loss);
    lua_insert(L, -2);
    return 2;
}

static int l_squared_loss(lua_State *L)
{
    return loss_call(L, idl_squared_loss, "squared_loss");
}

static int l_softmax_xent(lua_State *L)
{
    return loss_call(L, idl_softmax_xent, "softmax_xent");
}

static int l_softmax(lua_State *L)
{
    idl_mat *z = lidl_checkmat(L, 1, "softmax", "Z");
    lidl_check(L, idl_softmax(z, lidl_newmat_like(L, z, "softmax")), "softmax");
    return 1;
}

void lidl_open_loss(lua_State *L)
{
    static const luaL_Reg fns[] = {{"squared_loss", l_squared_loss},
                                   {"softmax_xent", l_softmax_xent},
                                   {"softmax", l_softmax},
                                   {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
