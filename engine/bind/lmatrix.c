/*
 * lmatrix.c - the matrix userdata: constructors, methods, operators, and the
 * kernel tier (module functions that write into a destination given first and
 * allocate nothing).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"

/* ---- helpers ---------------------------------------------------------- */

static void check_same_shape(lua_State *L, const idl_mat *a, const idl_mat *b,
                             const char *fname, const char *na, const char *nb)
{
    if (a->rows != b->rows || a->cols != b->cols)
        lidl_error(L, fname, "%s is %dx%d, %s is %dx%d", na, a->rows, a->cols, nb, b->rows,
                   b->cols);
}

/* 1-based index argument checked against its bound, returned 0-based. */
static int check_index(lua_State *L, int idx, int bound, const char *fname, const char *what)
{
    if (bound == 0)
        lidl_error(L, fname, "%s out of range: the dimension is empty", what);
    return (int)lidl_checkrange(L, idx, 1, bound, fname, what) - 1;
}

static idl_mat *new_filled(lua_State *L, int rows, int cols, double v, const char *fname)
{
    idl_mat *m = lidl_newmat(L, rows, cols, fname);
    idl_fill(m, v);
    return m;
}

/* ---- constructors ----------------------------------------------------- */

static int l_zeros(lua_State *L)
{
    new_filled(L, lidl_checksize(L, 1, "zeros", "rows"), lidl_checksize(L, 2, "zeros", "cols"),
               0.0, "zeros");
    return 1;
}

static int l_ones(lua_State *L)
{
    new_filled(L, lidl_checksize(L, 1, "ones", "rows"), lidl_checksize(L, 2, "ones", "cols"),
               1.0, "ones");
    return 1;
}

static int l_full(lua_State *L)
{
    int r = lidl_checksize(L, 1, "full", "rows"), c = lidl_checksize(L, 2, "full", "cols");
    luaL_checktype(L, 3, LUA_TNUMBER);
    new_filled(L, r, c, lua_tonumber(L, 3), "full");
    return 1;
}

static int l_eye(lua_State *L)
{
    int r = lidl_checksize(L, 1, "eye", "n");
    int c = lua_isnoneornil(L, 2) ? r : lidl_checksize(L, 2, "eye", "cols");
    idl_mat *m = new_filled(L, r, c, 0.0, "eye");
    for (int i = 0; i < r && i < c; i++)
        IDL_AT(m, i, i) = 1.0;
    return 1;
}

static int l_from_table(lua_State *L)
{
    const char *fn = "from_table";
    if (!lua_istable(L, 1))
        lidl_error(L, fn, "expected a table of rows, got %s", luaL_typename(L, 1));
    lua_Integer nrows = luaL_len(L, 1);
    if (nrows > (1 << 30))
        lidl_error(L, fn, "too many rows (%lld)", (long long)nrows);
    if (nrows == 0) {
        lidl_newmat(L, 0, 0, fn);
        return 1;
    }
    bool flat = lua_geti(L, 1, 1) == LUA_TNUMBER;
    lua_pop(L, 1);
    lua_Integer ncols = 1;
    if (!flat) {
        if (lua_geti(L, 1, 1) != LUA_TTABLE)
            lidl_error(L, fn, "row 1 must be a table of numbers, got %s", luaL_typename(L, -1));
        ncols = luaL_len(L, -1);
        lua_pop(L, 1);
        if (ncols > (1 << 30))
            lidl_error(L, fn, "too many columns (%lld)", (long long)ncols);
    }
    idl_mat *m = lidl_newmat(L, (int)nrows, (int)ncols, fn);
    for (lua_Integer i = 1; i <= nrows; i++) {
        if (flat) {
            if (lua_geti(L, 1, i) != LUA_TNUMBER)
                lidl_error(L, fn, "entry %lld must be a number, got %s", (long long)i,
                           luaL_typename(L, -1));
            IDL_AT(m, i - 1, 0) = lua_tonumber(L, -1);
            lua_pop(L, 1);
            continue;
        }
        if (lua_geti(L, 1, i) != LUA_TTABLE)
            lidl_error(L, fn, "row %lld must be a table of numbers, got %s", (long long)i,
                       luaL_typename(L, -1));
        if (luaL_len(L, -1) != ncols)
            lidl_error(L, fn, "row %lld has %lld entries, row 1 has %lld", (long long)i,
                       (long long)luaL_len(L, -1), (long long)ncols);
        for (lua_Integer j = 1; j <= ncols; j++) {
            if (lua_geti(L, -1, j) != LUA_TNUMBER)
                lidl_error(L, fn, "entry (%lld, %lld) must be a number, got %s", (long long)i,
                           (long long)j, luaL_typename(L, -1));
            IDL_AT(m, i - 1, j - 1) = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return 1;
}

static int l_rand(lua_State *L)
{
    int r = lidl_checksize(L, 1, "rand", "rows"), c = lidl_checksize(L, 2, "rand", "cols");
    idl_rng *g = lidl_checkrng(L, 3, "rand");
    double lo = lua_isnoneornil(L, 4) ? 0.0 : lidl_checkfinite(L, 4, "rand", "lo");
    double hi = lua_isnoneornil(L, 5) ? 1.0 : lidl_checkfinite(L, 5, "rand", "hi");
    idl_rng_fill_uniform(g, lidl_newmat(L, r, c, "rand"), lo, hi);
    return 1;
}

static int l_randn(lua_State *L)
{
    int r = lidl_checksize(L, 1, "randn", "rows"), c = lidl_checksize(L, 2, "randn", "cols");
    idl_rng *g = lidl_checkrng(L, 3, "randn");
    double mean = lua_isnoneornil(L, 4) ? 0.0 : lidl_checkfinite(L, 4, "randn", "mean");
    double sd = lua_isnoneornil(L, 5) ? 1.0 : lidl_checkfinite(L, 5, "randn", "sd");
    idl_rng_fill_normal(g, lidl_newmat(L, r, c, "randn"), mean, sd);
    return 1;
}

/* ---- concatenation ---------------------------------------------------- */

/* Concatenates the matrices at stack indices first..last, side by side
 * (horizontal) or stacked (vertical). */
static int concat(lua_State *L, int first, int last, bool horizontal, const char *fn)
{
    int rows = 0, cols = 0;
    for (int k = first; k <= last; k++) {
        idl_mat *m = lidl_checkmat(L, k, fn, "every argument");
        int along = horizontal ? m->rows : m->cols;
        if (k > first && along != (horizontal ? rows : cols))
            lidl_error(L, fn, "argument %d is %dx%d, argument 1 is %dx%d", k - first + 1,
                       m->rows, m->cols, lidl_testmat(L, first)->rows,
                       lidl_testmat(L, first)->cols);
        if (horizontal) {
            rows = m->rows;
            cols += m->cols;
        } else {
            cols = m->cols;
            rows += m->rows;
        }
    }
    idl_mat *out = lidl_newmat(L, rows, cols, fn);
    int offset = 0;
    for (int k = first; k <= last; k++) {
        idl_mat *m = lidl_testmat(L, k);
        idl_mat dst = horizontal ? idl_mat_block(out, 0, offset, rows, m->cols)
                                 : idl_mat_block(out, offset, 0, m->rows, cols);
        idl_copy(m, &dst);
        offset += horizontal ? m->cols : m->rows;
    }
    return 1;
}

static int l_hcat(lua_State *L)
{
    if (lua_gettop(L) == 0)
        lidl_error(L, "hcat", "needs at least one matrix");
    return concat(L, 1, lua_gettop(L), true, "hcat");
}

static int l_vcat(lua_State *L)
{
    if (lua_gettop(L) == 0)
        lidl_error(L, "vcat", "needs at least one matrix");
    return concat(L, 1, lua_gettop(L), false, "vcat");
}

/* ---- methods ---------------------------------------------------------- */

static int m_rows(lua_State *L)
{
    lua_pushinteger(L, lidl_checkmat(L, 1, "matrix:rows", "self")->rows);
    return 1;
}

static int m_cols(lua_State *L)
{
    lua_pushinteger(L, lidl_checkmat(L, 1, "matrix:cols", "self")->cols);
    return 1;
}

static int m_size(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:size", "self");
    lua_pushinteger(L, m->rows);
    lua_pushinteger(L, m->cols);
    return 2;
}

/* The entry addressed by (i, j) at stack 2, 3 or, when single, by the one
 * index k at stack 2 into a row or column vector. */
static double *element(lua_State *L, idl_mat *m, const char *fn, bool single)
{
    if (single) {
        if (m->rows != 1 && m->cols != 1)
            lidl_error(L, fn, "a single index needs a vector, matrix is %dx%d", m->rows,
                       m->cols);
        int k = check_index(L, 2, m->rows == 1 ? m->cols : m->rows, fn, "index");
        return m->rows == 1 ? &IDL_AT(m, 0, k) : &IDL_AT(m, k, 0);
    }
    int i = check_index(L, 2, m->rows, fn, "row index");
    int j = check_index(L, 3, m->cols, fn, "column index");
    return &IDL_AT(m, i, j);
}

static int m_get(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:get", "self");
    lua_pushnumber(L, *element(L, m, "matrix:get", lua_gettop(L) == 2));
    return 1;
}

static int m_set(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:set", "self");
    bool single = lua_gettop(L) == 3;
    double *p = element(L, m, "matrix:set", single);
    int vi = single ? 3 : 4;
    if (lua_type(L, vi) != LUA_TNUMBER)
        lidl_error(L, "matrix:set", "value must be a number, got %s", luaL_typename(L, vi));
    *p = lua_tonumber(L, vi);
    lua_settop(L, 1);
    return 1;
}

static int m_copy(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:copy", "self");
    idl_copy(m, lidl_newmat_like(L, m, "matrix:copy"));
    return 1;
}

static int m_t(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:t", "self");
    idl_transpose(m, lidl_newmat(L, m->cols, m->rows, "matrix:t"));
    return 1;
}

static int m_totable(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:totable", "self");
    lua_createtable(L, m->rows, 0);
    for (int i = 0; i < m->rows; i++) {
        lua_createtable(L, m->cols, 0);
        for (int j = 0; j < m->cols; j++) {
            lua_pushnumber(L, IDL_AT(m, i, j));
            lua_rawseti(L, -2, j + 1);
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_sum(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:sum", "self");
    if (lua_isnoneornil(L, 2)) {
        double s;
        idl_mat out = idl_mat_wrap(&s, 1, 1);
        idl_sum(m, 0, &out);
        lua_pushnumber(L, s);
        return 1;
    }
    int dim = (int)lidl_checkrange(L, 2, 1, 2, "matrix:sum", "dim");
    idl_mat *out = dim == 1 ? lidl_newmat(L, 1, m->cols, "matrix:sum") : lidl_newmat(L, m->rows, 1, "matrix:sum");
    idl_sum(m, dim, out);
    return 1;
}

static int m_relu(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:relu", "self");
    idl_relu(m, lidl_newmat_like(L, m, "matrix:relu"));
    return 1;
}

static const char *const norm_names[] = {"fro", "1", "inf", "2", "max", NULL};
static const idl_norm_kind norm_kinds[] = {IDL_NORM_FRO, IDL_NORM_ONE, IDL_NORM_INF,
                                           IDL_NORM_TWO, IDL_NORM_MAX};

static int m_norm(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:norm", "self");
    int k = 0;
    if (!lua_isnoneornil(L, 2)) {
        if (lua_type(L, 2) == LUA_TNUMBER) /* m:norm(1), m:norm(2) read naturally */
            lua_pushstring(L, lua_tostring(L, 2)), lua_replace(L, 2);
        const char *name = lua_tostring(L, 2);
        for (k = 0; norm_names[k]; k++)
            if (name && strcmp(name, norm_names[k]) == 0)
                break;
        if (!norm_names[k])
            lidl_error(L, "matrix:norm", "kind must be \"fro\", \"1\", \"inf\", \"2\" or \"max\", got %s",
                       name ? name : luaL_typename(L, 2));
    }
    double r;
    lidl_check(L, idl_norm(m, norm_kinds[k], &r), "matrix:norm");
    lua_pushnumber(L, r);
    return 1;
}

static int m_hadamard(lua_State *L)
{
    idl_mat *a = lidl_checkmat(L, 1, "matrix:hadamard", "self");
    idl_mat *b = lidl_checkmat(L, 2, "matrix:hadamard", "argument");
    check_same_shape(L, a, b, "matrix:hadamard", "A", "B");
    idl_hadamard(a, b, lidl_newmat_like(L, a, "matrix:hadamard"));
    return 1;
}

static int m_sub(lua_State *L)
{
    const char *fn = "matrix:sub";
    idl_mat *m = lidl_checkmat(L, 1, fn, "self");
    int i1 = (int)lidl_checkrange(L, 2, 1, m->rows + 1, fn, "i1");
    int i2 = (int)lidl_checkrange(L, 3, i1 - 1, m->rows, fn, "i2");
    int j1 = (int)lidl_checkrange(L, 4, 1, m->cols + 1, fn, "j1");
    int j2 = (int)lidl_checkrange(L, 5, j1 - 1, m->cols, fn, "j2");
    lidl_newview(L, 1, idl_mat_block(m, i1 - 1, j1 - 1, i2 - i1 + 1, j2 - j1 + 1));
    return 1;
}

static int m_col(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:col", "self");
    int j = check_index(L, 2, m->cols, "matrix:col", "column index");
    lidl_newview(L, 1, idl_mat_block(m, 0, j, m->rows, 1));
    return 1;
}

static int m_row(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "matrix:row", "self");
    int i = check_index(L, 2, m->rows, "matrix:row", "row index");
    lidl_newview(L, 1, idl_mat_block(m, i, 0, 1, m->cols));
    return 1;
}

static int m_select_cols(lua_State *L)
{
    const char *fn = "matrix:select_cols";
    idl_mat *m = lidl_checkmat(L, 1, fn, "self");
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    if (n < 0 || n > (1 << 30))
        lidl_error(L, fn, "bad index count %lld", (long long)n);
    idl_mat *out = lidl_newmat(L, m->rows, (int)n, fn);
    for (lua_Integer k = 1; k <= n; k++) {
        lua_geti(L, 2, k);
        int j = check_index(L, -1, m->cols, fn, "column index");
        lua_pop(L, 1);
        memcpy(&IDL_AT(out, 0, k - 1), &IDL_AT(m, 0, j), (size_t)m->rows * sizeof(double));
    }
    return 1;
}

static int m_is_view(lua_State *L)
{
    lidl_checkmat(L, 1, "matrix:is_view", "self");
    lua_pushboolean(L, lua_getiuservalue(L, 1, 1) != LUA_TNIL);
    return 1;
}

static int m_all_finite(lua_State *L)
{
    lua_pushboolean(L, idl_all_finite(lidl_checkmat(L, 1, "matrix:all_finite", "self")));
    return 1;
}

static int l_equal(lua_State *L)
{
    idl_mat *a = lidl_checkmat(L, 1, "equal", "a");
    idl_mat *b = lidl_checkmat(L, 2, "equal", "b");
    double tol = lua_isnoneornil(L, 3) ? 0.0 : lidl_checkfinite(L, 3, "equal", "tol");
    double d;
    lua_pushboolean(L, idl_max_abs_diff(a, b, &d) == IDL_OK && d <= tol);
    return 1;
}

static int l_is_matrix(lua_State *L)
{
    lua_pushboolean(L, lidl_testmat(L, 1) != NULL);
    return 1;
}

/* ---- operators -------------------------------------------------------- */

static int op_mul(lua_State *L)
{
    idl_mat *a = lidl_testmat(L, 1), *b = lidl_testmat(L, 2);
    if (a && b) {
        if (a->cols != b->rows)
            lidl_error(L, "matrix * (matmul)", "A is %dx%d, B is %dx%d", a->rows, a->cols, b->rows,
                       b->cols);
        idl_gemm(false, false, 1.0, a, b, 0.0, lidl_newmat(L, a->rows, b->cols, "matrix * (matmul)"));
        return 1;
    }
    idl_mat *m = a ? a : b;
    int s = a ? 2 : 1;
    if (lua_type(L, s) != LUA_TNUMBER)
        lidl_error(L, "matrix * (matmul)", "cannot multiply a matrix by a %s", luaL_typename(L, s));
    double alpha = lua_tonumber(L, s);
    idl_mat *out = lidl_newmat_like(L, m, "matrix * (scale)");
    idl_copy(m, out);
    idl_scale(alpha, out);
    return 1;
}

/* a + sign * b where either may be a number. */
static int add_or_sub(lua_State *L, double sign, const char *fn)
{
    idl_mat *a = lidl_testmat(L, 1), *b = lidl_testmat(L, 2);
    if (a && b) {
        check_same_shape(L, a, b, fn, "A", "B");
        idl_mat *out = lidl_newmat_like(L, a, fn);
        idl_copy(a, out);
        idl_axpy(sign, b, out);
        return 1;
    }
    int s = a ? 2 : 1;
    if (lua_type(L, s) != LUA_TNUMBER)
        lidl_error(L, fn, "cannot combine a matrix with a %s", luaL_typename(L, s));
    double v = lua_tonumber(L, s);
    idl_mat *m = a ? a : b;
    idl_mat *out = lidl_newmat_like(L, m, fn);
    idl_copy(m, out);
    if (a) {
        idl_add_scalar(out, sign * v); /* m + v, m - v */
    } else {
        idl_scale(sign, out); /* v + m, v - m */
        idl_add_scalar(out, v);
    }
    return 1;
}

static int op_add(lua_State *L)
{
    return add_or_sub(L, 1.0, "matrix + (add)");
}

static int op_sub(lua_State *L)
{
    return add_or_sub(L, -1.0, "matrix - (subtract)");
}

static int op_div(lua_State *L)
{
    idl_mat *m = lidl_testmat(L, 1);
    if (!m || lua_type(L, 2) != LUA_TNUMBER)
        lidl_error(L, "matrix / (divide)", "only matrix / number is defined, got %s / %s",
                   luaL_typename(L, 1), luaL_typename(L, 2));
    idl_mat *out = lidl_newmat_like(L, m, "matrix / (divide)");
    idl_copy(m, out);
    idl_scale(1.0 / lua_tonumber(L, 2), out);
    return 1;
}

static int op_unm(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "-matrix (unm)", "operand");
    idl_mat *out = lidl_newmat_like(L, m, "-matrix (unm)");
    idl_copy(m, out);
    idl_scale(-1.0, out);
    return 1;
}

/* a == b: same shape and every element equal (a NaN equals nothing). Lua calls
 * it only when both operands are userdata, so a matrix never equals a number. */
static int op_eq(lua_State *L)
{
    idl_mat *a = lidl_testmat(L, 1), *b = lidl_testmat(L, 2);
    lua_pushboolean(L, a != NULL && b != NULL && idl_mat_equal(a, b));
    return 1;
}

/* #m: the number of rows (samples are columns, so for U it is n, the features). */
static int op_len(lua_State *L)
{
    lua_pushinteger(L, lidl_checkmat(L, 1, "#matrix (len)", "operand")->rows);
    return 1;
}

/* m[i] is a view of row i (as m:row(i)); any other key is a method name, looked
 * up in the methods table (upvalue 1). A number that is not a row index raises,
 * so m[0] or m[1.5] never reads as nil. */
static int op_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TNUMBER) {
        idl_mat *m = lidl_checkmat(L, 1, "m[i]", "self");
        int i = check_index(L, 2, m->rows, "m[i]", "row index");
        lidl_newview(L, 1, idl_mat_block(m, i, 0, 1, m->cols));
        return 1;
    }
    lua_settop(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

/* ---- printing --------------------------------------------------------- */

enum { SHOW_EDGE_ROWS = 5, SHOW_EDGE_COLS = 5 };

/* Which rows (or columns) are shown: all when few, else the first and last
 * `edge` with a gap (-1) between. Returns the count written to idx. */
static int shown(int n, int edge, int *idx)
{
    int k = 0;
    if (n <= 2 * edge + 1) {
        for (int i = 0; i < n; i++)
            idx[k++] = i;
    } else {
        for (int i = 0; i < edge; i++)
            idx[k++] = i;
        idx[k++] = -1;
        for (int i = n - edge; i < n; i++)
            idx[k++] = i;
    }
    return k;
}

/* NaN prints as "nan" whatever its sign bit (printf would say "-nan"). */
static void format_entry(char *buf, size_t size, double v, bool fixed)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (fixed)
        snprintf(buf, size, "%.4f", v);
    else
        snprintf(buf, size, "%.4e", v);
}

static int op_tostring(lua_State *L)
{
    idl_mat *m = lidl_checkmat(L, 1, "tostring(matrix)", "self");
    int ri[2 * SHOW_EDGE_ROWS + 1], ci[2 * SHOW_EDGE_COLS + 1];
    int nr = shown(m->rows, SHOW_EDGE_ROWS, ri), nc = shown(m->cols, SHOW_EDGE_COLS, ci);
    /* Fixed notation when every shown entry reads well in it. */
    bool fixed = true, integers = true;
    for (int a = 0; a < nr; a++)
        for (int b = 0; b < nc; b++) {
            if (ri[a] < 0 || ci[b] < 0)
                continue;
            double v = fabs(IDL_AT(m, ri[a], ci[b]));
            if (isfinite(v) && v != 0.0 && (v < 1e-3 || v >= 1e5))
                fixed = false;
            if (!isfinite(v) || v != floor(v) || v >= 1e9)
                integers = false;
        }
    int width[2 * SHOW_EDGE_COLS + 1] = {0};
    char buf[64];
    for (int b = 0; b < nc; b++)
        for (int a = 0; a < nr; a++) {
            if (ci[b] < 0 || ri[a] < 0) {
                if (width[b] < 3)
                    width[b] = 3;
                continue;
            }
            double v = IDL_AT(m, ri[a], ci[b]);
            if (integers)
                snprintf(buf, sizeof buf, "%.0f", v);
            else
                format_entry(buf, sizeof buf, v, fixed);
            int w = (int)strlen(buf);
            if (w > width[b])
                width[b] = w;
        }
    luaL_Buffer out;
    luaL_buffinit(L, &out);
    for (int a = 0; a < nr; a++) {
        for (int b = 0; b < nc; b++) {
            const char *cell = "...";
            if (ri[a] >= 0 && ci[b] >= 0) {
                double v = IDL_AT(m, ri[a], ci[b]);
                if (integers)
                    snprintf(buf, sizeof buf, "%.0f", v);
                else
                    format_entry(buf, sizeof buf, v, fixed);
                cell = buf;
            } else if (ri[a] < 0 && ci[b] >= 0) {
                cell = ":";
            }
            char padded[96];
            snprintf(padded, sizeof padded, "%s%*s", b ? "  " : " ", width[b], cell);
            luaL_addstring(&out, padded);
        }
        luaL_addchar(&out, '\n');
    }
    lua_getiuservalue(L, 1, 1);
    bool view = !lua_isnil(L, -1);
    lua_pop(L, 1);
    snprintf(buf, sizeof buf, "[idl.matrix %dx%d%s]", m->rows, m->cols, view ? " view" : "");
    luaL_addstring(&out, buf);
    luaL_pushresult(&out);
    return 1;
}

/* ---- kernel tier: destination first, no allocation --------------------- */

static bool opt_bool(lua_State *L, int idx)
{
    return !lua_isnoneornil(L, idx) && lua_toboolean(L, idx);
}

static double opt_number(lua_State *L, int idx, double dflt, const char *fn, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return dflt;
    if (lua_type(L, idx) != LUA_TNUMBER)
        lidl_error(L, fn, "%s must be a number, got %s", what, luaL_typename(L, idx));
    return lua_tonumber(L, idx);
}

static int k_gemm(lua_State *L)
{
    const char *fn = "gemm";
    idl_mat *c = lidl_checkmat(L, 1, fn, "C");
    idl_mat *a = lidl_checkmat(L, 2, fn, "A");
    idl_mat *b = lidl_checkmat(L, 3, fn, "B");
    double alpha = opt_number(L, 4, 1.0, fn, "alpha");
    double beta = opt_number(L, 5, 0.0, fn, "beta");
    bool ta = opt_bool(L, 6), tb = opt_bool(L, 7);
    bool single = lidl_checkeither(L, 8, fn, "precision", "double", "single", 0);
    idl_status st;
    if (single) {
        size_t n = idl_gemm_single_work_size(a, b, c);
        double *work = malloc(n * sizeof(double) + 1);
        if (!work)
            lidl_error(L, fn, "out of memory (the float copies need %.0f MB)",
                       (double)n * sizeof(double) / 1e6);
        st = idl_gemm_single(ta, tb, alpha, a, b, beta, c, work);
        free(work);
    } else {
        st = idl_gemm(ta, tb, alpha, a, b, beta, c);
    }
    if (st != IDL_OK)
        lidl_error(L, fn, "C is %dx%d, A%s is %dx%d, B%s is %dx%d", c->rows, c->cols,
                   ta ? "^T" : "", ta ? a->cols : a->rows, ta ? a->rows : a->cols,
                   tb ? "^T" : "", tb ? b->cols : b->rows, tb ? b->rows : b->cols);
    lua_settop(L, 1);
    return 1;
}

static int k_axpy(lua_State *L)
{
    idl_mat *y = lidl_checkmat(L, 1, "axpy", "Y");
    double alpha = lidl_checkfinite(L, 2, "axpy", "alpha");
    idl_mat *x = lidl_checkmat(L, 3, "axpy", "X");
    check_same_shape(L, y, x, "axpy", "Y", "X");
    idl_axpy(alpha, x, y);
    lua_settop(L, 1);
    return 1;
}

static int k_copy(lua_State *L)
{
    idl_mat *dst = lidl_checkmat(L, 1, "copy", "dst");
    idl_mat *src = lidl_checkmat(L, 2, "copy", "src");
    check_same_shape(L, dst, src, "copy", "dst", "src");
    if (dst->data != src->data)
        idl_copy(src, dst);
    lua_settop(L, 1);
    return 1;
}

static int k_scale(lua_State *L)
{
    idl_mat *x = lidl_checkmat(L, 1, "scale", "X");
    idl_scale(lidl_checkfinite(L, 2, "scale", "alpha"), x);
    lua_settop(L, 1);
    return 1;
}

static int k_fill(lua_State *L)
{
    idl_mat *x = lidl_checkmat(L, 1, "fill", "X");
    luaL_checktype(L, 2, LUA_TNUMBER);
    idl_fill(x, lua_tonumber(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int k_relu(lua_State *L)
{
    idl_mat *dst = lidl_checkmat(L, 1, "relu", "dst");
    idl_mat *src = lua_isnoneornil(L, 2) ? dst : lidl_checkmat(L, 2, "relu", "src");
    check_same_shape(L, dst, src, "relu", "dst", "src");
    idl_relu(src, dst);
    lua_settop(L, 1);
    return 1;
}

static int k_relu_grad(lua_State *L)
{
    idl_mat *dst = lidl_checkmat(L, 1, "relu_grad", "dst");
    idl_mat *src = lidl_checkmat(L, 2, "relu_grad", "src");
    idl_mat *mask = lidl_checkmat(L, 3, "relu_grad", "mask");
    check_same_shape(L, dst, src, "relu_grad", "dst", "src");
    check_same_shape(L, src, mask, "relu_grad", "src", "mask");
    idl_relu_grad(src, mask, dst);
    lua_settop(L, 1);
    return 1;
}

static int k_hadamard(lua_State *L)
{
    idl_mat *c = lidl_checkmat(L, 1, "hadamard", "C");
    idl_mat *a = lidl_checkmat(L, 2, "hadamard", "A");
    idl_mat *b = lidl_checkmat(L, 3, "hadamard", "B");
    check_same_shape(L, a, b, "hadamard", "A", "B");
    check_same_shape(L, c, a, "hadamard", "C", "A");
    idl_hadamard(a, b, c);
    lua_settop(L, 1);
    return 1;
}

static int k_add_col(lua_State *L)
{
    idl_mat *x = lidl_checkmat(L, 1, "add_col", "X");
    double alpha = lidl_checkfinite(L, 2, "add_col", "alpha");
    idl_mat *v = lidl_checkmat(L, 3, "add_col", "v");
    if (idl_add_col(x, alpha, v) != IDL_OK)
        lidl_error(L, "add_col", "X is %dx%d, v is %dx%d (want %dx1)", x->rows, x->cols, v->rows,
                   v->cols, x->rows);
    lua_settop(L, 1);
    return 1;
}

static int k_scale_rows(lua_State *L)
{
    idl_mat *x = lidl_checkmat(L, 1, "scale_rows", "X");
    idl_mat *v = lidl_checkmat(L, 2, "scale_rows", "v");
    if (idl_scale_rows(x, v) != IDL_OK)
        lidl_error(L, "scale_rows", "X is %dx%d, v is %dx%d (want %dx1)", x->rows, x->cols,
                   v->rows, v->cols, x->rows);
    lua_settop(L, 1);
    return 1;
}

static int k_scale_cols(lua_State *L)
{
    idl_mat *x = lidl_checkmat(L, 1, "scale_cols", "X");
    idl_mat *v = lidl_checkmat(L, 2, "scale_cols", "v");
    if (idl_scale_cols(x, v) != IDL_OK)
        lidl_error(L, "scale_cols", "X is %dx%d, v is %dx%d (want a vector of %d)", x->rows,
                   x->cols, v->rows, v->cols, x->cols);
    lua_settop(L, 1);
    return 1;
}

static int k_transpose(lua_State *L)
{
    idl_mat *dst = lidl_checkmat(L, 1, "transpose", "dst");
    idl_mat *src = lidl_checkmat(L, 2, "transpose", "src");
    if (dst->rows != src->cols || dst->cols != src->rows)
        lidl_error(L, "transpose", "dst is %dx%d, src is %dx%d", dst->rows, dst->cols, src->rows,
                   src->cols);
    if (dst->data == src->data && src->rows * src->cols > 1)
        lidl_error(L, "transpose", "dst and src share storage");
    idl_transpose(src, dst);
    lua_settop(L, 1);
    return 1;
}

/* Reads the Lua array of 1-based column indices at idx into a temporary
 * int array (anchored on the stack), each checked against bound. */
static int *check_index_array(lua_State *L, int idx, int bound, int *n, const char *fn)
{
    if (!lua_istable(L, idx))
        lidl_error(L, fn, "idx must be a table of column indices, got %s", luaL_typename(L, idx));
    lua_Integer len = luaL_len(L, idx);
    if (len < 0 || len > (1 << 30)) /* a __len metamethod can say anything */
        lidl_error(L, fn, "bad index count %lld", (long long)len);
    int *out = lua_newuserdatauv(L, (size_t)len * sizeof(int) + 1, 0);
    for (lua_Integer k = 1; k <= len; k++) {
        lua_geti(L, idx, k);
        out[k - 1] = check_index(L, -1, bound, fn, "column index");
        lua_pop(L, 1);
    }
    *n = (int)len;
    return out;
}

static int k_gather_cols(lua_State *L)
{
    idl_mat *dst = lidl_checkmat(L, 1, "gather_cols", "dst");
    idl_mat *src = lidl_checkmat(L, 2, "gather_cols", "src");
    int n;
    int *idx = check_index_array(L, 3, src->cols, &n, "gather_cols");
    if (idl_gather_cols(src, idx, n, dst) != IDL_OK)
        lidl_error(L, "gather_cols", "dst is %dx%d, expected %dx%d", dst->rows, dst->cols,
                   src->rows, n);
    lua_settop(L, 1);
    return 1;
}

static int k_scatter_cols(lua_State *L)
{
    idl_mat *dst = lidl_checkmat(L, 1, "scatter_cols", "dst");
    idl_mat *src = lidl_checkmat(L, 3, "scatter_cols", "src");
    int n;
    int *idx = check_index_array(L, 2, dst->cols, &n, "scatter_cols");
    if (idl_scatter_cols(src, idx, n, dst) != IDL_OK)
        lidl_error(L, "scatter_cols", "src is %dx%d, expected %dx%d", src->rows, src->cols,
                   dst->rows, n);
    lua_settop(L, 1);
    return 1;
}

/* ---- registration ----------------------------------------------------- */

static const luaL_Reg methods[] = {
    {"rows", m_rows},         {"cols", m_cols},       {"size", m_size},
    {"get", m_get},           {"set", m_set},         {"copy", m_copy},
    {"t", m_t},               {"totable", m_totable}, {"sum", m_sum},
    {"relu", m_relu},         {"norm", m_norm},       {"hadamard", m_hadamard},
    {"sub", m_sub},           {"col", m_col},         {"row", m_row},
    {"hcat", l_hcat},         {"vcat", l_vcat},       {"select_cols", m_select_cols},
    {"is_view", m_is_view},   {"all_finite", m_all_finite},
    {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__mul", op_mul}, {"__add", op_add},           {"__sub", op_sub}, {"__div", op_div},
    {"__unm", op_unm}, {"__tostring", op_tostring}, {"__eq", op_eq},   {"__len", op_len},
    {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"zeros", l_zeros},       {"ones", l_ones},          {"full", l_full},
    {"eye", l_eye},           {"from_table", l_from_table}, {"rand", l_rand},
    {"randn", l_randn},       {"hcat", l_hcat},          {"vcat", l_vcat},
    {"equal", l_equal},       {"is_matrix", l_is_matrix}, {"gemm", k_gemm},
    {"axpy", k_axpy},         {"copy", k_copy},          {"scale", k_scale},
    {"fill", k_fill},         {"relu", k_relu},          {"hadamard", k_hadamard},
    {"relu_grad", k_relu_grad},
    {"add_col", k_add_col},   {"transpose", k_transpose}, {"gather_cols", k_gather_cols},
    {"scatter_cols", k_scatter_cols}, {"scale_rows", k_scale_rows},
    {"scale_cols", k_scale_cols}, {NULL, NULL}};

void lidl_open_matrix(lua_State *L)
{
    luaL_newmetatable(L, LIDL_MATRIX);
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlib(L, methods);
    /* __index is a function (it also takes row numbers); __fields shows the
     * REPL's completion, which never calls functions, what it would find. */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__fields");
    lua_pushcclosure(L, op_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, functions, 0);
}
