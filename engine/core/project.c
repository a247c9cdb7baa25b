#include "project.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

/* Doubles needed to hold k lapack_ints (they share the double workspace). */
static size_t ints_as_doubles(size_t k)
{
    return (k * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
}

/* ---- rows onto l1 balls ------------------------------------------------ */

static int descending(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a < b) - (a > b);
}

/* The soft threshold theta with sum_k max(v_k - theta, 0) = kappa, for the
 * absolute values v (n entries, sorted in place, sum > kappa > 0). */
static double l1_threshold(double *v, int n, double kappa)
{
    qsort(v, (size_t)n, sizeof *v, descending);
    double cum = 0.0, theta = 0.0;
    /* The indices where v_k exceeds the running threshold form a prefix. */
    for (int k = 0; k < n; k++) {
        cum += v[k];
        double t = (cum - kappa) / (k + 1);
        /* At k = 0 the test only fails when kappa vanishes in v[0]'s rounding
         * (huge entries): the largest entry is always shrunk. */
        if (k > 0 && v[k] <= t)
            break;
        theta = t;
    }
    return theta;
}

idl_status idl_project_inf(idl_mat *d, double kappa, double *work)
{
    if (!(kappa >= 0.0) || !isfinite(kappa))
        return IDL_EINVAL;
    if (!idl_all_finite(d)) /* checked first: a failure leaves D untouched */
        return IDL_ENONFINITE;
    int c = d->cols;
    for (int i = 0; i < d->rows; i++) {
        double sum = 0.0;
        for (int j = 0; j < c; j++)
            sum += (work[j] = fabs(IDL_AT(d, i, j)));
        if (sum <= kappa)
            continue;
        double theta = kappa > 0.0 ? l1_threshold(work, c, kappa) : HUGE_VAL;
        for (int j = 0; j < c; j++) {
            double x = IDL_AT(d, i, j), shrunk = fabs(x) - theta;
            IDL_AT(d, i, j) = shrunk > 0.0 ? copysign(shrunk, x) : 0.0;
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
