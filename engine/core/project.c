#include "project.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Doubles needed to hold k lapack_ints (they share the double workspace). */
static size_t ints_as_doubles(size_t k)
{
    return (k * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
}

/* ---- rows onto l1 balls ------------------------------------------------ */

/* Sum and count of the entries of v (n of them) above t, branch-free (by
 * hand with SSE2: without -ffast-math GCC keeps a floating-point sum scalar). */
static double sum_above(const double *v, int n, double t, int *count)
{
    double s = 0.0;
    int c = 0, k = 0;
#if defined(__SSE2__)
    /* two accumulators each: the adds' latency, not the loads, bounds it */
    __m128d vt = _mm_set1_pd(t), one = _mm_set1_pd(1.0), vs = _mm_setzero_pd(), vc = vs, ws = vs,
            wc = vs;
    for (; k + 4 <= n; k += 4) {
        __m128d x = _mm_loadu_pd(v + k), above = _mm_cmpgt_pd(x, vt);
        __m128d y = _mm_loadu_pd(v + k + 2), yabove = _mm_cmpgt_pd(y, vt);
        vs = _mm_add_pd(vs, _mm_and_pd(x, above));
        vc = _mm_add_pd(vc, _mm_and_pd(one, above));
        ws = _mm_add_pd(ws, _mm_and_pd(y, yabove));
        wc = _mm_add_pd(wc, _mm_and_pd(one, yabove));
    }
    vs = _mm_add_pd(vs, ws);
    vc = _mm_add_pd(vc, wc);
    double ls[2], lc[2];
    _mm_storeu_pd(ls, vs);
    _mm_storeu_pd(lc, vc);
    s = ls[0] + ls[1];
    c = (int)(lc[0] + lc[1]);
#endif
    for (; k < n; k++) {
        s += v[k] > t ? v[k] : 0.0;
        c += v[k] > t;
    }
    *count = c;
    return s;
}

/* The soft threshold theta with sum_k max(v_k - theta, 0) = kappa for the
 * absolute values v (n >= 1 entries, sum > kappa > 0), by Michelot's
 * iteration (1986): theta = (sum of the entries above theta - kappa) / their
 * count, from theta = (sum - kappa) / n (all entries above). theta rises to
 * the solution and the set above it shrinks, so it ends, exactly, when a pass
 * keeps the count: each pass is one vectorized sweep without a swap, and rows
 * just outside the ball, as after an optimizer step, take a few passes.
 * (A randomized-pivot partition, Duchi et al. 2008, before it: 1.26 ms for a
 * 300 x 300 D after an Adam step, where this takes a fifth of that.) */
static double l1_threshold(const double *v, int n, double kappa)
{
    int count = n, c;
    double theta = (sum_above(v, n, -HUGE_VAL, &c) - kappa) / n;
    for (;;) {
        double t = (sum_above(v, n, theta, &c) - kappa) / c;
        if (c == 0) /* kappa lost in the rounding of the largest entries */
            return theta;
        if (c == count)
            return theta > t ? theta : t;
        count = c;
        theta = theta > t ? theta : t; /* rounding must not let it fall back */
    }
}

/* Rows per block when gathering rows: IDL_PROJECT_INF_BLOCK rows of one
 * column share a cache line, so a block reads D once, in column order, not
 * with stride ld (a cache miss per entry once D leaves the cache). */
#define ROW_BLOCK IDL_PROJECT_INF_BLOCK

/* theta[i] = sum_j |D(i, j)|, in one column-major sweep. */
static void row_l1_sums(const idl_mat *d, double *theta)
{
    for (int i = 0; i < d->rows; i++)
        theta[i] = 0.0;
    for (int j = 0; j < d->cols; j++) {
        const double *col = &IDL_AT(d, 0, j);
        for (int i = 0; i < d->rows; i++)
            theta[i] += fabs(col[i]);
    }
}

/* The thresholds of rows i0 .. i0 + nb - 1 whose theta (their l1 norm on
 * entry) exceeds kappa > 0: their |entries| gathered row-wise into rows (nb x
 * c), then l1_threshold on each. Rows inside get theta = 0 (left alone). */
static void block_thresholds(const idl_mat *d, int i0, int nb, double kappa, double *theta,
                             double *rows)
{
    int c = d->cols, out[ROW_BLOCK], nout = 0;
    for (int t = 0; t < nb; t++) {
        if (theta[i0 + t] > kappa)
            out[nout++] = i0 + t;
        else
            theta[i0 + t] = 0.0;
    }
    if (nout == 0)
        return;
    for (int j = 0; j < c; j++)
        for (int t = 0; t < nout; t++)
            rows[(size_t)t * (size_t)c + (size_t)j] = fabs(IDL_AT(d, out[t], j));
    for (int t = 0; t < nout; t++)
        theta[out[t]] = l1_threshold(rows + (size_t)t * (size_t)c, c, kappa);
}

size_t idl_project_inf_work_size(int rows, int cols)
{
    if (rows < 0 || cols < 0)
        return 0;
    return (size_t)rows + (size_t)ROW_BLOCK * (size_t)cols;
}

idl_status idl_project_inf(idl_mat *d, double kappa, double *work)
{
    if (!(kappa >= 0.0) || !isfinite(kappa))
        return IDL_EINVAL;
    int r = d->rows, c = d->cols;
    double *theta = work, *rows = work + r;
    /* Check first: during training most rows stay inside the ball, and only
     * the rows outside need a threshold. theta = 0 marks a row left alone. */
    row_l1_sums(d, theta);
    /* Finite row sums say that D is finite: one pass over D, not two. A NaN
     * or infinite sum needs the full test (a finite row's sum can overflow);
     * either way a failure leaves D untouched. */
    bool any = false, sums_finite = true;
    for (int i = 0; i < r; i++) {
        any = any || theta[i] > kappa;
        sums_finite = sums_finite && isfinite(theta[i]);
    }
    if (!sums_finite && !idl_all_finite(d))
        return IDL_ENONFINITE;
    if (!any)
        return IDL_OK;
    for (int i0 = 0; i0 < r; i0 += ROW_BLOCK) {
        int nb = r - i0 < ROW_BLOCK ? r - i0 : ROW_BLOCK;
        if (kappa > 0.0) {
            block_thresholds(d, i0, nb, kappa, theta, rows);
        } else {
            for (int t = 0; t < nb; t++)
                theta[i0 + t] = theta[i0 + t] > 0.0 ? HUGE_VAL : 0.0;
        }
    }
    /* Branch-free shrink; theta = 0 rewrites an entry with its own bits. A
     * select, not fmax, which without -ffinite-math-only is a libm call per
     * entry (the entries are finite: checked above). */
    for (int j = 0; j < c; j++) {
        double *col = &IDL_AT(d, 0, j);
        for (int i = 0; i < r; i++) {
            double a = fabs(col[i]) - theta[i];
            col[i] = copysign(a > 0.0 ? a : 0.0, col[i]);
        }
    }
    return IDL_OK;
}

/* ---- singular-value clipping ------------------------------------------- */

typedef struct svd_ws {
    double *a, *u, *vt, *s, *work;
    lapack_int *iwork, lwork;
} svd_ws;

static idl_status svd_layout(int r, int c, double *work, svd_ws *w, size_t *total)
{
    int k = r < c ? r : c;
    double wq = 0.0, dummy = 0.0;
    lapack_int iq = 0;
    lapack_int info =
        LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', r, c, &dummy, r > 0 ? r : 1, &dummy, &dummy,
                            r > 0 ? r : 1, &dummy, k > 0 ? k : 1, &wq, -1, &iq);
    if (info != 0)
        return IDL_ELAPACK;
    size_t rc = (size_t)r * c, rk = (size_t)r * k, kc = (size_t)k * c;
    lapack_int lwork = (lapack_int)wq;
    *total = rc + rk + kc + (size_t)k + (size_t)lwork + ints_as_doubles(8 * (size_t)k);
    if (work) {
        w->a = work;
        w->u = w->a + rc;
        w->vt = w->u + rk;
        w->s = w->vt + kc;
        w->work = w->s + k;
        w->iwork = (lapack_int *)(w->work + lwork);
        w->lwork = lwork;
    }
    return IDL_OK;
}

idl_status idl_project_spectral_worksize(int rows, int cols, size_t *ndoubles)
{
    if (rows < 0 || cols < 0)
        return IDL_EINVAL;
    svd_ws w = {0};
    return svd_layout(rows, cols, NULL, &w, ndoubles);
}

idl_status idl_project_spectral(idl_mat *d, double radius, double *work)
{
    if (!(radius >= 0.0) || !isfinite(radius))
        return IDL_EINVAL;
    if (!idl_all_finite(d))
        return IDL_ENONFINITE;
    int r = d->rows, c = d->cols, k = r < c ? r : c;
    if (k == 0)
        return IDL_OK;
    svd_ws w = {0};
    size_t total;
    idl_status st = svd_layout(r, c, work, &w, &total);
    if (st != IDL_OK)
        return st;
    idl_mat a = idl_mat_wrap(w.a, r, c);
    idl_copy(d, &a); /* dgesdd destroys its input */
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', r, c, w.a, a.ld, w.s, w.u, r, w.vt,
                                          k, w.work, w.lwork, w.iwork);
    if (info != 0)
        return IDL_ELAPACK;
    /* Only the singular directions above the radius change: subtract their
     * excess, U_j diag(s_j - radius) V_j^T, and leave the rest of D as it is. */
    int nout = 0;
    while (nout < k && w.s[nout] > radius)
        nout++;
    if (nout == 0)
        return IDL_OK;
    for (int j = 0; j < nout; j++)
        cblas_dscal(r, w.s[j] - radius, w.u + (size_t)j * r, 1);
    idl_mat uj = {r, nout, r, w.u}, vtj = {nout, c, k, w.vt};
    return idl_gemm(false, false, -1.0, &uj, &vtj, 1.0, d);
}

/* ---- bi-convexity LMIs -------------------------------------------------- */

typedef struct lmi_ws {
    double *sq, *s, *z, *w, *work;
    lapack_int *isuppz, *iwork, lwork, liwork;
} lmi_ws;

static idl_status lmi_layout(int h, double *work, lmi_ws *w, size_t *total)
{
    int ld = h > 0 ? h : 1;
    double wq = 0.0, dummy = 0.0;
    lapack_int iq = 0, found = 0, isuppz[2];
    lapack_int info =
        LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'V', 'U', h, &dummy, ld, 0.0, 1.0, 0, 0, 0.0,
                            &found, &dummy, &dummy, ld, isuppz, &wq, -1, &iq, -1);
    if (info != 0)
        return IDL_ELAPACK;
    size_t hh = (size_t)h * h;
    lapack_int lwork = (lapack_int)wq;
    *total = 2 * (size_t)h + 2 * hh + (size_t)lwork + ints_as_doubles(2 * (size_t)h + (size_t)iq);
    if (work) {
        w->sq = work;
        w->w = w->sq + h;
        w->s = w->w + h;
        w->z = w->s + hh;
        w->work = w->z + hh;
        w->isuppz = (lapack_int *)(w->work + lwork);
        w->iwork = w->isuppz + 2 * (size_t)h;
        w->lwork = lwork;
        w->liwork = iq;
    }
    return IDL_OK;
}

idl_status idl_project_lmi_worksize(int h, size_t *ndoubles)
{
    if (h < 0)
        return IDL_EINVAL;
    lmi_ws w = {0};
    return lmi_layout(h, NULL, &w, ndoubles);
}

/* Upper triangle of S = sym(Dt) - C in s (h x h), Dt = Lambda^(1/2) D
 * Lambda^(-1/2); returns ||S||_F over the upper triangle counted twice. */
static double lmi_excess(const idl_mat *d, const idl_mat *a, const double *sq, idl_mat *s)
{
    int h = d->rows;
    if (a && a->rows > 0)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, h, a->rows, 1.0, a->data, a->ld, 0.0,
                    s->data, s->ld);
    double nrm2 = 0.0;
    for (int j = 0; j < h; j++)
        for (int i = 0; i <= j; i++) {
            double c = ((i == j) + (a && a->rows > 0 ? IDL_AT(s, i, j) / (sq[i] * sq[j]) : 0.0));
            double dt = 0.5 * (sq[i] * IDL_AT(d, i, j) / sq[j] + sq[j] * IDL_AT(d, j, i) / sq[i]);
            double v = dt - 0.5 * c;
            IDL_AT(s, i, j) = v;
            nrm2 += (i == j ? 1.0 : 2.0) * v * v;
        }
    return sqrt(nrm2);
}

static bool lmi_args_ok(const idl_mat *d, const idl_mat *lambda, const idl_mat *a, idl_status *st)
{
    int h = d->rows;
    *st = IDL_EDIM;
    if (d->cols != h || lambda->rows != h || lambda->cols != 1 || (a && a->cols != h))
        return false;
    *st = IDL_EINVAL;
    for (int i = 0; i < h; i++)
        if (!(lambda->data[i] > 0.0) || !isfinite(lambda->data[i]))
            return false;
    *st = IDL_ENONFINITE;
    if (!idl_all_finite(d) || (a && !idl_all_finite(a)))
        return false;
    *st = IDL_OK;
    return true;
}

idl_status idl_project_lmi(idl_mat *d, const idl_mat *lambda, const idl_mat *a, double *work)
{
    idl_status st;
    if (!lmi_args_ok(d, lambda, a, &st))
        return st;
    int h = d->rows;
    if (h == 0)
        return IDL_OK;
    lmi_ws w = {0};
    size_t total;
    if ((st = lmi_layout(h, work, &w, &total)) != IDL_OK)
        return st;
    for (int i = 0; i < h; i++)
        w.sq[i] = sqrt(lambda->data[i]);
    idl_mat s = idl_mat_wrap(w.s, h, h);
    double nrm = lmi_excess(d, a, w.sq, &s);
    if (nrm == 0.0)
        return IDL_OK;
    /* Only the eigenpairs in (0, 2 ||S||_F] (all positive ones) are needed. */
    lapack_int found = 0;
    lapack_int info =
        LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'V', 'U', h, w.s, h, 0.0, 2.0 * nrm, 0, 0, 0.0,
                            &found, w.w, w.z, h, w.isuppz, w.work, w.lwork, w.iwork, w.liwork);
    if (info != 0)
        return IDL_ELAPACK;
    if (found == 0)
        return IDL_OK;
    /* P = Z diag(w) Z^T = T T^T with T = Z diag(sqrt w); Dt -= P, mapped back. */
    for (int k = 0; k < found; k++)
        cblas_dscal(h, sqrt(w.w[k]), w.z + (size_t)k * h, 1);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, h, found, 1.0, w.z, h, 0.0, w.s, h);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < h; i++) {
            double p = i <= j ? IDL_AT(&s, i, j) : IDL_AT(&s, j, i);
            IDL_AT(d, i, j) -= p * w.sq[j] / w.sq[i];
        }
    return IDL_OK;
}

void idl_project_nonneg(idl_mat *x)
{
    /* max(v, 0) as 0.5 (v + |v|), exact and branchless: a branch on the sign
     * mispredicts half the time on data of both signs (3x slower here). */
    for (int j = 0; j < x->cols; j++) {
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] = 0.5 * (col[i] + fabs(col[i]));
    }
}
