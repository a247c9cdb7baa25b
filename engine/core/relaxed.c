#include "relaxed.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>

static bool has_shape(const idl_mat *m, int rows, int cols)
{
    return m->rows == rows && m->cols == cols;
}

idl_status idl_relaxed_check(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                             const idl_mat *y, const idl_mat *lambda)
{
    int h = x->rows, m = x->cols, n = u->rows, p = y ? y->rows : th->A.rows;
    if (u->cols != m || (y && y->cols != m) || !has_shape(lambda, h, 1))
        return IDL_EDIM;
    if (!has_shape(&th->A, p, h) || !has_shape(&th->B, p, n) || !has_shape(&th->c, p, 1) ||
        !has_shape(&th->D, h, h) || !has_shape(&th->E, h, n) || !has_shape(&th->f, h, 1))
        return IDL_EDIM;
    return m > 0 ? IDL_OK : IDL_EINVAL;
}

idl_status idl_fenchel(const idl_mat *x, const idl_mat *z, idl_mat *f_out)
{
    int h = x->rows, m = x->cols;
    if (!has_shape(z, h, m) || !has_shape(f_out, h, 1))
        return IDL_EDIM;
    if (m == 0)
        return IDL_EINVAL;
    idl_fill(f_out, 0.0);
    /* Column by column so both inputs stream contiguously. */
    for (int j = 0; j < m; j++) {
        const double *xc = &IDL_AT(x, 0, j), *zc = &IDL_AT(z, 0, j);
        for (int i = 0; i < h; i++) {
            double zp = zc[i] > 0.0 ? zc[i] : 0.0;
            f_out->data[i] += 0.5 * (xc[i] * xc[i] + zp * zp) - xc[i] * zc[i];
        }
    }
    idl_scale(1.0 / m, f_out);
    return IDL_OK;
}

/* out = P X + Q U + v 1^T (two GEMMs and a broadcast): Z from (D, E, f),
 * or A X + B U + c 1^T before Y is subtracted. */
static void affine(const idl_mat *p, const idl_mat *q, const idl_mat *v, const idl_mat *x,
                   const idl_mat *u, idl_mat *out)
{
    idl_gemm(false, false, 1.0, p, x, 0.0, out);
    idl_gemm(false, false, 1.0, q, u, 1.0, out);
    idl_add_col(out, 1.0, v);
}

/* Fills ws->Z = D X + E U + f 1^T and ws->R = A X + B U + c 1^T - Y. */
static idl_status residuals(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                            const idl_mat *y, const idl_mat *lambda, idl_relaxed_ws *ws)
{
    idl_status st = idl_relaxed_check(th, x, u, y, lambda);
    if (st != IDL_OK)
        return st;
    if (!has_shape(&ws->Z, x->rows, x->cols) || !has_shape(&ws->R, y->rows, x->cols))
        return IDL_EDIM;
    affine(&th->D, &th->E, &th->f, x, u, &ws->Z);
    affine(&th->A, &th->B, &th->c, x, u, &ws->R);
    return idl_axpy(-1.0, y, &ws->R);
}

static double sum_squares(const idl_mat *r)
{
    double s = 0.0;
    for (int j = 0; j < r->cols; j++)
        for (int i = 0; i < r->rows; i++)
            s += IDL_AT(r, i, j) * IDL_AT(r, i, j);
    return s;
}

idl_status idl_objective(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                         const idl_mat *y, const idl_mat *lambda, idl_relaxed_ws *ws,
                         double *g, double *l, idl_mat *f_out)
{
    idl_status st = residuals(th, x, u, y, lambda, ws);
    if (st == IDL_OK)
        st = idl_fenchel(x, &ws->Z, f_out);
    if (st != IDL_OK)
        return st;
    *l = sum_squares(&ws->R) / (2.0 * x->cols);
    *g = *l + cblas_ddot(x->rows, lambda->data, 1, f_out->data, 1);
    return IDL_OK;
}

/* gx = (Lambda/m)(X - Z) while Z becomes W = (Lambda/m)((Z)_+ - X), in one
 * pass: both need Z, and W must be in place before the GEMMs that read it. */
static void split_fenchel_terms(const idl_mat *x, const idl_mat *lambda, idl_mat *z,
                                idl_mat *gx)
{
    double inv_m = 1.0 / x->cols;
    for (int j = 0; j < x->cols; j++) {
        const double *xc = &IDL_AT(x, 0, j);
        double *zc = &IDL_AT(z, 0, j), *gc = gx ? &IDL_AT(gx, 0, j) : NULL;
        for (int i = 0; i < x->rows; i++) {
            double w = lambda->data[i] * inv_m;
            if (gc)
                gc[i] = w * (xc[i] - zc[i]);
            zc[i] = w * ((zc[i] > 0.0 ? zc[i] : 0.0) - xc[i]);
        }
    }
}

/* grad P = M X^T, grad Q = M U^T, grad v = M 1 for one parameter block. */
static void block_grads(const idl_mat *mm, const idl_mat *x, const idl_mat *u, idl_mat *gp,
                        idl_mat *gq, idl_mat *gv)
{
    idl_gemm(false, true, 1.0, mm, x, 0.0, gp);
    idl_gemm(false, true, 1.0, mm, u, 0.0, gq);
    idl_sum(mm, 2, gv);
}

static bool grads_fit(const idl_theta *th, const idl_theta *g)
{
    return has_shape(&g->A, th->A.rows, th->A.cols) && has_shape(&g->B, th->B.rows, th->B.cols) &&
           has_shape(&g->c, th->c.rows, 1) && has_shape(&g->D, th->D.rows, th->D.cols) &&
           has_shape(&g->E, th->E.rows, th->E.cols) && has_shape(&g->f, th->f.rows, 1);
}

idl_status idl_gradients(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                         const idl_mat *y, const idl_mat *lambda, idl_relaxed_ws *ws,
                         idl_theta *grad, idl_mat *gx)
{
    idl_status st = residuals(th, x, u, y, lambda, ws);
    if (st != IDL_OK)
        return st;
    if ((grad && !grads_fit(th, grad)) || (gx && !has_shape(gx, x->rows, x->cols)))
        return IDL_EDIM;
    split_fenchel_terms(x, lambda, &ws->Z, gx);
    idl_scale(1.0 / x->cols, &ws->R);
    if (grad) {
        block_grads(&ws->R, x, u, &grad->A, &grad->B, &grad->c);
        block_grads(&ws->Z, x, u, &grad->D, &grad->E, &grad->f);
    }
    if (gx) {
        idl_gemm(true, false, 1.0, &th->A, &ws->R, 1.0, gx);
        idl_gemm(true, false, 1.0, &th->D, &ws->Z, 1.0, gx);
    }
    return IDL_OK;
}

/* ---- Lipschitz constants ---------------------------------------------- */

/* The eigenvalues of a symmetric matrix (upper triangle of a, destroyed) go
 * to w in ascending order. dsyevr with jobz = 'N': tridiagonal reduction and
 * dsterf, cheaper than any SVD. */
typedef struct eig_ws {
    double *w, *work;
    lapack_int *iwork, lwork, liwork;
} eig_ws;

static idl_status sym_eigvals(double *a, int n, const eig_ws *e)
{
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'U', n, a, n > 0 ? n : 1,
                                          0.0, 0.0, 0, 0, 0.0, &found, e->w, NULL, 1,
                                          e->iwork, e->work, e->lwork, e->iwork + 2 * n,
                                          e->liwork);
    return info == 0 ? IDL_OK : IDL_ELAPACK;
}

/* Optimal dsyevr workspace for order n (a query: the matrix is not read). */
static idl_status eig_query(int n, lapack_int *lwork, lapack_int *liwork)
{
    double wq, dummy = 0.0;
    lapack_int iq, found, isuppz[2];
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'U', n, &dummy,
                                          n > 0 ? n : 1, 0.0, 0.0, 0, 0, 0.0, &found, &dummy,
                                          NULL, 1, isuppz, &wq, -1, &iq, -1);
    if (info != 0)
        return IDL_ELAPACK;
    *lwork = (lapack_int)wq;
    *liwork = iq;
    return IDL_OK;
}

/* Doubles needed to hold k lapack_ints (they share the double workspace). */
static size_t ints_as_doubles(size_t k)
{
    return (k * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
}

/* Layout of the Lipschitz workspace: Gram matrix K (q x q), M (h x h), then
 * the eigenvalue workspace sized for order max(q, h) = q. */
static idl_status lipschitz_layout(int h, int n, double *work, double **k, double **mm,
                                   eig_ws *e, size_t *total)
{
    size_t q = (size_t)h + (size_t)n + 1;
    lapack_int lwork, liwork;
    idl_status st = eig_query((int)q, &lwork, &liwork);
    if (st != IDL_OK)
        return st;
    /* iwork also carries dsyevr's isuppz (2q ints) in front. */
    size_t nint = 2 * q + (size_t)liwork;
    *total = q * q + (size_t)h * h + q + (size_t)lwork + ints_as_doubles(nint);
    if (work) {
        *k = work;
        *mm = *k + q * q;
        e->w = *mm + (size_t)h * h;
        e->work = e->w + q;
        e->iwork = (lapack_int *)(e->work + lwork);
        e->lwork = lwork;
        e->liwork = liwork;
    }
    return IDL_OK;
}

idl_status idl_lipschitz_worksize(int h, int n, size_t *ndoubles)
{
    if (h < 0 || n < 0)
        return IDL_EINVAL;
    double *k, *mm;
    eig_ws e;
    return lipschitz_layout(h, n, NULL, &k, &mm, &e, ndoubles);
}

/* Upper triangle of K = S S^T, S = [X; U; 1^T], from the blocks of S. */
static void gram_stacked(const idl_mat *x, const idl_mat *u, idl_mat *k)
{
    int h = x->rows, n = u->rows, q = h + n + 1, m = x->cols;
    idl_mat kxx = idl_mat_block(k, 0, 0, h, h), kxu = idl_mat_block(k, 0, h, h, n);
    idl_mat kuu = idl_mat_block(k, h, h, n, n);
    idl_mat kx1 = idl_mat_block(k, 0, q - 1, h, 1), ku1 = idl_mat_block(k, h, q - 1, n, 1);
    if (h > 0)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, h, m, 1.0, x->data, x->ld, 0.0,
                    kxx.data, kxx.ld);
    if (n > 0)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, m, 1.0, u->data, u->ld, 0.0,
                    kuu.data, kuu.ld);
    idl_gemm(false, true, 1.0, x, u, 0.0, &kxu);
    idl_sum(x, 2, &kx1);
    idl_sum(u, 2, &ku1);
    IDL_AT(k, q - 1, q - 1) = m;
}

/* Upper triangle of M = A^T A + Lambda - Lambda D - D^T Lambda. */
static void x_hessian_bound(const idl_mat *a, const idl_mat *d, const idl_mat *lambda,
                            idl_mat *mm)
{
    int h = d->rows;
    if (a->rows > 0)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, h, a->rows, 1.0, a->data, a->ld, 0.0,
                    mm->data, mm->ld);
    else
        idl_fill(mm, 0.0);
    for (int j = 0; j < h; j++)
        for (int i = 0; i <= j; i++)
            IDL_AT(mm, i, j) += (i == j ? lambda->data[i] : 0.0) -
                                lambda->data[i] * IDL_AT(d, i, j) -
                                IDL_AT(d, j, i) * lambda->data[j];
}

static double max_abs(const idl_mat *v)
{
    double r = 0.0;
    for (int i = 0; i < v->rows; i++)
        r = fmax(r, fabs(v->data[i]));
    return r;
}

idl_status idl_lipschitz(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                         const idl_mat *lambda, double *work, idl_lipschitz_consts *out)
{
    int h = x->rows, n = u->rows, q = h + n + 1, m = x->cols;
    if (u->cols != m || !has_shape(lambda, h, 1) || !has_shape(&th->D, h, h) ||
        th->A.cols != h)
        return IDL_EDIM;
    if (m == 0)
        return IDL_EINVAL;
    double *kd = NULL, *md = NULL;
    eig_ws e;
    size_t total;
    idl_status st = lipschitz_layout(h, n, work, &kd, &md, &e, &total);
    if (st != IDL_OK)
        return st;
    idl_mat k = idl_mat_wrap(kd, q, q), mm = idl_mat_wrap(md, h, h);
    double lmax = max_abs(lambda);

    gram_stacked(x, u, &k);
    if ((st = sym_eigvals(k.data, q, &e)) != IDL_OK)
        return st;
    double s2 = e.w[q - 1];
    out->theta1 = s2 / m;
    out->theta2 = lmax * s2 / m;

    double m_norm = 0.0, d_norm2 = 0.0;
    if (h > 0) {
        x_hessian_bound(&th->A, &th->D, lambda, &mm);
        if ((st = sym_eigvals(mm.data, h, &e)) != IDL_OK)
            return st;
        m_norm = fmax(fabs(e.w[0]), fabs(e.w[h - 1]));
        /* ||D||_2^2 is the top eigenvalue of D^T D. */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, h, h, 1.0, th->D.data, th->D.ld, 0.0,
                    mm.data, mm.ld);
        if ((st = sym_eigvals(mm.data, h, &e)) != IDL_OK)
            return st;
        d_norm2 = fmax(e.w[h - 1], 0.0);
    }
    out->x = (m_norm + lmax * d_norm2) / m;
    return IDL_OK;
}

idl_status idl_dual_update(idl_mat *lambda, const idl_mat *f, double alpha, double eps)
{
    if (lambda->cols != 1 || !has_shape(f, lambda->rows, 1))
        return IDL_EDIM;
    for (int i = 0; i < lambda->rows; i++)
        if (f->data[i] >= eps)
            lambda->data[i] += alpha * f->data[i];
    return IDL_OK;
}
