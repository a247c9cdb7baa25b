#include "relaxed.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>

/* (z)_+ without a branch (exact: z + |z| is 2z or 0). A branch on the sign of
 * z mispredicts half the time and made the passes below up to 9x slower. */
static inline double pos(double z)
{
    return 0.5 * (z + fabs(z));
}

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
            double zp = pos(zc[i]);
            f_out->data[i] += 0.5 * (xc[i] * xc[i] + zp * zp) - xc[i] * zc[i];
        }
    }
    idl_scale(1.0 / m, f_out);
    return IDL_OK;
}

size_t idl_relaxed_ws_size(int h, int n, int p, int m)
{
    size_t rows = (size_t)p + (size_t)h, k = (size_t)h + (size_t)n + 1;
    return rows * (size_t)m + ((size_t)n + 1) * (size_t)m + 2 * rows * k;
}

idl_relaxed_ws idl_relaxed_ws_wrap(double *buf, int h, int n, int p, int m)
{
    int rows = p + h, k = h + n + 1;
    idl_relaxed_ws ws;
    ws.rz = idl_mat_wrap(buf, rows, m);
    ws.u1 = idl_mat_wrap(ws.rz.data + (size_t)rows * m, n + 1, m);
    ws.param = idl_mat_wrap(ws.u1.data + ((size_t)n + 1) * m, rows, k);
    ws.grad = idl_mat_wrap(ws.param.data + (size_t)rows * k, rows, k);
    return ws;
}

static bool ws_fits(const idl_relaxed_ws *ws, int h, int n, int p, int m)
{
    return has_shape(&ws->rz, p + h, m) && has_shape(&ws->u1, n + 1, m) &&
           has_shape(&ws->param, p + h, h + n + 1) && has_shape(&ws->grad, p + h, h + n + 1);
}

/* The blocks of a stacked (p+h) x (h+n+1) matrix, in theta's order. */
static void unstack(const idl_mat *s, int p, int h, int n, idl_mat out[6])
{
    out[0] = idl_mat_block(s, 0, 0, p, h);
    out[1] = idl_mat_block(s, 0, h, p, n);
    out[2] = idl_mat_block(s, 0, h + n, p, 1);
    out[3] = idl_mat_block(s, p, 0, h, h);
    out[4] = idl_mat_block(s, p, h, h, n);
    out[5] = idl_mat_block(s, p, h + n, h, 1);
}

/* The shapes of theta, X, U, Y without lambda (forward needs none). */
static idl_status check_forward(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                                const idl_mat *y)
{
    int h = x->rows;
    idl_mat lam = {.data = NULL, .rows = h, .cols = 1, .ld = h > 0 ? h : 1};
    return idl_relaxed_check(th, x, u, y, &lam);
}

idl_status idl_relaxed_forward(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                               const idl_mat *y, idl_relaxed_ws *ws)
{
    idl_status st = check_forward(th, x, u, y);
    if (st != IDL_OK)
        return st;
    int h = x->rows, n = u->rows, p = y->rows, m = x->cols;
    if (!ws_fits(ws, h, n, p, m))
        return IDL_EDIM;
    idl_mat blk[6];
    const idl_mat *src[6] = {&th->A, &th->B, &th->c, &th->D, &th->E, &th->f};
    unstack(&ws->param, p, h, n, blk);
    for (int k = 0; k < 6; k++)
        idl_copy(src[k], &blk[k]);
    idl_mat u_rows = idl_mat_block(&ws->u1, 0, 0, n, m);
    idl_mat ones = idl_mat_block(&ws->u1, n, 0, 1, m);
    idl_copy(u, &u_rows);
    idl_fill(&ones, 1.0);
    idl_mat px = idl_mat_block(&ws->param, 0, 0, p + h, h);
    idl_mat pu = idl_mat_block(&ws->param, 0, h, p + h, n + 1);
    idl_gemm(false, false, 1.0, &px, x, 0.0, &ws->rz);
    idl_gemm(false, false, 1.0, &pu, &ws->u1, 1.0, &ws->rz);
    idl_mat r = idl_mat_block(&ws->rz, 0, 0, p, m);
    return idl_axpy(-1.0, y, &r);
}

/* The forward pass after the full check (lambda included). */
static idl_status forward(const idl_theta *th, const idl_mat *x, const idl_mat *u, const idl_mat *y,
                          const idl_mat *lambda, idl_relaxed_ws *ws)
{
    idl_status st = idl_relaxed_check(th, x, u, y, lambda);
    return st == IDL_OK ? idl_relaxed_forward(th, x, u, y, ws) : st;
}

static double sum_squares(const idl_mat *r)
{
    double s = 0.0;
    for (int j = 0; j < r->cols; j++)
        for (int i = 0; i < r->rows; i++)
            s += IDL_AT(r, i, j) * IDL_AT(r, i, j);
    return s;
}

/* The p rows of R in a forward workspace whose X has h rows. */
static bool ws_rows(const idl_relaxed_ws *ws, const idl_mat *x, const idl_mat *lambda, int *p)
{
    *p = ws->rz.rows - x->rows;
    return *p >= 0 && ws->rz.cols == x->cols && has_shape(lambda, x->rows, 1);
}

/* F (h x 1) = F(X, Z) and ||(Z)_+ - X||_F^2 in one pass over X and Z (both
 * are h x m: reading them once instead of twice halves the memory traffic). */
static void fenchel_residual(const idl_mat *x, const idl_mat *z, idl_mat *f_out, double *res2)
{
    int h = x->rows, m = x->cols;
    double s = 0.0;
    idl_fill(f_out, 0.0);
    for (int j = 0; j < m; j++) {
        const double *xc = &IDL_AT(x, 0, j), *zc = &IDL_AT(z, 0, j);
        for (int i = 0; i < h; i++) {
            double zp = pos(zc[i]), d = zp - xc[i];
            f_out->data[i] += 0.5 * (xc[i] * xc[i] + zp * zp) - xc[i] * zc[i];
            s += d * d;
        }
    }
    idl_scale(1.0 / m, f_out);
    *res2 = s;
}

idl_status idl_relaxed_value(const idl_mat *x, const idl_mat *lambda, const idl_relaxed_ws *ws,
                             idl_relaxed_values *out, idl_mat *f_out)
{
    int p, h = x->rows, m = x->cols;
    if (!ws_rows(ws, x, lambda, &p))
        return IDL_EDIM;
    if (!has_shape(f_out, h, 1))
        return IDL_EDIM;
    if (m == 0)
        return IDL_EINVAL;
    idl_mat r = idl_mat_block(&ws->rz, 0, 0, p, m), z = idl_mat_block(&ws->rz, p, 0, h, m);
    double res2;
    fenchel_residual(x, &z, f_out, &res2);
    out->l = sum_squares(&r) / (2.0 * m);
    out->g = out->l + cblas_ddot(h, lambda->data, 1, f_out->data, 1);
    out->residual = sqrt(res2);
    return IDL_OK;
}

idl_status idl_objective(const idl_theta *th, const idl_mat *x, const idl_mat *u, const idl_mat *y,
                         const idl_mat *lambda, idl_relaxed_ws *ws, double *g, double *l,
                         idl_mat *f_out)
{
    idl_status st = forward(th, x, u, y, lambda, ws);
    idl_relaxed_values v;
    if (st == IDL_OK)
        st = idl_relaxed_value(x, lambda, ws, &v, f_out);
    if (st != IDL_OK)
        return st;
    *g = v.g;
    *l = v.l;
    return IDL_OK;
}

/* gx = (Lambda/m)(X - Z) while Z becomes W = (Lambda/m)((Z)_+ - X): both
 * need Z, and W must be in place before the GEMMs that read it. Column by
 * column, so a column stays in L1 between the two loops. */
static void split_fenchel_terms(const idl_mat *x, const idl_mat *lambda, idl_mat *z, idl_mat *gx)
{
    double inv_m = 1.0 / x->cols;
    const double *lam = lambda->data;
    for (int j = 0; j < x->cols; j++) {
        const double *xc = &IDL_AT(x, 0, j);
        double *zc = &IDL_AT(z, 0, j);
        if (gx) {
            double *gc = &IDL_AT(gx, 0, j);
            for (int i = 0; i < x->rows; i++)
                gc[i] = lam[i] * inv_m * (xc[i] - zc[i]);
        }
        for (int i = 0; i < x->rows; i++)
            zc[i] = lam[i] * inv_m * (pos(zc[i]) - xc[i]);
    }
}

static bool grads_fit(const idl_theta *th, const idl_theta *g)
{
    const idl_mat *t[6] = {&th->A, &th->B, &th->c, &th->D, &th->E, &th->f};
    const idl_mat *o[6] = {&g->A, &g->B, &g->c, &g->D, &g->E, &g->f};
    for (int k = 0; k < 6; k++)
        if (!has_shape(o[k], t[k]->rows, t[k]->cols))
            return false;
    return true;
}

/* ws->grad = [Omega; W] [X; U; 1^T]^T in two GEMMs, then copied out. */
static void theta_grads(const idl_mat *x, idl_relaxed_ws *ws, int p, idl_theta *grad)
{
    int h = x->rows, n = ws->u1.rows - 1, rows = p + h;
    idl_mat gx = idl_mat_block(&ws->grad, 0, 0, rows, h);
    idl_mat gu = idl_mat_block(&ws->grad, 0, h, rows, n + 1);
    idl_gemm(false, true, 1.0, &ws->rz, x, 0.0, &gx);
    idl_gemm(false, true, 1.0, &ws->rz, &ws->u1, 0.0, &gu);
    idl_mat blk[6];
    idl_mat *dst[6] = {&grad->A, &grad->B, &grad->c, &grad->D, &grad->E, &grad->f};
    unstack(&ws->grad, p, h, n, blk);
    for (int k = 0; k < 6; k++)
        idl_copy(&blk[k], dst[k]);
}

/* grad and gx fit theta's blocks as stacked in ws->param, and X. */
static bool grad_shapes(const idl_relaxed_ws *ws, const idl_mat *x, int p, const idl_theta *grad,
                        const idl_mat *gx)
{
    int h = x->rows, n = ws->u1.rows - 1;
    if (gx && !has_shape(gx, h, x->cols))
        return false;
    if (!grad)
        return true;
    idl_mat b[6];
    unstack(&ws->param, p, h, n, b);
    idl_theta th = {b[0], b[1], b[2], b[3], b[4], b[5]};
    return grads_fit(&th, grad);
}

idl_status idl_relaxed_grads(const idl_mat *x, const idl_mat *lambda, idl_relaxed_ws *ws,
                             idl_theta *grad, idl_mat *gx)
{
    int p, h = x->rows, m = x->cols;
    if (!ws_rows(ws, x, lambda, &p) || !grad_shapes(ws, x, p, grad, gx))
        return IDL_EDIM;
    if (m == 0)
        return IDL_EINVAL;
    idl_mat r = idl_mat_block(&ws->rz, 0, 0, p, m), z = idl_mat_block(&ws->rz, p, 0, h, m);
    split_fenchel_terms(x, lambda, &z, gx);
    idl_scale(1.0 / m, &r);
    if (gx) {
        idl_mat px = idl_mat_block(&ws->param, 0, 0, p + h, h);
        idl_gemm(true, false, 1.0, &px, &ws->rz, 1.0, gx);
    }
    if (grad)
        theta_grads(x, ws, p, grad);
    return IDL_OK;
}

idl_status idl_gradients(const idl_theta *th, const idl_mat *x, const idl_mat *u, const idl_mat *y,
                         const idl_mat *lambda, idl_relaxed_ws *ws, idl_theta *grad, idl_mat *gx)
{
    idl_status st = forward(th, x, u, y, lambda, ws);
    return st == IDL_OK ? idl_relaxed_grads(x, lambda, ws, grad, gx) : st;
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
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'U', n, a, n > 0 ? n : 1, 0.0,
                                          0.0, 0, 0, 0.0, &found, e->w, NULL, 1, e->iwork, e->work,
                                          e->lwork, e->iwork + 2 * n, e->liwork);
    return info == 0 ? IDL_OK : IDL_ELAPACK;
}

/* Optimal dsyevr workspace for order n, eigenvalues only (jobz 'N') or with
 * the eigenvectors ('V') (a query: the matrix is not read). */
static idl_status eig_query(int n, char jobz, lapack_int *lwork, lapack_int *liwork)
{
    double wq, dummy = 0.0;
    lapack_int iq, found, isuppz[2];
    lapack_int info =
        LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, jobz, 'A', 'U', n, &dummy, n > 0 ? n : 1, 0.0, 0.0, 0,
                            0, 0.0, &found, &dummy, &dummy, n > 0 ? n : 1, isuppz, &wq, -1, &iq, -1);
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
static idl_status lipschitz_layout(int h, int n, double *work, double **k, double **mm, eig_ws *e,
                                   size_t *total)
{
    size_t q = (size_t)h + (size_t)n + 1;
    lapack_int lwork, liwork;
    idl_status st = eig_query((int)q, 'N', &lwork, &liwork);
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
    eig_ws e = {0};
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
static void x_hessian_bound(const idl_mat *a, const idl_mat *d, const idl_mat *lambda, idl_mat *mm)
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

/* The top eigenvalue of the Gram matrix of S = [X; U; 1^T] (||S||_2^2). */
static idl_status stacked_norm2(const idl_mat *x, const idl_mat *u, double *work, double *s2)
{
    int h = x->rows, n = u->rows, q = h + n + 1;
    double *kd = NULL, *md = NULL;
    eig_ws e = {0};
    size_t total;
    idl_status st = lipschitz_layout(h, n, work, &kd, &md, &e, &total);
    if (st != IDL_OK)
        return st;
    idl_mat k = idl_mat_wrap(kd, q, q);
    gram_stacked(x, u, &k);
    if ((st = sym_eigvals(k.data, q, &e)) != IDL_OK)
        return st;
    *s2 = e.w[q - 1];
    return IDL_OK;
}

idl_status idl_lipschitz_theta(const idl_mat *x, const idl_mat *u, const idl_mat *lambda,
                               double *work, idl_lipschitz_consts *out)
{
    int m = x->cols;
    if (u->cols != m || !has_shape(lambda, x->rows, 1))
        return IDL_EDIM;
    if (m == 0)
        return IDL_EINVAL;
    double s2;
    idl_status st = stacked_norm2(x, u, work, &s2);
    if (st != IDL_OK)
        return st;
    out->theta1 = s2 / m;
    out->theta2 = max_abs(lambda) * s2 / m;
    return IDL_OK;
}

/* The X block's part of the Lipschitz work: M (h x h) and the eigenvalue
 * workspace. */
static idl_status x_layout(int h, int n, double *work, idl_mat *mm, eig_ws *e)
{
    double *kd = NULL, *md = NULL;
    size_t total;
    idl_status st = lipschitz_layout(h, n, work, &kd, &md, e, &total);
    if (st == IDL_OK)
        *mm = idl_mat_wrap(md, h, h);
    return st;
}

/* ||M||_2 (M's upper triangle in mm, destroyed) and ||D||_2^2 (in mm after
 * it) by two symmetric eigenvalue problems of order h. */
static idl_status x_norms(const idl_mat *d, idl_mat *mm, eig_ws e, double *m_norm, double *d_norm2)
{
    int h = d->rows;
    idl_status st;
    if ((st = sym_eigvals(mm->data, h, &e)) != IDL_OK)
        return st;
    *m_norm = fmax(fabs(e.w[0]), fabs(e.w[h - 1]));
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, h, h, 1.0, d->data, d->ld, 0.0, mm->data,
                mm->ld);
    if ((st = sym_eigvals(mm->data, h, &e)) != IDL_OK)
        return st;
    *d_norm2 = fmax(e.w[h - 1], 0.0);
    return IDL_OK;
}

static idl_status check_x_block(const idl_theta *th, const idl_mat *lambda, int n, int m)
{
    int h = th->D.rows;
    if (th->D.cols != h || th->A.cols != h || !has_shape(lambda, h, 1) || n < 0)
        return IDL_EDIM;
    return m > 0 ? IDL_OK : IDL_EINVAL;
}

idl_status idl_lipschitz_x(const idl_theta *th, const idl_mat *lambda, int n, int m, double *work,
                           idl_lipschitz_consts *out)
{
    idl_status st = check_x_block(th, lambda, n, m);
    if (st != IDL_OK)
        return st;
    int h = th->D.rows;
    double m_norm = 0.0, d_norm2 = 0.0;
    if (h > 0) {
        idl_mat mm;
        eig_ws e = {0};
        if ((st = x_layout(h, n, work, &mm, &e)) != IDL_OK)
            return st;
        x_hessian_bound(&th->A, &th->D, lambda, &mm);
        if ((st = x_norms(&th->D, &mm, e, &m_norm, &d_norm2)) != IDL_OK)
            return st;
    }
    out->x = (m_norm + max_abs(lambda) * d_norm2) / m;
    return IDL_OK;
}

/* ||A - B||_F of symmetric matrices given by their upper triangles. */
static double sym_diff_fro(const idl_mat *a, const idl_mat *b)
{
    double s = 0.0;
    for (int j = 0; j < a->cols; j++) {
        for (int i = 0; i < j; i++) {
            double d = IDL_AT(a, i, j) - IDL_AT(b, i, j);
            s += 2.0 * d * d;
        }
        double d = IDL_AT(a, j, j) - IDL_AT(b, j, j);
        s += d * d;
    }
    return sqrt(s);
}

static double diff_fro(const idl_mat *a, const idl_mat *b)
{
    double s = 0.0;
    for (int j = 0; j < a->cols; j++)
        for (int i = 0; i < a->rows; i++) {
            double d = IDL_AT(a, i, j) - IDL_AT(b, i, j);
            s += d * d;
        }
    return sqrt(s);
}

/* The bound of relaxed.h from the reference, when it is within slack of the
 * matching lower bound (else false: an exact computation is due). */
static bool carried_bound(const idl_mat *mm, const idl_mat *d, double lmax, double slack,
                          const idl_lipschitz_x_ref *ref, double *bound)
{
    if (!(ref->mu >= 0.0))
        return false;
    double em = sym_diff_fro(mm, &ref->m), ed = diff_fro(d, &ref->d);
    double d_hi = ref->delta + ed, d_lo = fmax(ref->delta - ed, 0.0);
    double hi = ref->mu + em + lmax * d_hi * d_hi;
    double lo = fmax(ref->mu - em, 0.0) + lmax * d_lo * d_lo;
    *bound = hi;
    return hi <= slack * lo;
}

/* dst's upper triangle = src's (the lower one is left alone). */
static void copy_upper(const idl_mat *src, idl_mat *dst)
{
    for (int j = 0; j < src->cols; j++)
        for (int i = 0; i <= j; i++)
            IDL_AT(dst, i, j) = IDL_AT(src, i, j);
}

idl_status idl_lipschitz_x_carried(const idl_theta *th, const idl_mat *lambda, int n, int m,
                                   double slack, double *work, idl_lipschitz_x_ref *ref,
                                   idl_lipschitz_consts *out, bool *exact)
{
    idl_status st = check_x_block(th, lambda, n, m);
    if (st != IDL_OK)
        return st;
    int h = th->D.rows;
    if (!has_shape(&ref->m, h, h) || !has_shape(&ref->d, h, h))
        return IDL_EDIM;
    if (!(slack >= 1.0) || !isfinite(slack))
        return IDL_EINVAL;
    *exact = false;
    out->x = 0.0;
    if (h == 0)
        return IDL_OK;
    idl_mat mm;
    eig_ws e = {0};
    if ((st = x_layout(h, n, work, &mm, &e)) != IDL_OK)
        return st;
    double lmax = max_abs(lambda), bound, m_norm, d_norm2;
    x_hessian_bound(&th->A, &th->D, lambda, &mm);
    if (carried_bound(&mm, &th->D, lmax, slack, ref, &bound)) {
        out->x = bound / m;
        return IDL_OK;
    }
    copy_upper(&mm, &ref->m);
    idl_copy(&th->D, &ref->d);
    ref->mu = -1.0; /* no reference until its norms are known */
    if ((st = x_norms(&th->D, &mm, e, &m_norm, &d_norm2)) != IDL_OK)
        return st;
    ref->mu = m_norm;
    ref->delta = sqrt(d_norm2);
    out->x = (m_norm + lmax * d_norm2) / m;
    *exact = true;
    return IDL_OK;
}

idl_status idl_relaxed_x_update(idl_mat *x, const idl_mat *gx, double step, double *gx_norm)
{
    if (!has_shape(gx, x->rows, x->cols))
        return IDL_EDIM;
    if (!isfinite(step))
        return IDL_EINVAL;
    double s = 0.0;
    for (int j = 0; j < x->cols; j++) {
        double *xc = &IDL_AT(x, 0, j);
        const double *gc = &IDL_AT(gx, 0, j);
        for (int i = 0; i < x->rows; i++) {
            s += gc[i] * gc[i];
            xc[i] = pos(xc[i] - step * gc[i]);
        }
    }
    *gx_norm = sqrt(s);
    return IDL_OK;
}

idl_status idl_lipschitz(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                         const idl_mat *lambda, double *work, idl_lipschitz_consts *out)
{
    int h = x->rows;
    if (!has_shape(&th->D, h, h) || th->A.cols != h)
        return IDL_EDIM;
    idl_status st = idl_lipschitz_theta(x, u, lambda, work, out);
    return st == IDL_OK ? idl_lipschitz_x(th, lambda, u->rows, x->cols, work, out) : st;
}

/* ---- The readout (A, B, c) by ridge least squares ---------------------- */

size_t idl_readout_worksize(int h, int n, int p, int m)
{
    size_t q = (size_t)h + (size_t)n, r = (size_t)p;
    return q * q + q * r + (q + r) * (size_t)m + q + r;
}

/* dst = src - mean 1^T, mean the rows' means by two passes (the second
 * corrects the first's rounding: with an offset of 1.7e9 a plain mean is off
 * by ~1e-5 of the spread, which the intercept would then carry). */
static void center_rows(const idl_mat *src, idl_mat *dst, double *mean)
{
    int m = src->cols;
    for (int i = 0; i < src->rows; i++) {
        double t = 0.0;
        for (int j = 0; j < m; j++)
            t += IDL_AT(src, i, j);
        double mu = t / m, r = 0.0;
        for (int j = 0; j < m; j++)
            r += IDL_AT(src, i, j) - mu;
        mean[i] = mu + r / m;
        for (int j = 0; j < m; j++)
            IDL_AT(dst, i, j) = IDL_AT(src, i, j) - mean[i];
    }
}

/* The shapes and values both readouts accept. */
static idl_status readout_check(const idl_mat *x, const idl_mat *u, const idl_mat *y,
                                const idl_mat *a, const idl_mat *b, const idl_mat *c)
{
    int h = x->rows, n = u->rows, p = y->rows, m = x->cols;
    if (u->cols != m || y->cols != m || !has_shape(a, p, h) || !has_shape(b, p, n) ||
        !has_shape(c, p, 1))
        return IDL_EDIM;
    if (m == 0)
        return IDL_EINVAL;
    if (!idl_all_finite(x) || !idl_all_finite(u) || !idl_all_finite(y))
        return IDL_ENONFINITE;
    return IDL_OK;
}

/* zc = [X; U] and yc = Y centred (their means to zmean, ymean) and the upper
 * triangle of K = zc zc^T (q x q). */
static void centred_gram(const idl_mat *x, const idl_mat *u, const idl_mat *y, idl_mat *zc,
                         idl_mat *yc, double *zmean, double *ymean, idl_mat *k)
{
    int h = x->rows, n = u->rows, m = x->cols, q = h + n;
    idl_mat xc = idl_mat_block(zc, 0, 0, h, m), uc = idl_mat_block(zc, h, 0, n, m);
    center_rows(x, &xc, zmean);
    center_rows(u, &uc, zmean + h);
    center_rows(y, yc, ymean);
    if (q > 0)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, q, m, 1.0, zc->data, zc->ld, 0.0,
                    k->data, k->ld);
}

/* The floor under each feature's centred sum of squares (the diagonal of
 * K): 1e-12 of their mean, so that a unit that is constant on the data gets
 * zero weight, not a singular system. */
static double gram_floor(const idl_mat *k)
{
    int q = k->rows;
    double trace = 0.0;
    for (int i = 0; i < q; i++)
        trace += IDL_AT(k, i, i);
    return fmax(1e-12 * trace / (q > 0 ? q : 1), 1e-300);
}

/* Each feature's ridge, relative to its own centred sum of squares:
 * ridge_rel (K_kk + floor), so that a feature's scale does not change its fit. */
static void add_column_ridge(idl_mat *k, double ridge_rel)
{
    double floor = gram_floor(k);
    for (int i = 0; i < k->rows; i++)
        IDL_AT(k, i, i) += ridge_rel * (IDL_AT(k, i, i) + floor);
}

/* A, B from w (q x p, the rows of [A B]^T) and the unpenalized intercept
 * c = mean(Y) - [A B] mean([X; U]). */
static void write_readout(const idl_mat *w, const double *zmean, const double *ymean, idl_mat *a,
                          idl_mat *b, idl_mat *c)
{
    int h = a->cols, n = b->cols, q = h + n;
    for (int i = 0; i < c->rows; i++) {
        double ci = ymean[i];
        for (int j = 0; j < q; j++)
            ci -= IDL_AT(w, j, i) * zmean[j];
        for (int j = 0; j < h; j++)
            IDL_AT(a, i, j) = IDL_AT(w, j, i);
        for (int j = 0; j < n; j++)
            IDL_AT(b, i, j) = IDL_AT(w, h + j, i);
        c->data[i] = ci;
    }
}

idl_status idl_readout(const idl_mat *x, const idl_mat *u, const idl_mat *y, double ridge_rel,
                       double *work, idl_mat *a, idl_mat *b, idl_mat *c)
{
    int h = x->rows, n = u->rows, p = y->rows, m = x->cols, q = h + n;
    idl_status st = readout_check(x, u, y, a, b, c);
    if (st != IDL_OK)
        return st;
    if (!(ridge_rel > 0.0) || !isfinite(ridge_rel))
        return IDL_EINVAL;
    idl_mat k = idl_mat_wrap(work, q, q), rhs = idl_mat_wrap(work + (size_t)q * q, q, p);
    double *next = work + (size_t)q * q + (size_t)q * p;
    idl_mat zc = idl_mat_wrap(next, q, m), yc = idl_mat_wrap(next + (size_t)q * m, p, m);
    double *zmean = next + (size_t)(q + p) * m, *ymean = zmean + q;
    centred_gram(x, u, y, &zc, &yc, zmean, ymean, &k);
    idl_gemm(false, true, 1.0, &zc, &yc, 0.0, &rhs);
    return idl_readout_normal(&k, &rhs, zmean, ymean, ridge_rel, a, b, c);
}

idl_status idl_readout_normal(idl_mat *k, idl_mat *rhs, const double *zmean, const double *ymean,
                              double ridge_rel, idl_mat *a, idl_mat *b, idl_mat *c)
{
    int h = a->cols, n = b->cols, p = a->rows, q = h + n;
    if (!has_shape(k, q, q) || !has_shape(rhs, q, p) || !has_shape(b, p, n) || !has_shape(c, p, 1))
        return IDL_EDIM;
    if (!(ridge_rel > 0.0) || !isfinite(ridge_rel))
        return IDL_EINVAL;
    add_column_ridge(k, ridge_rel);
    if (q > 0) {
        lapack_int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', q, p, k->data, k->ld, rhs->data, rhs->ld);
        if (info != 0)
            return IDL_ELAPACK;
    }
    write_readout(rhs, zmean, ymean, a, b, c);
    return IDL_OK;
}

/* ---- The readout's ridge by efficient leave-one-out -------------------- */

/* The LOO readout's workspace: the scaled Gram matrix (destroyed by the
 * eigensolver), its eigenvectors V and eigenvalues ev, zc then W^T = V^T Zs
 * (q x m each), yc and the fitted values (p x m), P = W^T yc^T and a scaled
 * copy (q x p each), the means, the feature scales, 1/(ev + ridge), and
 * dsyevr's workspace. */
typedef struct loo_ws {
    idl_mat k, v, zc, wt, yc, fit, pm, pd;
    double *zmean, *ymean, *scale, *d;
    eig_ws e;
} loo_ws;

static idl_status loo_layout(int h, int n, int p, int m, double *work, loo_ws *w, size_t *total)
{
    size_t q = (size_t)h + (size_t)n, r = (size_t)p;
    lapack_int lwork, liwork;
    idl_status st = eig_query((int)q, 'V', &lwork, &liwork);
    if (st != IDL_OK)
        return st;
    size_t nint = 2 * q + (size_t)liwork;
    *total = 2 * q * q + 2 * q * (size_t)m + 2 * r * (size_t)m + 2 * q * r + 4 * q + r +
             (size_t)lwork + ints_as_doubles(nint);
    if (!work)
        return IDL_OK;
    double *at = work;
    w->k = idl_mat_wrap(at, (int)q, (int)q), at += q * q;
    w->v = idl_mat_wrap(at, (int)q, (int)q), at += q * q;
    w->zc = idl_mat_wrap(at, (int)q, m), at += q * (size_t)m;
    w->wt = idl_mat_wrap(at, (int)q, m), at += q * (size_t)m;
    w->yc = idl_mat_wrap(at, p, m), at += r * (size_t)m;
    w->fit = idl_mat_wrap(at, p, m), at += r * (size_t)m;
    w->pm = idl_mat_wrap(at, (int)q, p), at += q * r;
    w->pd = idl_mat_wrap(at, (int)q, p), at += q * r;
    w->zmean = at, at += q;
    w->ymean = at, at += r;
    w->scale = at, at += q;
    w->d = at, at += q;
    w->e.w = at, at += q;
    w->e.work = at, at += lwork;
    w->e.iwork = (lapack_int *)at;
    w->e.lwork = lwork;
    w->e.liwork = liwork;
    return IDL_OK;
}

idl_status idl_readout_loo_worksize(int h, int n, int p, int m, size_t *ndoubles)
{
    if (h < 0 || n < 0 || p < 0 || m < 0)
        return IDL_EINVAL;
    return loo_layout(h, n, p, m, NULL, NULL, ndoubles);
}

/* Scales each feature to a unit ridge: Zs = S^{-1} zc and Ks = S^{-1} K
 * S^{-1} with S = diag(sqrt(K_kk + floor)), so that ridge_rel (K_kk + floor)
 * on w is ridge_rel on S w; then Ks = V diag(ev) V^T, W^T = V^T Zs and
 * P = W^T yc^T. */
static idl_status loo_factor(loo_ws *w)
{
    int q = w->k.rows;
    double floor = gram_floor(&w->k);
    for (int i = 0; i < q; i++)
        w->scale[i] = sqrt(IDL_AT(&w->k, i, i) + floor);
    for (int j = 0; j < q; j++)
        for (int i = 0; i <= j; i++)
            IDL_AT(&w->k, i, j) /= w->scale[i] * w->scale[j];
    for (int j = 0; j < w->zc.cols; j++)
        for (int i = 0; i < q; i++)
            IDL_AT(&w->zc, i, j) /= w->scale[i];
    if (q > 0) {
        lapack_int found = 0;
        lapack_int info = LAPACKE_dsyevr_work(
            LAPACK_COL_MAJOR, 'V', 'A', 'U', q, w->k.data, w->k.ld, 0.0, 0.0, 0, 0, 0.0, &found,
            w->e.w, w->v.data, w->v.ld, w->e.iwork, w->e.work, w->e.lwork, w->e.iwork + 2 * q,
            w->e.liwork);
        if (info != 0)
            return IDL_ELAPACK;
    }
    for (int i = 0; i < q; i++)
        w->e.w[i] = fmax(w->e.w[i], 0.0);
    idl_gemm(true, false, 1.0, &w->v, &w->zc, 0.0, &w->wt);
    idl_gemm(false, true, 1.0, &w->wt, &w->yc, 0.0, &w->pm);
    return IDL_OK;
}

/* pd = diag(1 / (ev + ridge)) P (also leaving 1 / (ev + ridge) in d). */
static void loo_shrink(loo_ws *w, double ridge)
{
    for (int i = 0; i < w->pm.rows; i++)
        w->d[i] = 1.0 / (w->e.w[i] + ridge);
    for (int j = 0; j < w->pm.cols; j++)
        for (int i = 0; i < w->pm.rows; i++)
            IDL_AT(&w->pd, i, j) = w->d[i] * IDL_AT(&w->pm, i, j);
}

/* The mean over samples of the squared leave-one-out residuals (summed over
 * outputs) at one ridge: e_i / (1 - H_ii) with the hat matrix H = 1 1^T / m
 * + W diag(1 / (ev + ridge)) W^T of the centred ridge fit (exact for a
 * quadratic penalty). Infinite when some 1 - H_ii <= 1e-10: the fit
 * interpolates that sample, and its LOO residual is not computable. */
static double loo_error(loo_ws *w, double ridge)
{
    int q = w->wt.rows, m = w->wt.cols, p = w->yc.rows;
    loo_shrink(w, ridge);
    idl_gemm(true, false, 1.0, &w->pd, &w->wt, 0.0, &w->fit);
    double total = 0.0;
    for (int i = 0; i < m; i++) {
        const double *col = w->wt.data + (size_t)i * (size_t)w->wt.ld;
        double hii = 1.0 / m;
        for (int j = 0; j < q; j++)
            hii += col[j] * col[j] * w->d[j];
        double denom = 1.0 - hii;
        if (!(denom > 1e-10))
            return INFINITY;
        for (int k = 0; k < p; k++) {
            double e = (IDL_AT(&w->yc, k, i) - IDL_AT(&w->fit, k, i)) / denom;
            total += e * e;
        }
    }
    return total / m;
}

idl_status idl_readout_loo(const idl_mat *x, const idl_mat *u, const idl_mat *y, const double *grid,
                           int ngrid, double *work, idl_mat *a, idl_mat *b, idl_mat *c,
                           double *loo, int *best)
{
    int h = x->rows, n = u->rows, p = y->rows, m = x->cols;
    idl_status st = readout_check(x, u, y, a, b, c);
    if (st != IDL_OK)
        return st;
    if (m < 2 || ngrid < 1)
        return IDL_EINVAL;
    for (int g = 0; g < ngrid; g++)
        if (!(grid[g] > 0.0) || !isfinite(grid[g]))
            return IDL_EINVAL;
    loo_ws w;
    size_t total;
    if ((st = loo_layout(h, n, p, m, work, &w, &total)) != IDL_OK)
        return st;
    centred_gram(x, u, y, &w.zc, &w.yc, w.zmean, w.ymean, &w.k);
    if ((st = loo_factor(&w)) != IDL_OK)
        return st;
    int chosen = -1;
    double least = INFINITY;
    for (int g = 0; g < ngrid; g++) {
        double e = loo_error(&w, grid[g]);
        if (loo)
            loo[g] = e;
        if (e < least)
            least = e, chosen = g;
    }
    if (chosen < 0)
        return IDL_EINVAL;
    /* the coefficients at the chosen ridge: w = S^{-1} V diag(1/(ev + ridge)) P */
    loo_shrink(&w, grid[chosen]);
    idl_mat coef = w.pm; /* P is read for the last time by loo_shrink */
    idl_gemm(false, false, 1.0, &w.v, &w.pd, 0.0, &coef);
    for (int j = 0; j < coef.cols; j++)
        for (int i = 0; i < coef.rows; i++)
            IDL_AT(&coef, i, j) /= w.scale[i];
    write_readout(&coef, w.zmean, w.ymean, a, b, c);
    *best = chosen;
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
