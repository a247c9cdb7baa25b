/*
 * lrelaxed.c - idl.fenchel, idl.objective, idl.gradients, idl.lipschitz and
 * idl.dual_update (convenient: each allocates its result), and the trainers'
 * destination-first tier over one reusable workspace: relaxed_workspace,
 * relaxed_forward, relaxed_value, relaxed_grads, lipschitz_theta,
 * lipschitz_x, lipschitz_x_carried, relaxed_x_update, readout, readout_loo.
 * Shape checks with messages that name the offending piece, then one call
 * into relaxed.c. Workspaces are userdata, so the collector sees them.
 */
#include <math.h>
#include <stdio.h>

#include "lbind.h"
#include "relaxed.h"

/* The matrix m must be rows x cols; what names it in the message. */
static void expect_shape(lua_State *L, const idl_mat *m, int rows, int cols, const char *fn,
                         const char *what)
{
    if (m->rows != rows || m->cols != cols)
        lidl_error(L, fn, "%s is %dx%d, expected %dx%d", what, m->rows, m->cols, rows, cols);
}

/* Field name of the table at idx as a matrix, or a "missing"/type error. */
static idl_mat *theta_field(lua_State *L, int idx, const char *name, const char *fn)
{
    char what[32];
    snprintf(what, sizeof what, "theta.%s", name);
    if (lua_getfield(L, idx, name) == LUA_TNIL)
        lidl_error(L, fn, "%s is missing", what);
    idl_mat *m = lidl_checkmat(L, -1, fn, what);
    lua_pop(L, 1); /* the table at idx keeps the userdata alive */
    return m;
}

static void check_table(lua_State *L, int idx, const char *fn)
{
    if (!lua_istable(L, idx))
        lidl_error(L, fn, "theta must be a table, got %s", luaL_typename(L, idx));
}

/* theta at idx against h, n, p: each field's shape is checked and copied. */
static void get_theta(lua_State *L, int idx, int h, int n, int p, const char *fn, idl_theta *th)
{
    check_table(L, idx, fn);
    struct {
        const char *name;
        int rows, cols;
        idl_mat *dst;
    } f[] = {{"A", p, h, &th->A}, {"B", p, n, &th->B}, {"c", p, 1, &th->c},
             {"D", h, h, &th->D}, {"E", h, n, &th->E}, {"f", h, 1, &th->f}};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        idl_mat *m = theta_field(L, idx, f[k].name, fn);
        char what[32];
        snprintf(what, sizeof what, "theta.%s", f[k].name);
        expect_shape(L, m, f[k].rows, f[k].cols, fn, what);
        *f[k].dst = *m;
    }
}

/* The data arguments X, U[, Y], lambda from stack index first on; they must
 * agree with X (h x m, m >= 1). Y is skipped when y is NULL. */
typedef struct data_args {
    idl_mat *x, *u, *y, *lambda;
} data_args;

static data_args get_data(lua_State *L, int first, bool with_y, const char *fn)
{
    data_args d = {NULL, NULL, NULL, NULL};
    d.x = lidl_checkmat(L, first, fn, "X");
    d.u = lidl_checkmat(L, first + 1, fn, "U");
    if (with_y)
        d.y = lidl_checkmat(L, first + 2, fn, "Y");
    d.lambda = lidl_checkmat(L, first + 2 + with_y, fn, "lambda");
    int h = d.x->rows, m = d.x->cols;
    if (m == 0)
        lidl_error(L, fn, "X has no columns (m = 0)");
    expect_shape(L, d.u, d.u->rows, m, fn, "U");
    if (with_y)
        expect_shape(L, d.y, d.y->rows, m, fn, "Y");
    expect_shape(L, d.lambda, h, 1, fn, "lambda");
    return d;
}

/* Pushes the scratch of idl_objective / idl_gradients as one userdata. */
static idl_relaxed_ws push_ws(lua_State *L, int h, int n, int p, int m, const char *fn)
{
    size_t size = idl_relaxed_ws_size(h, n, p, m);
    if (size > ((size_t)1 << 40) / sizeof(double))
        lidl_error(L, fn, "the workspace for h = %d, m = %d is too large", h, m);
    double *buf = lua_newuserdatauv(L, size * sizeof(double), 0);
    return idl_relaxed_ws_wrap(buf, h, n, p, m);
}

static int l_fenchel(lua_State *L)
{
    const char *fn = "fenchel";
    idl_mat *x = lidl_checkmat(L, 1, fn, "X"), *z = lidl_checkmat(L, 2, fn, "Z");
    expect_shape(L, z, x->rows, x->cols, fn, "Z");
    if (x->cols == 0)
        lidl_error(L, fn, "X has no columns (m = 0)");
    lidl_check(L, idl_fenchel(x, z, lidl_newmat(L, x->rows, 1, fn)), fn);
    return 1;
}

static int l_objective(lua_State *L)
{
    const char *fn = "objective";
    data_args d = get_data(L, 2, true, fn);
    idl_theta th;
    get_theta(L, 1, d.x->rows, d.u->rows, d.y->rows, fn, &th);
    idl_relaxed_ws ws = push_ws(L, d.x->rows, d.u->rows, d.y->rows, d.x->cols, fn);
    idl_mat *f = lidl_newmat(L, d.x->rows, 1, fn);
    double g, l;
    lidl_check(L, idl_objective(&th, d.x, d.u, d.y, d.lambda, &ws, &g, &l, f), fn);
    lua_pushnumber(L, g);
    lua_pushnumber(L, l);
    lua_rotate(L, -3, -1); /* F, G, L -> G, L, F */
    return 3;
}

/* Pushes a new matrix shaped like m and stores it as field name of the
 * table at -2; returns it. */
static idl_mat *new_field(lua_State *L, const idl_mat *m, const char *name, const char *fn)
{
    idl_mat *g = lidl_newmat_like(L, m, fn);
    lua_setfield(L, -2, name);
    return g;
}

static int l_gradients(lua_State *L)
{
    const char *fn = "gradients";
    data_args d = get_data(L, 2, true, fn);
    idl_theta th, g;
    get_theta(L, 1, d.x->rows, d.u->rows, d.y->rows, fn, &th);
    idl_relaxed_ws ws = push_ws(L, d.x->rows, d.u->rows, d.y->rows, d.x->cols, fn);
    lua_createtable(L, 0, 7);
    g.A = *new_field(L, &th.A, "A", fn);
    g.B = *new_field(L, &th.B, "B", fn);
    g.c = *new_field(L, &th.c, "c", fn);
    g.D = *new_field(L, &th.D, "D", fn);
    g.E = *new_field(L, &th.E, "E", fn);
    g.f = *new_field(L, &th.f, "f", fn);
    idl_mat *gx = new_field(L, d.x, "X", fn);
    lidl_check(L, idl_gradients(&th, d.x, d.u, d.y, d.lambda, &ws, &g, gx), fn);
    return 1;
}

static int l_lipschitz(lua_State *L)
{
    const char *fn = "lipschitz";
    data_args d = get_data(L, 2, false, fn);
    int h = d.x->rows;
    check_table(L, 1, fn);
    idl_theta th;
    th.A = *theta_field(L, 1, "A", fn);
    expect_shape(L, &th.A, th.A.rows, h, fn, "theta.A");
    th.D = *theta_field(L, 1, "D", fn);
    expect_shape(L, &th.D, h, h, fn, "theta.D");
    size_t nwork;
    lidl_check(L, idl_lipschitz_worksize(h, d.u->rows, &nwork), fn);
    double *work = lua_newuserdatauv(L, nwork * sizeof(double), 0);
    idl_lipschitz_consts c;
    lidl_check(L, idl_lipschitz(&th, d.x, d.u, d.lambda, work, &c), fn);
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, c.theta1);
    lua_setfield(L, -2, "theta1");
    lua_pushnumber(L, c.theta2);
    lua_setfield(L, -2, "theta2");
    lua_pushnumber(L, c.x);
    lua_setfield(L, -2, "x");
    return 1;
}

static int l_dual_update(lua_State *L)
{
    const char *fn = "dual_update";
    idl_mat *lambda = lidl_checkmat(L, 1, fn, "lambda"), *f = lidl_checkmat(L, 2, fn, "F");
    double alpha = lidl_checkfinite(L, 3, fn, "alpha");
    double eps = lidl_checkfinite(L, 4, fn, "eps");
    if (lambda->cols != 1)
        lidl_error(L, fn, "lambda is %dx%d, expected a column", lambda->rows, lambda->cols);
    expect_shape(L, f, lambda->rows, 1, fn, "F");
    if (alpha < 0.0)
        lidl_error(L, fn, "alpha must be non-negative, got %g", alpha);
    idl_mat *out = lidl_newmat_like(L, lambda, fn);
    idl_copy(lambda, out);
    lidl_check(L, idl_dual_update(out, f, alpha, eps), fn);
    return 1;
}

/* ---- The trainers' tier: one workspace per fit ------------------------ */

#define LIDL_RWS "idl.relaxed_ws"

/* The workspace userdata: sizes, the forward pass' state, and the doubles of
 * idl_relaxed_ws, of the Lipschitz constants and of the readout after it. */
typedef struct lidl_rws {
    int h, n, p, m;
    const double *x_fwd; /* X's data of the forward pass in ws.rz, NULL if none */
    idl_relaxed_ws ws;
    double *lip;
} lidl_rws;

static lidl_rws *check_rws(lua_State *L, int idx, const char *fn)
{
    lidl_rws *w = luaL_testudata(L, idx, LIDL_RWS);
    if (!w)
        lidl_error(L, fn, "ws must be a workspace (idl.relaxed_workspace), got %s",
                   luaL_typename(L, idx));
    return w;
}

static int l_relaxed_workspace(lua_State *L)
{
    const char *fn = "relaxed_workspace";
    int h = lidl_checksize(L, 1, fn, "h"), n = lidl_checksize(L, 2, fn, "n");
    int p = lidl_checksize(L, 3, fn, "p"), m = lidl_checksize(L, 4, fn, "m");
    if (m == 0)
        lidl_error(L, fn, "m must be at least 1");
    size_t nlip, nrel = idl_relaxed_ws_size(h, n, p, m);
    lidl_check(L, idl_lipschitz_worksize(h, n, &nlip), fn);
    if (nrel + nlip > ((size_t)1 << 40) / sizeof(double))
        lidl_error(L, fn, "the workspace for h = %d, m = %d is too large", h, m);
    lidl_rws *w = lua_newuserdatauv(L, sizeof *w + (nrel + nlip) * sizeof(double), 0);
    double *buf = (double *)(w + 1);
    *w = (lidl_rws){.h = h, .n = n, .p = p, .m = m, .x_fwd = NULL};
    w->ws = idl_relaxed_ws_wrap(buf, h, n, p, m);
    w->lip = buf + nrel;
    luaL_setmetatable(L, LIDL_RWS);
    return 1;
}

/* X (h x m of the workspace) at idx. */
static idl_mat *ws_x(lua_State *L, int idx, const lidl_rws *w, const char *fn)
{
    idl_mat *x = lidl_checkmat(L, idx, fn, "X");
    expect_shape(L, x, w->h, w->m, fn, "X");
    return x;
}

static int l_relaxed_forward(lua_State *L)
{
    const char *fn = "relaxed_forward";
    lidl_rws *w = check_rws(L, 1, fn);
    idl_theta th;
    get_theta(L, 2, w->h, w->n, w->p, fn, &th);
    idl_mat *x = ws_x(L, 3, w, fn);
    idl_mat *u = lidl_checkmat(L, 4, fn, "U"), *y = lidl_checkmat(L, 5, fn, "Y");
    expect_shape(L, u, w->n, w->m, fn, "U");
    expect_shape(L, y, w->p, w->m, fn, "Y");
    w->x_fwd = NULL;
    lidl_check(L, idl_relaxed_forward(&th, x, u, y, &w->ws), fn);
    w->x_fwd = x->data;
    return 0;
}

/* The X and lambda of a call that reads the forward pass of X. */
static idl_mat *forward_x(lua_State *L, lidl_rws *w, idl_mat **lambda, const char *fn)
{
    idl_mat *x = ws_x(L, 2, w, fn);
    *lambda = lidl_checkmat(L, 3, fn, "lambda");
    expect_shape(L, *lambda, w->h, 1, fn, "lambda");
    if (w->x_fwd == NULL || w->x_fwd != x->data)
        lidl_error(L, fn, "ws holds no forward pass of this X (call relaxed_forward first)");
    return x;
}

static int l_relaxed_value(lua_State *L)
{
    const char *fn = "relaxed_value";
    lidl_rws *w = check_rws(L, 1, fn);
    idl_mat *lambda, *x = forward_x(L, w, &lambda, fn);
    idl_mat *f = lidl_checkmat(L, 4, fn, "F");
    expect_shape(L, f, w->h, 1, fn, "F");
    idl_relaxed_values v;
    lidl_check(L, idl_relaxed_value(x, lambda, &w->ws, &v, f), fn);
    lua_pushnumber(L, v.g);
    lua_pushnumber(L, v.l);
    lua_pushnumber(L, v.residual);
    return 3;
}

static int l_relaxed_grads(lua_State *L)
{
    const char *fn = "relaxed_grads";
    lidl_rws *w = check_rws(L, 1, fn);
    idl_mat *lambda, *x = forward_x(L, w, &lambda, fn);
    idl_theta g;
    bool with_grad = !lua_isnoneornil(L, 4);
    if (with_grad)
        get_theta(L, 4, w->h, w->n, w->p, fn, &g);
    idl_mat *gx = lua_isnoneornil(L, 5) ? NULL : lidl_checkmat(L, 5, fn, "gX");
    if (gx)
        expect_shape(L, gx, w->h, w->m, fn, "gX");
    w->x_fwd = NULL;
    lidl_check(L, idl_relaxed_grads(x, lambda, &w->ws, with_grad ? &g : NULL, gx), fn);
    return 0;
}

static int l_lipschitz_theta(lua_State *L)
{
    const char *fn = "lipschitz_theta";
    lidl_rws *w = check_rws(L, 1, fn);
    idl_mat *x = ws_x(L, 2, w, fn), *u = lidl_checkmat(L, 3, fn, "U");
    idl_mat *lambda = lidl_checkmat(L, 4, fn, "lambda");
    expect_shape(L, u, w->n, w->m, fn, "U");
    expect_shape(L, lambda, w->h, 1, fn, "lambda");
    idl_lipschitz_consts c;
    lidl_check(L, idl_lipschitz_theta(x, u, lambda, w->lip, &c), fn);
    lua_pushnumber(L, c.theta1);
    lua_pushnumber(L, c.theta2);
    return 2;
}

/* theta.A and theta.D at idx, checked against the workspace. */
static void get_x_block(lua_State *L, int idx, const lidl_rws *w, const char *fn, idl_theta *th)
{
    check_table(L, idx, fn);
    th->A = *theta_field(L, idx, "A", fn);
    expect_shape(L, &th->A, w->p, w->h, fn, "theta.A");
    th->D = *theta_field(L, idx, "D", fn);
    expect_shape(L, &th->D, w->h, w->h, fn, "theta.D");
}

static int l_lipschitz_x(lua_State *L)
{
    const char *fn = "lipschitz_x";
    lidl_rws *w = check_rws(L, 1, fn);
    idl_theta th;
    get_x_block(L, 2, w, fn, &th);
    idl_mat *lambda = lidl_checkmat(L, 3, fn, "lambda");
    expect_shape(L, lambda, w->h, 1, fn, "lambda");
    idl_lipschitz_consts c;
    lidl_check(L, idl_lipschitz_x(&th, lambda, w->n, w->m, w->lip, &c), fn);
    lua_pushnumber(L, c.x);
    return 1;
}

/* The readout's checks, shared by readout and readout_loo: X, U, Y from
 * stack index 2 on, theta's A, B, c at index 1 against them. */
static void readout_args(lua_State *L, const char *fn, idl_mat **x, idl_mat **u, idl_mat **y,
                         idl_mat **a, idl_mat **b, idl_mat **c)
{
    check_table(L, 1, fn);
    *x = lidl_checkmat(L, 2, fn, "X"), *u = lidl_checkmat(L, 3, fn, "U");
    *y = lidl_checkmat(L, 4, fn, "Y");
    int h = (*x)->rows, n = (*u)->rows, p = (*y)->rows, m = (*x)->cols;
    if (m == 0)
        lidl_error(L, fn, "X has no columns (m = 0)");
    expect_shape(L, *u, n, m, fn, "U");
    expect_shape(L, *y, p, m, fn, "Y");
    *a = theta_field(L, 1, "A", fn), *b = theta_field(L, 1, "B", fn);
    *c = theta_field(L, 1, "c", fn);
    expect_shape(L, *a, p, h, fn, "theta.A");
    expect_shape(L, *b, p, n, fn, "theta.B");
    expect_shape(L, *c, p, 1, fn, "theta.c");
}

static int l_lipschitz_x_carried(lua_State *L)
{
    const char *fn = "lipschitz_x_carried";
    lidl_rws *w = check_rws(L, 1, fn);
    idl_theta th;
    get_x_block(L, 2, w, fn, &th);
    idl_mat *lambda = lidl_checkmat(L, 3, fn, "lambda");
    expect_shape(L, lambda, w->h, 1, fn, "lambda");
    idl_lipschitz_x_ref ref = {*lidl_checkmat(L, 4, fn, "M_ref"), *lidl_checkmat(L, 5, fn, "D_ref"),
                               -1.0, 0.0};
    expect_shape(L, &ref.m, w->h, w->h, fn, "M_ref");
    expect_shape(L, &ref.d, w->h, w->h, fn, "D_ref");
    if (!lua_isnoneornil(L, 6)) {
        ref.mu = lidl_checkfinite(L, 6, fn, "mu");
        ref.delta = lidl_checkfinite(L, 7, fn, "delta");
        if (ref.mu < 0.0 || ref.delta < 0.0)
            lidl_error(L, fn, "mu and delta are norms (>= 0), got %g and %g", ref.mu, ref.delta);
    }
    double slack = lidl_checkfinite(L, 8, fn, "slack");
    if (slack < 1.0)
        lidl_error(L, fn, "slack must be at least 1, got %g", slack);
    idl_lipschitz_consts c;
    bool exact;
    lidl_check(L, idl_lipschitz_x_carried(&th, lambda, w->n, w->m, slack, w->lip, &ref, &c, &exact),
               fn);
    lua_pushnumber(L, c.x);
    lua_pushboolean(L, exact);
    lua_pushnumber(L, ref.mu);
    lua_pushnumber(L, ref.delta);
    return 4;
}

static int l_relaxed_x_update(lua_State *L)
{
    const char *fn = "relaxed_x_update";
    idl_mat *x = lidl_checkmat(L, 1, fn, "X"), *gx = lidl_checkmat(L, 2, fn, "gX");
    double step = lidl_checkfinite(L, 3, fn, "step");
    expect_shape(L, gx, x->rows, x->cols, fn, "gX");
    if (x->data == gx->data)
        lidl_error(L, fn, "X and gX must not share their elements");
    double norm;
    lidl_check(L, idl_relaxed_x_update(x, gx, step, &norm), fn);
    lua_pushnumber(L, norm);
    return 1;
}

static int l_readout(lua_State *L)
{
    const char *fn = "readout";
    idl_mat *x, *u, *y, *a, *b, *c;
    readout_args(L, fn, &x, &u, &y, &a, &b, &c);
    double ridge_rel = lidl_checkfinite(L, 5, fn, "ridge_rel");
    if (!(ridge_rel > 0.0))
        lidl_error(L, fn, "ridge_rel must be positive, got %g", ridge_rel);
    size_t nwork = idl_readout_worksize(x->rows, u->rows, y->rows, x->cols);
    if (nwork > ((size_t)1 << 40) / sizeof(double))
        lidl_error(L, fn, "the workspace for h = %d is too large", x->rows);
    double *work = lua_newuserdatauv(L, nwork * sizeof(double), 0);
    lidl_check(L, idl_readout(x, u, y, ridge_rel, work, a, b, c), fn);
    return 0;
}

/* readout_loo(theta, X, U, Y, grid) -> ridge_rel, loo, best: grid a
 * non-empty array of positive ridges; loo the array of LOO errors, best its
 * 1-based index of the chosen ridge. */
static int l_readout_loo(lua_State *L)
{
    const char *fn = "readout_loo";
    idl_mat *x, *u, *y, *a, *b, *c;
    readout_args(L, fn, &x, &u, &y, &a, &b, &c);
    if (!lua_istable(L, 5))
        lidl_error(L, fn, "grid must be a table of ridges, got %s", luaL_typename(L, 5));
    lua_Integer ngrid = luaL_len(L, 5);
    if (ngrid < 1 || ngrid > 100000)
        lidl_error(L, fn, "grid must hold 1 to 100000 ridges, got %d", (int)ngrid);
    if (x->cols < 2)
        lidl_error(L, fn, "leave-one-out needs at least 2 samples, got %d", x->cols);
    size_t nwork;
    lidl_check(L, idl_readout_loo_worksize(x->rows, u->rows, y->rows, x->cols, &nwork), fn);
    if (nwork > ((size_t)1 << 40) / sizeof(double))
        lidl_error(L, fn, "the workspace for h = %d is too large", x->rows);
    double *grid = lua_newuserdatauv(L, 2 * (size_t)ngrid * sizeof(double), 0);
    for (lua_Integer g = 0; g < ngrid; g++) {
        lua_geti(L, 5, g + 1);
        int isnum = 0;
        grid[g] = lua_tonumberx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum || !(grid[g] > 0.0) || !isfinite(grid[g]))
            lidl_error(L, fn, "grid[%d] must be a positive finite number", (int)g + 1);
    }
    double *work = lua_newuserdatauv(L, nwork * sizeof(double), 0);
    int best = 0;
    lidl_check(L, idl_readout_loo(x, u, y, grid, (int)ngrid, work, a, b, c, grid + ngrid, &best),
               fn);
    lua_pushnumber(L, grid[best]);
    lua_createtable(L, (int)ngrid, 0);
    for (lua_Integer g = 0; g < ngrid; g++) {
        lua_pushnumber(L, grid[ngrid + g]);
        lua_rawseti(L, -2, g + 1);
    }
    lua_pushinteger(L, best + 1);
    return 3;
}

/* readout_normal(theta, K, R, zmean, ymean, ridge_rel): idl_readout_normal on
 * copies of K ((h+n) x (h+n)) and R ((h+n) x p); zmean (h+n) x 1, ymean p x 1. */
static int l_readout_normal(lua_State *L)
{
    const char *fn = "readout_normal";
    check_table(L, 1, fn);
    idl_mat *k = lidl_checkmat(L, 2, fn, "K"), *r = lidl_checkmat(L, 3, fn, "R");
    idl_mat *zmean = lidl_checkmat(L, 4, fn, "zmean"), *ymean = lidl_checkmat(L, 5, fn, "ymean");
    double ridge_rel = lidl_checkfinite(L, 6, fn, "ridge_rel");
    if (!(ridge_rel > 0.0))
        lidl_error(L, fn, "ridge_rel must be positive, got %g", ridge_rel);
    idl_mat *a = theta_field(L, 1, "A", fn), *b = theta_field(L, 1, "B", fn);
    idl_mat *c = theta_field(L, 1, "c", fn);
    int p = a->rows, q = a->cols + b->cols;
    expect_shape(L, b, p, b->cols, fn, "theta.B");
    expect_shape(L, c, p, 1, fn, "theta.c");
    expect_shape(L, k, q, q, fn, "K");
    expect_shape(L, r, q, p, fn, "R");
    expect_shape(L, zmean, q, 1, fn, "zmean");
    expect_shape(L, ymean, p, 1, fn, "ymean");
    if (!idl_all_finite(k) || !idl_all_finite(r) || !idl_all_finite(zmean) || !idl_all_finite(ymean))
        lidl_error(L, fn, "K, R, zmean and ymean must be finite");
    idl_mat *kw = lidl_newmat(L, q, q, fn), *rw = lidl_newmat(L, q, p, fn);
    lidl_check(L, idl_copy(k, kw), fn);
    lidl_check(L, idl_copy(r, rw), fn);
    lidl_check(L, idl_readout_normal(kw, rw, zmean->data, ymean->data, ridge_rel, a, b, c), fn);
    return 0;
}

static const luaL_Reg funcs[] = {{"fenchel", l_fenchel},
                                 {"objective", l_objective},
                                 {"gradients", l_gradients},
                                 {"lipschitz", l_lipschitz},
                                 {"dual_update", l_dual_update},
                                 {"relaxed_workspace", l_relaxed_workspace},
                                 {"relaxed_forward", l_relaxed_forward},
                                 {"relaxed_value", l_relaxed_value},
                                 {"relaxed_grads", l_relaxed_grads},
                                 {"lipschitz_theta", l_lipschitz_theta},
                                 {"lipschitz_x", l_lipschitz_x},
                                 {"lipschitz_x_carried", l_lipschitz_x_carried},
                                 {"relaxed_x_update", l_relaxed_x_update},
                                 {"readout", l_readout},
                                 {"readout_loo", l_readout_loo},
                                 {"readout_normal", l_readout_normal},
                                 {NULL, NULL}};

void lidl_open_relaxed(lua_State *L)
{
    luaL_newmetatable(L, LIDL_RWS);
    lua_pop(L, 1);
    luaL_setfuncs(L, funcs, 0);
}
