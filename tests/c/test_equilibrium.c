/* test_equilibrium.c - the Picard and Anderson solvers against a naive
 * triple-loop iteration, closed forms and each other; the implicit backward
 * pass against LAPACK's dgesv on (I - Phi D^T); the well-posedness tests
 * against matrices whose norms and Perron root are known. */
#include <lapacke.h>
#include <stdbool.h>
#include <string.h>

#include "equilibrium.h"
#include "testutil.h"

static double *work_for(const idl_eq_opts *o, int h, int m)
{
    size_t n = idl_eq_work_size(o, h, m);
    double *w = malloc((n ? n : 1) * sizeof(double));
    if (!w)
        exit(2);
    return w;
}

/* D with every row scaled to l1 norm kappa (so ||D||_inf = kappa); entries
 * made nonnegative first when nonneg. */
static idl_mat random_d(int h, double kappa, bool nonneg, unsigned *s)
{
    idl_mat d = tu_alloc(h, h, 1);
    tu_fill(&d, s);
    for (int i = 0; i < h; i++) {
        double l1 = 0.0;
        for (int j = 0; j < h; j++) {
            if (nonneg)
                IDL_AT(&d, i, j) = fabs(IDL_AT(&d, i, j));
            l1 += fabs(IDL_AT(&d, i, j));
        }
        for (int j = 0; j < h; j++)
            IDL_AT(&d, i, j) *= kappa / l1;
    }
    return d;
}

/* out = (D x + b)_+ by loops. */
static void naive_map(const idl_mat *d, const idl_mat *b, const idl_mat *x, idl_mat *out)
{
    for (int c = 0; c < x->cols; c++)
        for (int i = 0; i < d->rows; i++) {
            double s = IDL_AT(b, i, c);
            for (int l = 0; l < d->cols; l++)
                s += IDL_AT(d, i, l) * IDL_AT(x, l, c);
            IDL_AT(out, i, c) = s > 0.0 ? s : 0.0;
        }
}

/* max|X - (D X + B)_+| / max(max (B)_+, max|X|), by loops. */
static double naive_residual(const idl_mat *d, const idl_mat *b, const idl_mat *x)
{
    idl_mat g = tu_alloc(x->rows, x->cols, 0);
    naive_map(d, b, x, &g);
    double diff, xmax, bplus = 0.0;
    idl_max_abs_diff(x, &g, &diff);
    idl_norm(x, IDL_NORM_MAX, &xmax);
    for (int j = 0; j < b->cols; j++)
        for (int i = 0; i < b->rows; i++)
            bplus = fmax(bplus, IDL_AT(b, i, j));
    free(g.data);
    return diff / fmax(bplus, xmax);
}

static idl_eq_opts opts_for(idl_eq_method method, double tol, int max_iter)
{
    idl_eq_opts o = idl_eq_defaults();
    o.method = method;
    o.tol = tol;
    o.max_iter = max_iter;
    return o;
}

/* Runs a solver from x (in/out); returns its info. */
static idl_eq_info solve(const idl_mat *d, const idl_mat *b, idl_mat *x, const idl_eq_opts *o)
{
    double *w = work_for(o, x->rows, x->cols);
    idl_eq_info info = {-1, NAN, NAN, false, IDL_EQ_STOP_NONFINITE};
    CHECK(idl_equilibrium(d, b, x, o, w, &info) == IDL_OK);
    free(w);
    return info;
}

/* With tol = 0 Picard runs exactly max_iter steps: the same iterates as the
 * naive loop, on strided storage. */
static void test_picard_vs_naive(void)
{
    unsigned s = 11;
    idl_mat d = random_d(7, 0.8, false, &s), b = tu_alloc(7, 5, 2), x = tu_alloc(7, 5, 3);
    idl_mat r = tu_alloc(7, 5, 0), t = tu_alloc(7, 5, 0);
    tu_fill(&b, &s);
    for (int k = 0; k < 12; k++) {
        naive_map(&d, &b, &r, &t);
        idl_copy(&t, &r);
    }
    idl_eq_opts o = opts_for(IDL_EQ_PICARD, 0.0, 12);
    idl_eq_info info = solve(&d, &b, &x, &o);
    double diff;
    idl_max_abs_diff(&x, &r, &diff);
    CHECK(diff < 1e-13);
    CHECK(info.iterations == 12);
    CHECK(!info.converged && info.stop == IDL_EQ_STOP_MAX_ITER);
    CHECK_NEAR(info.residual, naive_residual(&d, &b, &x), 1e-15);
    free(d.data), free(b.data), free(x.data), free(r.data), free(t.data);
}

/* Both methods reach tol on both families, the reported residual is the
 * true one of the returned X, and they agree with each other. */
static void test_families(void)
{
    const double kappas[] = {0.5, 0.9, 0.99};
    unsigned s = 5;
    for (int nonneg = 0; nonneg <= 1; nonneg++)
        for (int k = 0; k < 3; k++) {
            int h = 40, m = 30;
            idl_mat d = random_d(h, kappas[k], nonneg, &s), b = tu_alloc(h, m, 0);
            tu_fill(&b, &s);
            idl_mat xs[2];
            for (int meth = 0; meth < 2; meth++) {
                xs[meth] = tu_alloc(h, m, 1);
                idl_eq_opts o = opts_for((idl_eq_method)meth, 1e-10, 100000);
                idl_eq_info info = solve(&d, &b, &xs[meth], &o);
                double r = naive_residual(&d, &b, &xs[meth]);
                CHECK(info.converged);
                CHECK(r < 1e-10);
                CHECK_NEAR(info.residual, r, 1e-14);
                /* Tighter, so the contraction bound |x - x*| <= r/(1-kappa)
                 * makes 1e-8 a guarantee, not luck. */
                o.tol = 1e-12;
                solve(&d, &b, &xs[meth], &o);
            }
            double diff;
            idl_max_abs_diff(&xs[0], &xs[1], &diff);
            CHECK(diff < 1e-8);
            free(d.data), free(b.data), free(xs[0].data), free(xs[1].data);
        }
}

/* A start at the solution is accepted at once. */
static void test_warm_start(void)
{
    unsigned s = 9;
    idl_mat d = random_d(30, 0.9, true, &s), b = tu_alloc(30, 8, 0), x = tu_alloc(30, 8, 0);
    tu_fill(&b, &s);
    idl_eq_opts o = opts_for(IDL_EQ_PICARD, 1e-13, 100000);
    solve(&d, &b, &x, &o);
    for (int meth = 0; meth < 2; meth++) {
        idl_eq_opts w = opts_for((idl_eq_method)meth, 1e-10, 1000);
        idl_eq_info info = solve(&d, &b, &x, &w);
        CHECK(info.converged);
        CHECK(info.iterations <= 1);
    }
    free(d.data), free(b.data), free(x.data);
}

/* h = 1: x = (d x + b)_+ has the solution max(b / (1 - d), 0) for d < 1. */
static void test_scalar(void)
{
    const double ds[] = {0.5, -0.9, 0.99, 0.0};
    const double bs[] = {2.0, -1.0, 1.9, 0.01, -3.0};
    for (int k = 0; k < 4; k++) {
        idl_mat d = tu_alloc(1, 1, 0), b = tu_alloc(1, 5, 0);
        d.data[0] = ds[k];
        memcpy(b.data, bs, sizeof bs);
        for (int meth = 0; meth < 2; meth++) {
            idl_mat x = tu_alloc(1, 5, 0);
            idl_eq_opts o = opts_for((idl_eq_method)meth, 1e-13, 100000);
            idl_eq_info info = solve(&d, &b, &x, &o);
            CHECK(info.converged);
            /* |x - x*| <= residual / (1 - d), residual <= 1e-13 max(1, |x|). */
            for (int j = 0; j < 5; j++) {
                double want = fmax(bs[j] / (1.0 - ds[k]), 0.0);
                CHECK_NEAR(x.data[j], want, 1e-10 * fmax(1.0, want));
            }
            free(x.data);
        }
        free(d.data), free(b.data);
    }
}

/* V column by column from dgesv on (I - Phi D^T) v = Phi g. */
static void dense_backward(const idl_mat *d, const idl_mat *z, const idl_mat *g, idl_mat *v)
{
    int h = d->rows;
    idl_mat a = tu_alloc(h, h, 0);
    lapack_int *piv = malloc((size_t)h * sizeof(lapack_int));
    for (int c = 0; c < z->cols; c++) {
        for (int i = 0; i < h; i++) {
            double phi = IDL_AT(z, i, c) > 0.0 ? 1.0 : 0.0;
            for (int j = 0; j < h; j++)
                IDL_AT(&a, i, j) = (i == j) - phi * IDL_AT(d, j, i);
            IDL_AT(v, i, c) = phi * IDL_AT(g, i, c);
        }
        CHECK(LAPACKE_dgesv(LAPACK_COL_MAJOR, h, 1, a.data, a.ld, piv, &IDL_AT(v, 0, c), v->ld) ==
              0);
    }
    free(a.data);
    free(piv);
}

static void test_backward(void)
{
    unsigned s = 21;
    int h = 20, m = 6;
    for (int nonneg = 0; nonneg <= 1; nonneg++) {
        idl_mat d = random_d(h, 0.9, nonneg, &s), z = tu_alloc(h, m, 0), g = tu_alloc(h, m, 2);
        idl_mat ref = tu_alloc(h, m, 0);
        tu_fill(&z, &s);
        tu_fill(&g, &s);
        dense_backward(&d, &z, &g, &ref);
        for (int meth = 0; meth < 2; meth++) {
            idl_mat v = tu_alloc(h, m, 1);
            idl_eq_opts o = opts_for((idl_eq_method)meth, 1e-13, 100000);
            double *w = work_for(&o, h, m);
            idl_eq_info info = {-1, NAN, NAN, false, IDL_EQ_STOP_NONFINITE};
            CHECK(idl_implicit_backward(&d, &z, &g, &v, &o, w, &info) == IDL_OK);
            CHECK(info.converged && info.stop == IDL_EQ_STOP_TOL);
            double diff;
            idl_max_abs_diff(&v, &ref, &diff);
            CHECK(diff < 1e-10);
            free(w), free(v.data);
        }
        free(d.data), free(z.data), free(g.data), free(ref.data);
    }
}

/* Runs the backward solve from V = 0 with o; returns its info. */
static idl_eq_info backward_from_zero(const idl_mat *d, const idl_mat *z, const idl_mat *g,
                                      idl_mat *v, const idl_eq_opts *o)
{
    double *w = work_for(o, v->rows, v->cols);
    idl_eq_info info = {-1, NAN, NAN, false, IDL_EQ_STOP_NONFINITE};
    idl_fill(v, 0.0);
    CHECK(idl_implicit_backward(d, z, g, v, o, w, &info) == IDL_OK);
    free(w);
    return info;
}

/* A right-hand side of size 1e-9 with a loose tol: the rule is relative to
 * max|Phi G|, so V is not accepted at 0 but solved to about tol relative, and
 * the iterates are those of G itself scaled by 1e-9. */
static void test_backward_tiny_rhs(void)
{
    unsigned s = 23;
    int h = 30, m = 8;
    double kappa = 0.9;
    idl_mat d = random_d(h, kappa, false, &s), z = tu_alloc(h, m, 0), g = tu_alloc(h, m, 1);
    idl_mat ref = tu_alloc(h, m, 0), v = tu_alloc(h, m, 0), big = tu_alloc(h, m, 0);
    tu_fill(&z, &s);
    tu_fill(&g, &s);
    idl_copy(&g, &big);
    idl_scale(1e-9, &g);
    dense_backward(&d, &z, &g, &ref);
    for (int meth = 0; meth < 2; meth++) {
        idl_eq_opts o = opts_for((idl_eq_method)meth, 1e-4, 1000);
        idl_eq_info info = backward_from_zero(&d, &z, &g, &v, &o);
        double diff, vmax, rmax;
        idl_max_abs_diff(&v, &ref, &diff);
        idl_norm(&v, IDL_NORM_MAX, &vmax);
        idl_norm(&ref, IDL_NORM_MAX, &rmax);
        CHECK(info.converged && info.iterations > 0 && info.residual < 1e-4);
        CHECK(vmax > 0.5 * rmax);
        /* The l1 contraction of each column: |v - v*|_1 <= |v - g(v)|_1 / (1 - kappa). */
        CHECK(diff <= h * info.residual * info.scale / (1.0 - kappa));
        CHECK(diff <= 1e-2 * rmax);
        if (meth == 0) {
            /* Scale-free: the same run on G * 1e9 takes the same steps. */
            idl_eq_info info_big = backward_from_zero(&d, &z, &big, &ref, &o);
            CHECK(info_big.iterations == info.iterations);
            CHECK_NEAR(info_big.residual, info.residual, 1e-9 * info.residual);
            dense_backward(&d, &z, &g, &ref);
        }
    }
    free(d.data), free(z.data), free(g.data), free(ref.data), free(v.data), free(big.data);
}

/* steps = k from V = 0 gives the Neumann sum sum_{i<k} (Phi D^T)^i Phi G
 * (built here by loops), whose error is at most kappa^k |v*|_1 per column in
 * the l1 norm, so it tends to the exact V (dgesv) as k grows. */
static void test_backward_steps(void)
{
    unsigned s = 29;
    int h = 25, m = 5;
    double kappa = 0.8;
    idl_mat d = random_d(h, kappa, false, &s), z = tu_alloc(h, m, 0), g = tu_alloc(h, m, 0);
    idl_mat ref = tu_alloc(h, m, 0), v = tu_alloc(h, m, 1), term = tu_alloc(h, m, 0);
    idl_mat next = tu_alloc(h, m, 0), sum = tu_alloc(h, m, 0);
    tu_fill(&z, &s);
    tu_fill(&g, &s);
    dense_backward(&d, &z, &g, &ref);
    for (int c = 0; c < m; c++) /* term = Phi G */
        for (int i = 0; i < h; i++)
            IDL_AT(&term, i, c) = IDL_AT(&z, i, c) > 0.0 ? IDL_AT(&g, i, c) : 0.0;
    double prev = INFINITY;
    for (int k = 1; k <= 12; k++) { /* beyond, the error is at rounding level */
        idl_axpy(1.0, &term, &sum);
        idl_eq_opts o = opts_for(IDL_EQ_PICARD, 0.0, 1000);
        o.steps = k;
        idl_eq_info info = backward_from_zero(&d, &z, &g, &v, &o);
        CHECK(info.stop == IDL_EQ_STOP_STEPS && info.iterations == k && !info.converged);
        double diff, worst = 0.0;
        idl_max_abs_diff(&v, &sum, &diff);
        CHECK(diff < 1e-13);
        for (int c = 0; c < m; c++) {
            double err = 0.0, l1 = 0.0;
            for (int i = 0; i < h; i++) {
                err += fabs(IDL_AT(&v, i, c) - IDL_AT(&ref, i, c));
                l1 += fabs(IDL_AT(&ref, i, c));
            }
            CHECK(err <= pow(kappa, k) * l1 * (1.0 + 1e-12) + 1e-14);
            worst = fmax(worst, err / l1);
        }
        CHECK(worst <= prev);
        prev = worst;
        for (int c = 0; c < m; c++) /* term <- Phi D^T term */
            for (int i = 0; i < h; i++) {
                double t = 0.0;
                for (int l = 0; l < h; l++)
                    t += IDL_AT(&d, l, i) * IDL_AT(&term, l, c);
                IDL_AT(&next, i, c) = IDL_AT(&z, i, c) > 0.0 ? t : 0.0;
            }
        idl_copy(&next, &term);
    }
    CHECK(prev < 1e-8);
    /* One step from V = 0 is Phi G with no product with D: a D of NaN does
     * not reach V (bit for bit, in both precisions; G is made of floats). */
    idl_mat nan_d = tu_alloc(h, h, 0), phig = tu_alloc(h, m, 0);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < h; i++)
            IDL_AT(&nan_d, i, j) = NAN;
    for (int c = 0; c < m; c++)
        for (int i = 0; i < h; i++) {
            IDL_AT(&g, i, c) = (double)(float)IDL_AT(&g, i, c);
            IDL_AT(&phig, i, c) = IDL_AT(&z, i, c) > 0.0 ? IDL_AT(&g, i, c) : 0.0;
        }
    for (int single = 0; single < 2; single++) {
        idl_eq_opts o1 = opts_for(IDL_EQ_PICARD, single ? 1e-6 : 0.0, 1000);
        o1.steps = 1;
        o1.precision = single ? IDL_EQ_SINGLE : IDL_EQ_DOUBLE;
        idl_eq_info i1 = backward_from_zero(&nan_d, &z, &g, &v, &o1);
        CHECK(i1.iterations == 1 && i1.stop == IDL_EQ_STOP_STEPS);
        CHECK(idl_mat_equal(&v, &phig));
    }
    free(nan_d.data), free(phig.data);
    /* With a tol the rule may stop the run sooner, as a converged solve. */
    idl_eq_opts o = opts_for(IDL_EQ_PICARD, 1e-6, 1000);
    o.steps = 500;
    idl_eq_info info = backward_from_zero(&d, &z, &g, &v, &o);
    CHECK(info.converged && info.stop == IDL_EQ_STOP_TOL && info.iterations < 500);
    free(d.data), free(z.data), free(g.data), free(ref.data), free(v.data);
    free(term.data), free(next.data), free(sum.data);
}

/* A right-hand side that is exactly zero: the solution is 0 and the floor
 * makes the rule absolute, so X = 0 is accepted at once. */
static void test_zero_rhs(void)
{
    unsigned s = 31;
    idl_mat d = random_d(6, 0.9, false, &s), b = tu_alloc(6, 3, 0), x = tu_alloc(6, 3, 0);
    idl_fill(&b, -1.0);
    idl_eq_opts o = opts_for(IDL_EQ_PICARD, 1e-10, 100);
    idl_eq_info info = solve(&d, &b, &x, &o);
    CHECK(info.converged && info.stop == IDL_EQ_STOP_ABSOLUTE && info.iterations == 0);
    CHECK(info.residual == 0.0);
    free(d.data), free(b.data), free(x.data);
}

static idl_wellposedness wellposed(const double *entries, int h, bool all)
{
    idl_mat d = tu_alloc(h, h, 0);
    memcpy(d.data, entries, (size_t)h * (size_t)h * sizeof(double));
    double *w = malloc(idl_wellposed_work_size(h) * sizeof(double));
    idl_wellposedness wp = {NAN, NAN, NAN, false};
    CHECK(idl_wellposed(&d, all, w, &wp) == IDL_OK);
    free(w), free(d.data);
    return wp;
}

static void test_wellposed(void)
{
    /* Cheap test passes: the others are skipped. */
    const double small[] = {0.2, -0.1, 0.3, 0.1}; /* rows (0.2, 0.3), (-0.1, 0.1) */
    idl_wellposedness wp = wellposed(small, 2, false);
    CHECK_NEAR(wp.norm_inf, 0.5, 1e-15);
    CHECK(isnan(wp.norm_2) && isnan(wp.pf) && wp.wellposed);
    /* Column-major [[0, 1.5], [0.5, 0]]: both norms 1.5, but |D| is periodic
     * with Perron root sqrt(0.75) (the shift in the power iteration matters). */
    const double swap[] = {0.0, 0.5, 1.5, 0.0};
    wp = wellposed(swap, 2, false);
    CHECK_NEAR(wp.norm_inf, 1.5, 1e-15);
    CHECK_NEAR(wp.norm_2, 1.5, 1e-12);
    CHECK_NEAR(wp.pf, sqrt(0.75), 1e-9);
    CHECK(wp.pf >= sqrt(0.75) - 1e-15); /* an upper bound */
    CHECK(wp.wellposed);
    /* A constant positive matrix c 1 1^T has Perron root h c. */
    double cst[9];
    for (int i = 0; i < 9; i++)
        cst[i] = 0.4;
    wp = wellposed(cst, 3, true);
    CHECK_NEAR(wp.pf, 1.2, 1e-12);
    CHECK_NEAR(wp.norm_2, 1.2, 1e-12);
    CHECK(!wp.wellposed);
    /* Signs do not help the bound: rho(|D|) for D = [[0.6, -0.6], [-0.6, 0.6]] is 1.2. */
    const double sgn[] = {0.6, -0.6, -0.6, 0.6};
    wp = wellposed(sgn, 2, true);
    CHECK_NEAR(wp.pf, 1.2, 1e-12);
    CHECK(!wp.wellposed);
}

static void test_errors_and_divergence(void)
{
    idl_mat d = tu_alloc(3, 3, 0), b = tu_alloc(3, 4, 0), x = tu_alloc(2, 4, 0);
    idl_eq_opts o = idl_eq_defaults();
    double *w = work_for(&o, 3, 4);
    idl_eq_info info;
    CHECK(idl_picard(&d, &b, &x, &o, w, &info) == IDL_EDIM);
    idl_mat x3 = tu_alloc(3, 4, 0);
    o.memory = 0;
    CHECK(idl_anderson(&d, &b, &x3, &o, w, &info) == IDL_EINVAL);
    const idl_eq_precision dbl = IDL_EQ_DOUBLE;
    CHECK(idl_eq_work_size(&(idl_eq_opts){IDL_EQ_ANDERSON, 1e-10, 10, 0, 0, dbl}, 3, 4) == 0);
    /* steps is a Picard option */
    CHECK(idl_eq_work_size(&(idl_eq_opts){IDL_EQ_ANDERSON, 1e-10, 10, 5, 2, dbl}, 3, 4) == 0);
    CHECK(idl_eq_work_size(&(idl_eq_opts){IDL_EQ_PICARD, 1e-10, 10, 5, -1, dbl}, 3, 4) == 0);
    o = idl_eq_defaults();
    o.tol = -1.0;
    CHECK(idl_picard(&d, &b, &x3, &o, w, &info) == IDL_EINVAL);
    /* D = 2 I, b = 1: the iterates double until they overflow; the run stops
     * there and does not claim convergence. */
    for (int i = 0; i < 3; i++)
        IDL_AT(&d, i, i) = 2.0;
    idl_fill(&b, 1.0);
    idl_fill(&x3, 0.0);
    o = opts_for(IDL_EQ_PICARD, 1e-10, 5000);
    CHECK(idl_picard(&d, &b, &x3, &o, w, &info) == IDL_OK);
    CHECK(!info.converged && !isfinite(info.residual) && info.iterations < 5000);
    CHECK(info.stop == IDL_EQ_STOP_NONFINITE);
    free(d.data), free(b.data), free(x.data), free(x3.data), free(w);
}

/* ---- single precision ------------------------------------------------ */

/* float's unit roundoff */
#define U_SINGLE 0x1p-24

static idl_eq_opts single_opts(double tol, int max_iter, int steps)
{
    idl_eq_opts o = opts_for(IDL_EQ_PICARD, tol, max_iter);
    o.steps = steps;
    o.precision = IDL_EQ_SINGLE;
    return o;
}

/* Runs the forward (z == NULL) or backward solve from x (in/out). */
static idl_eq_info solve_either(const idl_mat *d, const idl_mat *z, const idl_mat *b, idl_mat *x,
                                const idl_eq_opts *o)
{
    double *w = work_for(o, x->rows, x->cols);
    idl_eq_info info = {-1, NAN, NAN, false, IDL_EQ_STOP_NONFINITE};
    idl_status st = z ? idl_implicit_backward(d, z, b, x, o, w, &info)
                      : idl_equilibrium(d, b, x, o, w, &info);
    CHECK(st == IDL_OK);
    free(w);
    return info;
}

static bool all_floats(const idl_mat *x)
{
    for (int j = 0; j < x->cols; j++)
        for (int i = 0; i < x->rows; i++)
            if ((double)(float)IDL_AT(x, i, j) != IDL_AT(x, i, j))
                return false;
    return true;
}

/* A problem float computes exactly: D = 1/2 on a cyclic shift, B integer,
 * Z in {0, 1}, so the k-th iterate has k bits after the point and |x| < 8:
 * with fewer than 20 steps no operation rounds, in float or double, and
 * single precision must return the same X and the same info, bit for bit,
 * whatever ended the run. Column 0 has B < 0 and Z = 0 (the ReLU and the mask
 * at work), the others no zero, so their chains do not end and the solve
 * takes many steps. */
static void test_single_exact(void)
{
    int h = 9, m = 4;
    idl_mat d = tu_alloc(h, h, 0), b = tu_alloc(h, m, 1), z = tu_alloc(h, m, 0);
    for (int i = 0; i < h; i++)
        IDL_AT(&d, i, (i + 1) % h) = 0.5;
    for (int j = 0; j < m; j++)
        for (int i = 0; i < h; i++) {
            bool hole = j == 0 && i % 3 == 0;
            IDL_AT(&b, i, j) = hole ? -2.0 : (double)(1 + (5 * i + 3 * j) % 3);
            IDL_AT(&z, i, j) = hole ? 0.0 : 1.0;
        }
    /* converged at tol, stopped by steps, by max_iter */
    const idl_eq_opts cases[] = {single_opts(1e-4, 100, 0), single_opts(1e-4, 100, 5),
                                 single_opts(0.0, 7, 0)};
    const idl_eq_stop stops[] = {IDL_EQ_STOP_TOL, IDL_EQ_STOP_STEPS, IDL_EQ_STOP_MAX_ITER};
    for (int c = 0; c < 3; c++)
        for (int back = 0; back <= 1; back++) {
            idl_eq_opts od = cases[c];
            od.precision = IDL_EQ_DOUBLE;
            idl_mat xs = tu_alloc(h, m, 2), xd = tu_alloc(h, m, 0);
            idl_eq_info is = solve_either(&d, back ? &z : NULL, &b, &xs, &cases[c]);
            idl_eq_info id = solve_either(&d, back ? &z : NULL, &b, &xd, &od);
            double diff;
            idl_max_abs_diff(&xs, &xd, &diff);
            CHECK(diff == 0.0);
            CHECK(is.iterations == id.iterations && is.stop == id.stop && is.stop == stops[c]);
            CHECK(is.residual == id.residual && is.scale == id.scale);
            CHECK(is.converged == id.converged);
            CHECK(id.iterations > 2 && id.iterations < 20); /* exact: fewer than 20 steps */
            free(xs.data), free(xd.data);
        }
    /* B < 0: X = 0 is the solution, accepted at once by the absolute floor */
    idl_fill(&b, -1.0);
    idl_mat x = tu_alloc(h, m, 0);
    idl_eq_opts o = single_opts(1e-4, 100, 0);
    idl_eq_info info = solve_either(&d, NULL, &b, &x, &o);
    CHECK(info.stop == IDL_EQ_STOP_ABSOLUTE && info.iterations == 0 && info.residual == 0.0);
    free(d.data), free(b.data), free(z.data), free(x.data);
}

/* What float rounding adds to one evaluation of the map at an iterate of
 * scale s, for ||D||_inf = kappa and max|B| = bmax: D and B rounded to float
 * (u kappa s, u bmax), the h-term products (gamma_h kappa s, any summation
 * order), the sum with B (u (kappa s + bmax)); the ReLU and the mask do not
 * enlarge a difference. Second-order terms are covered by the 1.01. */
static double single_map_error(int h, double kappa, double s, double bmax)
{
    double gamma = h * U_SINGLE / (1.0 - h * U_SINGLE);
    return 1.01 * ((2.0 * U_SINGLE + gamma) * kappa * s + 2.0 * U_SINGLE * bmax);
}

/* Single against double on random families: the returned X is float-exact,
 * info->scale is its s exactly, info->residual is the float map's residual
 * (within one map error of the double map's), and the distance to the double
 * solution is within (r s + map error) / (1 - kappa), the contraction bound
 * applied to the double map at the float iterate. */
static void test_single_accuracy(void)
{
    unsigned s = 41;
    int h = 40, m = 30;
    const double kappas[] = {0.5, 0.9};
    for (int nonneg = 0; nonneg <= 1; nonneg++)
        for (int k = 0; k < 2; k++)
            for (int t = 0; t < 2; t++) { /* to float's floor; to tol 1e-6 */
                double kappa = kappas[k], bmax, bplus = 0.0, xmax, diff;
                idl_mat d = random_d(h, kappa, nonneg, &s), b = tu_alloc(h, m, 0);
                idl_mat xd = tu_alloc(h, m, 0), xs = tu_alloc(h, m, 1);
                tu_fill(&b, &s);
                idl_norm(&b, IDL_NORM_MAX, &bmax);
                for (int j = 0; j < m; j++)
                    for (int i = 0; i < h; i++)
                        bplus = fmax(bplus, IDL_AT(&b, i, j));
                idl_eq_opts od = opts_for(IDL_EQ_PICARD, 1e-14, 100000);
                idl_eq_opts os = t ? single_opts(1e-6, 100000, 0) : single_opts(0.0, 2000, 0);
                idl_eq_info id = solve(&d, &b, &xd, &od), is = solve(&d, &b, &xs, &os);
                CHECK(id.converged && (t ? is.converged : is.stop == IDL_EQ_STOP_MAX_ITER));
                CHECK(all_floats(&xs));
                idl_norm(&xs, IDL_NORM_MAX, &xmax);
                CHECK(is.scale == fmax(bplus, xmax));
                double err = single_map_error(h, kappa, is.scale, bmax);
                CHECK(fabs(naive_residual(&d, &b, &xs) - is.residual) * is.scale <= err);
                idl_max_abs_diff(&xs, &xd, &diff);
                double bound = (is.residual * is.scale + err) / (1.0 - kappa) +
                               id.residual * id.scale / (1.0 - kappa);
                CHECK(diff <= bound);
                free(d.data), free(b.data), free(xd.data), free(xs.data);
            }
}

/* The backward solve in single against dgesv: each column's l1 error is at
 * most h (r s + map error) / (1 - kappa) (the backward map contracts in l1). */
static void test_single_backward(void)
{
    unsigned s = 43;
    int h = 30, m = 7;
    double kappa = 0.9;
    for (int nonneg = 0; nonneg <= 1; nonneg++) {
        idl_mat d = random_d(h, kappa, nonneg, &s), z = tu_alloc(h, m, 0), g = tu_alloc(h, m, 0);
        idl_mat ref = tu_alloc(h, m, 0), v = tu_alloc(h, m, 0);
        tu_fill(&z, &s);
        tu_fill(&g, &s);
        dense_backward(&d, &z, &g, &ref);
        double gmax;
        idl_norm(&g, IDL_NORM_MAX, &gmax);
        idl_eq_opts o = single_opts(1e-6, 100000, 0);
        idl_eq_info info = backward_from_zero(&d, &z, &g, &v, &o);
        CHECK(info.converged && info.residual < 1e-6 && all_floats(&v));
        double bound = h * (info.residual * info.scale +
                            single_map_error(h, kappa, info.scale, gmax)) / (1.0 - kappa);
        for (int c = 0; c < m; c++) {
            double err = 0.0;
            for (int i = 0; i < h; i++)
                err += fabs(IDL_AT(&v, i, c) - IDL_AT(&ref, i, c));
            CHECK(err <= bound);
        }
        free(d.data), free(z.data), free(g.data), free(ref.data), free(v.data);
    }
}

/* G times 2^-150 lies below float's smallest number, yet single precision
 * solves it as G itself: the copies are scaled by a power of two (exact), so
 * V comes out as V(G) 2^-150 bit for bit, with the same steps and residual. */
static void test_single_scale_free(void)
{
    unsigned s = 47;
    int h = 20, m = 5;
    idl_mat d = random_d(h, 0.9, false, &s), z = tu_alloc(h, m, 0), g = tu_alloc(h, m, 0);
    idl_mat tiny = tu_alloc(h, m, 0), v = tu_alloc(h, m, 0), vt = tu_alloc(h, m, 0);
    tu_fill(&z, &s);
    tu_fill(&g, &s);
    idl_copy(&g, &tiny);
    idl_scale(0x1p-150, &tiny);
    idl_eq_opts o = single_opts(1e-5, 1000, 0);
    idl_eq_info info = backward_from_zero(&d, &z, &g, &v, &o);
    idl_eq_info info_t = backward_from_zero(&d, &z, &tiny, &vt, &o);
    CHECK(info.converged && info.iterations > 0);
    CHECK(info_t.iterations == info.iterations && info_t.residual == info.residual);
    CHECK(info_t.scale == info.scale * 0x1p-150);
    idl_scale(0x1p150, &vt);
    double diff;
    idl_max_abs_diff(&v, &vt, &diff);
    CHECK(diff == 0.0);
    free(d.data), free(z.data), free(g.data), free(tiny.data), free(v.data), free(vt.data);
}

/* Options single precision refuses, and a diverging run in float. */
static void test_single_errors(void)
{
    idl_mat d = tu_alloc(3, 3, 0), b = tu_alloc(3, 4, 0), x = tu_alloc(3, 4, 0);
    idl_eq_opts o = single_opts(1e-6, 10, 0);
    double *w = work_for(&o, 3, 4);
    idl_eq_info info;
    CHECK(idl_eq_work_size(&o, 3, 4) == (9 + 4 * 12 + 1) / 2);
    o.method = IDL_EQ_ANDERSON;
    CHECK(idl_eq_work_size(&o, 3, 4) == 0);
    CHECK(idl_equilibrium(&d, &b, &x, &o, w, &info) == IDL_EINVAL);
    o = single_opts(0.5 * IDL_EQ_SINGLE_MIN_TOL, 10, 0);
    CHECK(idl_eq_work_size(&o, 3, 4) == 0);
    CHECK(idl_picard(&d, &b, &x, &o, w, &info) == IDL_EINVAL);
    o.precision = (idl_eq_precision)7;
    CHECK(idl_picard(&d, &b, &x, &o, w, &info) == IDL_EINVAL);
    /* D = 2 I, b = 1: float overflows near 2^128, and the run says so */
    for (int i = 0; i < 3; i++)
        IDL_AT(&d, i, i) = 2.0;
    idl_fill(&b, 1.0);
    o = single_opts(1e-6, 5000, 0);
    CHECK(idl_picard(&d, &b, &x, &o, w, &info) == IDL_OK);
    CHECK(info.stop == IDL_EQ_STOP_NONFINITE && !info.converged && info.iterations < 200);
    free(d.data), free(b.data), free(x.data), free(w);
}

/* D = 0 (an MLP): from any start, X = (B)_+ and V = Phi G exactly after one
 * step, confirmed by the second (iterations 1, converged), in both precisions
 * (B, G and the start made of floats). */
static void test_zero_d(void)
{
    unsigned s = 37;
    int h = 7, m = 5;
    idl_mat d = tu_alloc(h, h, 0), b = tu_alloc(h, m, 0), x = tu_alloc(h, m, 1);
    idl_mat want = tu_alloc(h, m, 0), z = tu_alloc(h, m, 0), start = tu_alloc(h, m, 0);
    tu_fill(&b, &s);
    tu_fill(&z, &s);
    tu_fill(&start, &s);
    for (int j = 0; j < m; j++)
        for (int i = 0; i < h; i++) {
            IDL_AT(&b, i, j) = (double)(float)IDL_AT(&b, i, j);
            IDL_AT(&start, i, j) = (double)(float)IDL_AT(&start, i, j);
        }
    for (int backward = 0; backward < 2; backward++) {
        for (int j = 0; j < m; j++)
            for (int i = 0; i < h; i++) {
                double v = IDL_AT(&b, i, j);
                IDL_AT(&want, i, j) = (backward ? IDL_AT(&z, i, j) > 0.0 : v > 0.0) ? v : 0.0;
            }
        for (int single = 0; single < 2; single++) {
            idl_eq_opts o = single ? single_opts(1e-6, 100, 0) : opts_for(IDL_EQ_PICARD, 1e-12, 100);
            idl_copy(&start, &x);
            idl_eq_info info = solve_either(&d, backward ? &z : NULL, &b, &x, &o);
            CHECK(info.converged && info.iterations == 1);
            CHECK(idl_mat_equal(&x, &want));
        }
    }
    free(d.data), free(b.data), free(x.data), free(want.data), free(z.data), free(start.data);
}

/* The diagonal blocks of a D built from known blocks (on a padded ld): the
 * ranges end where they were placed, a NaN links like any nonzero, a zero
 * diagonal splits nothing it should not, and one entry across the ranges
 * joins every range it spans. */
static void test_diagonal_blocks(void)
{
    int h = 7, ends[7], reach[7];
    idl_mat d = tu_alloc(h, h, 3);
    idl_fill(&d, 0.0);
    IDL_AT(&d, 0, 1) = 0.5;  /* block {0, 1}: one off-diagonal entry */
    IDL_AT(&d, 2, 2) = -0.3; /* block {2} */
    IDL_AT(&d, 4, 6) = 0.1;  /* block {3..6}: 3 reached from 6, 6 from 4 */
    IDL_AT(&d, 6, 3) = NAN;
    int want[] = {2, 3, 7};
    int count = idl_diagonal_blocks(&d, ends, reach);
    CHECK(count == 3);
    for (int k = 0; k < 3 && k < count; k++)
        CHECK(ends[k] == want[k]);
    IDL_AT(&d, 5, 1) = 1e-300; /* a link from block {3..6} back to {0, 1} */
    CHECK(idl_diagonal_blocks(&d, ends, reach) == 1 && ends[0] == 7);
    idl_fill(&d, 0.0); /* D = 0: every unit alone */
    CHECK(idl_diagonal_blocks(&d, ends, reach) == h && ends[h - 1] == h && ends[0] == 1);
    idl_mat empty = idl_mat_wrap(NULL, 0, 0);
    CHECK(idl_diagonal_blocks(&empty, ends, reach) == 0);
    free(d.data);
}

int main(void)
{
    test_picard_vs_naive();
    test_families();
    test_warm_start();
    test_scalar();
    test_backward();
    test_backward_tiny_rhs();
    test_backward_steps();
    test_zero_d();
    test_zero_rhs();
    test_wellposed();
    test_errors_and_divergence();
    test_single_exact();
    test_single_accuracy();
    test_single_backward();
    test_single_scale_free();
    test_single_errors();
    test_diagonal_blocks();
    return tu_finish("test_equilibrium");
}
