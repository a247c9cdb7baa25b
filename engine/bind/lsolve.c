/*
 * lsolve.c - idl.equilibrium, idl.implicit_backward and idl.wellposed: option
 * and shape checks with messages that name the argument, the well-posedness
 * refusal, then one call into equilibrium.c. The solvers' workspaces are
 * malloc'd after every check and freed right after the call (nothing between
 * can raise), so a large Anderson history is returned at once, not at the
 * collector's leisure.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "equilibrium.h"
#include "lbind.h"

/* ---- options ---------------------------------------------------------- */

typedef struct solve_opts {
    idl_eq_opts eq;
    bool force;
    const idl_mat *x0; /* NULL: start from zero; kept alive by the opts table */
    idl_mat *out;      /* NULL: a new matrix for X; else X goes here (opts.out) */
    int idx;           /* the opts table's stack index (0: none) */
} solve_opts;

#define KNOWN_OPTS "method, tol, max_iter, steps, x0, out, memory, force, precision"

/* One key-value pair of the options table (the value at -1, the key at -2). */
static void read_opt(lua_State *L, const char *fn, const char *key, solve_opts *o)
{
    if (strcmp(key, "method") == 0) {
        bool anderson = lidl_checkeither(L, -1, fn, "opts.method", "picard", "anderson", 0);
        o->eq.method = anderson ? IDL_EQ_ANDERSON : IDL_EQ_PICARD;
    } else if (strcmp(key, "tol") == 0) {
        double tol = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1.0;
        if (!(tol >= 0.0) || !isfinite(tol))
            lidl_error(L, fn, "opts.tol must be a finite number >= 0, got %s",
                       lidl_describe(L, -1));
        o->eq.tol = tol;
    } else if (strcmp(key, "max_iter") == 0) {
        o->eq.max_iter = (int)lidl_checkrange(L, -1, 0, INT_MAX, fn, "opts.max_iter");
    } else if (strcmp(key, "steps") == 0) {
        o->eq.steps = (int)lidl_checkrange(L, -1, 0, INT_MAX, fn, "opts.steps");
    } else if (strcmp(key, "memory") == 0) {
        o->eq.memory = (int)lidl_checkrange(L, -1, 1, IDL_EQ_MAX_MEMORY, fn, "opts.memory");
    } else if (strcmp(key, "force") == 0) {
        if (!lua_isboolean(L, -1))
            lidl_error(L, fn, "opts.force must be a boolean, got %s", lidl_describe(L, -1));
        o->force = lua_toboolean(L, -1);
    } else if (strcmp(key, "precision") == 0) {
        o->eq.precision = lidl_checkeither(L, -1, fn, "opts.precision", "double", "single", 0)
                              ? IDL_EQ_SINGLE
                              : IDL_EQ_DOUBLE;
    } else if (strcmp(key, "x0") == 0) {
        o->x0 = lidl_checkmat(L, -1, fn, "opts.x0");
    } else if (strcmp(key, "out") == 0) {
        o->out = lidl_checkmat(L, -1, fn, "opts.out");
    } else {
        lidl_error(L, fn, "unknown option '%s' (known: " KNOWN_OPTS ")", key);
    }
}

/* The combinations single precision refuses (equilibrium.h says why). */
static void check_single(lua_State *L, const char *fn, const idl_eq_opts *eq)
{
    if (eq->method != IDL_EQ_PICARD)
        lidl_error(L, fn,
                   "opts.precision = \"single\" needs method = \"picard\", got \"anderson\"");
    if (eq->tol > 0.0 && eq->tol < IDL_EQ_SINGLE_MIN_TOL)
        lidl_error(L, fn,
                   "opts.tol = %g is below what precision = \"single\" can reach: pass tol >= %g "
                   "(or tol = 0 to run max_iter steps)",
                   eq->tol, IDL_EQ_SINGLE_MIN_TOL);
}

/* The options table at idx (absent or nil: the defaults). */
static void read_opts(lua_State *L, int idx, const char *fn, solve_opts *o)
{
    o->eq = idl_eq_defaults();
    o->force = false;
    o->x0 = NULL;
    o->out = NULL;
    o->idx = 0;
    if (lua_isnoneornil(L, idx))
        return;
    o->idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx))
        lidl_error(L, fn, "opts must be a table, got %s", luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            lidl_error(L, fn, "unknown option %s (known: " KNOWN_OPTS ")", lidl_describe(L, -2));
        read_opt(L, fn, lua_tostring(L, -2), o);
        lua_pop(L, 1);
    }
    if (o->eq.steps > 0 && o->eq.method != IDL_EQ_PICARD)
        lidl_error(L, fn, "opts.steps = %d needs method = \"picard\", got \"anderson\"",
                   o->eq.steps);
    if (o->eq.precision == IDL_EQ_SINGLE)
        check_single(L, fn, &o->eq);
}

/* ---- checks ----------------------------------------------------------- */

static void check_square(lua_State *L, const idl_mat *d, const char *fn, const char *what)
{
    if (d->rows != d->cols)
        lidl_error(L, fn, "%s is %dx%d, expected a square matrix", what, d->rows, d->cols);
}

static void check_shape(lua_State *L, const idl_mat *m, int rows, int cols, const char *fn,
                        const char *what)
{
    if (m->rows != rows || m->cols != cols)
        lidl_error(L, fn, "%s is %dx%d, expected %dx%d", what, m->rows, m->cols, rows, cols);
}

static void check_finite(lua_State *L, const idl_mat *m, const char *fn, const char *what)
{
    if (!idl_all_finite(m))
        lidl_error(L, fn, "%s contains NaN or Inf", what);
}

/* Raises unless D passes one of the three tests; ||D||_inf comes first and
 * the others are computed only when it is >= 1. */
static void check_wellposed(lua_State *L, const idl_mat *d, const char *fn)
{
    /* ||D||_inf < 1 suffices and needs no workspace: the common case (a
     * trainer's projected D) costs one pass over D, not an h x h allocation
     * per solve (whose page faults cost about a GEMM of a training batch). */
    double norm_inf;
    if (idl_norm(d, IDL_NORM_INF, &norm_inf) == IDL_OK && norm_inf < 1.0)
        return;
    double *work = malloc(idl_wellposed_work_size(d->rows) * sizeof(double) + 1);
    if (!work)
        lidl_error(L, fn, "out of memory");
    idl_wellposedness wp;
    idl_status st = idl_wellposed(d, false, work, &wp);
    free(work);
    lidl_check(L, st, fn);
    if (!wp.wellposed)
        lidl_error(L, fn,
                   "D is not well-posed (||D||_inf = %.6g, ||D||_2 = %.6g, rho(|D|) = %.6g); "
                   "pass force = true to try anyway",
                   wp.norm_inf, wp.norm_2, wp.pf);
}

/* D's checks in one pass over D in the common case: ||D||_inf < 1, a finite
 * number, says that D is finite and well-posed (a training batch's solve
 * read D twice before, for each test). Otherwise D is checked for NaN or Inf,
 * then, unless force, for well-posedness. */
static void check_d(lua_State *L, const idl_mat *d, bool force, const char *fn, const char *what)
{
    double norm_inf;
    if (idl_norm(d, IDL_NORM_INF, &norm_inf) == IDL_OK && norm_inf < 1.0)
        return;
    check_finite(L, d, fn, what);
    if (!force)
        check_wellposed(L, d, fn);
}

/* ---- solving ---------------------------------------------------------- */

static const char *method_name(idl_eq_method m)
{
    return m == IDL_EQ_ANDERSON ? "anderson" : "picard";
}

static void push_info(lua_State *L, const idl_eq_info *info, const idl_eq_opts *o)
{
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, info->iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushnumber(L, info->residual);
    lua_setfield(L, -2, "residual");
    lua_pushnumber(L, info->scale);
    lua_setfield(L, -2, "scale");
    lua_pushboolean(L, info->converged);
    lua_setfield(L, -2, "converged");
    lua_pushstring(L, idl_eq_stop_name(info->stop));
    lua_setfield(L, -2, "stop");
    lua_pushstring(L, method_name(o->method));
    lua_setfield(L, -2, "method");
    lua_pushstring(L, o->precision == IDL_EQ_SINGLE ? "single" : "double");
    lua_setfield(L, -2, "precision");
}

/* Whether the memory of a and b (column-major with their ld) overlaps. */
static bool overlaps(const idl_mat *a, const idl_mat *b)
{
    if (idl_mat_numel(a) == 0 || idl_mat_numel(b) == 0)
        return false;
    const double *a_end = a->data + (size_t)a->ld * (size_t)(a->cols - 1) + (size_t)a->rows;
    const double *b_end = b->data + (size_t)b->ld * (size_t)(b->cols - 1) + (size_t)b->rows;
    return a->data < b_end && b->data < a_end;
}

/* Pushes the starting point, where the solver writes X: opts.out (checked
 * against rows x cols and against sharing memory with the operands `in`,
 * NULL-terminated) or a new matrix; holding a copy of opts.x0 (unless x0 is
 * out itself), or zeros. out saves the allocation of an h x m result per
 * solve (a training batch's forward). */
static idl_mat *push_start(lua_State *L, const solve_opts *o, int rows, int cols, const char *fn,
                           const idl_mat *const *in)
{
    if (o->x0) {
        check_shape(L, o->x0, rows, cols, fn, "opts.x0");
        check_finite(L, o->x0, fn, "opts.x0");
    }
    idl_mat *x;
    if (o->out) {
        check_shape(L, o->out, rows, cols, fn, "opts.out");
        for (int i = 0; in[i]; i++)
            if (overlaps(o->out, in[i]))
                lidl_error(L, fn, "opts.out shares memory with an operand of the solve");
        lua_getfield(L, o->idx, "out");
        x = o->out;
    } else {
        x = lidl_newmat(L, rows, cols, fn);
    }
    if (o->x0 && o->x0 != x && overlaps(o->x0, x))
        lidl_error(L, fn, "opts.x0 and opts.out overlap without being the same matrix");
    if (!o->x0)
        idl_fill(x, 0.0);
    else if (o->x0 != x)
        idl_copy(o->x0, x);
    return x;
}

typedef enum { SOLVE_FORWARD, SOLVE_BACKWARD } solve_kind;

/* Runs the solver on the checked arguments with x (on the stack top) as the
 * starting point, then pushes info. */
static void run_solver(lua_State *L, solve_kind kind, const idl_mat *d, const idl_mat *b,
                       const idl_mat *z, idl_mat *x, const solve_opts *o, const char *fn)
{
    size_t n = idl_eq_work_size(&o->eq, x->rows, x->cols);
    double *work = malloc(n * sizeof(double) + 1);
    if (!work)
        lidl_error(L, fn, "out of memory (the workspace needs %.0f MB)",
                   (double)n * sizeof(double) / 1e6);
    idl_eq_info info;
    idl_status st = kind == SOLVE_FORWARD
                        ? idl_equilibrium(d, b, x, &o->eq, work, &info)
                        : idl_implicit_backward(d, z, b, x, &o->eq, work, &info);
    free(work);
    lidl_check(L, st, fn);
    push_info(L, &info, &o->eq);
}

/* theta.name as a matrix, or an error naming the field; checked finite
 * unless D (check_d). */
static idl_mat *theta_field(lua_State *L, const char *name, const char *fn)
{
    char what[16] = "theta.";
    strncat(what, name, sizeof what - strlen(what) - 1);
    if (lua_getfield(L, 1, name) == LUA_TNIL)
        lidl_error(L, fn, "%s is missing", what);
    idl_mat *m = lidl_checkmat(L, -1, fn, what);
    lua_pop(L, 1); /* theta keeps the matrix alive */
    if (strcmp(name, "D") != 0)
        check_finite(L, m, fn, what);
    return m;
}

/* For equilibrium(theta, U): checks theta.D's shape, E, f against U and
 * pushes B0 = E U + f 1^T (one GEMM and one add_col); returns D (its values
 * checked by the caller, check_d). */
static idl_mat *push_theta_b0(lua_State *L, const char *fn, idl_mat **b0)
{
    idl_mat *d = theta_field(L, "D", fn), *e = theta_field(L, "E", fn);
    idl_mat *f = theta_field(L, "f", fn), *u = lidl_checkmat(L, 2, fn, "U");
    check_square(L, d, fn, "theta.D");
    if (e->rows != d->rows || e->cols != u->rows)
        lidl_error(L, fn, "theta.E is %dx%d, expected %dx%d (D is %dx%d, U is %dx%d)", e->rows,
                   e->cols, d->rows, u->rows, d->rows, d->cols, u->rows, u->cols);
    check_shape(L, f, d->rows, 1, fn, "theta.f");
    check_finite(L, u, fn, "U");
    *b0 = lidl_newmat(L, d->rows, u->cols, fn);
    idl_gemm(false, false, 1.0, e, u, 0.0, *b0);
    idl_add_col(*b0, 1.0, f);
    return d;
}

static int l_equilibrium(lua_State *L)
{
    const char *fn = "equilibrium";
    const char *d_name = "theta.D";
    idl_mat *d, *b0;
    lua_settop(L, 3); /* opts stays at 3 below what is pushed */
    if (lua_istable(L, 1)) {
        d = push_theta_b0(L, fn, &b0);
    } else {
        d = lidl_checkmat(L, 1, fn, "D");
        b0 = lidl_checkmat(L, 2, fn, "B0");
        check_square(L, d, fn, "D");
        if (b0->rows != d->rows)
            lidl_error(L, fn, "B0 is %dx%d, expected %d rows (D is %dx%d)", b0->rows, b0->cols,
                       d->rows, d->rows, d->cols);
        check_finite(L, b0, fn, "B0");
        d_name = "D";
    }
    solve_opts o;
    read_opts(L, 3, fn, &o);
    check_d(L, d, o.force, fn, d_name);
    const idl_mat *in[] = {d, b0, NULL};
    idl_mat *x = push_start(L, &o, b0->rows, b0->cols, fn, in);
    run_solver(L, SOLVE_FORWARD, d, b0, NULL, x, &o, fn);
    return 2;
}

static int l_implicit_backward(lua_State *L)
{
    const char *fn = "implicit_backward";
    lua_settop(L, 4);
    idl_mat *d = lidl_checkmat(L, 1, fn, "D");
    idl_mat *z = lidl_checkmat(L, 2, fn, "Z");
    idl_mat *g = lidl_checkmat(L, 3, fn, "G");
    check_square(L, d, fn, "D");
    if (z->rows != d->rows)
        lidl_error(L, fn, "Z is %dx%d, expected %d rows (D is %dx%d)", z->rows, z->cols, d->rows,
                   d->rows, d->cols);
    check_shape(L, g, z->rows, z->cols, fn, "G");
    check_finite(L, z, fn, "Z");
    check_finite(L, g, fn, "G");
    solve_opts o;
    read_opts(L, 4, fn, &o);
    check_d(L, d, o.force, fn, "D");
    const idl_mat *in[] = {d, z, g, NULL};
    idl_mat *v = push_start(L, &o, z->rows, z->cols, fn, in);
    run_solver(L, SOLVE_BACKWARD, d, g, z, v, &o, fn);
    return 2;
}

static int l_diagonal_blocks(lua_State *L)
{
    const char *fn = "diagonal_blocks";
    idl_mat *d = lidl_checkmat(L, 1, fn, "D");
    check_square(L, d, fn, "D");
    /* the workspace is a userdata: a memory error below frees it too */
    int *ends = lua_newuserdatauv(L, 2 * (size_t)d->rows * sizeof(int) + 1, 0);
    int count = idl_diagonal_blocks(d, ends, ends + d->rows);
    lua_createtable(L, count, 0);
    for (int k = 0; k < count; k++) {
        lua_pushinteger(L, ends[k]);
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

static int l_wellposed(lua_State *L)
{
    const char *fn = "wellposed";
    idl_mat *d = lidl_checkmat(L, 1, fn, "D");
    check_square(L, d, fn, "D");
    check_finite(L, d, fn, "D");
    double *work = malloc(idl_wellposed_work_size(d->rows) * sizeof(double) + 1);
    if (!work)
        lidl_error(L, fn, "out of memory");
    idl_wellposedness wp;
    idl_status st = idl_wellposed(d, true, work, &wp);
    free(work);
    lidl_check(L, st, fn);
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, wp.norm_inf);
    lua_setfield(L, -2, "norm_inf");
    lua_pushnumber(L, wp.norm_2);
    lua_setfield(L, -2, "norm_2");
    lua_pushnumber(L, wp.pf);
    lua_setfield(L, -2, "pf");
    lua_pushboolean(L, wp.wellposed);
    lua_setfield(L, -2, "wellposed");
    return 1;
}

void lidl_open_solve(lua_State *L)
{
    static const luaL_Reg fns[] = {{"equilibrium", l_equilibrium},
                                   {"implicit_backward", l_implicit_backward},
                                   {"wellposed", l_wellposed},
                                   {"diagonal_blocks", l_diagonal_blocks},
                                   {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
