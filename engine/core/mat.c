#include "mat.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static bool same_shape(const idl_mat *a, const idl_mat *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

/* Loops run column by column so that strided views (ld > rows) cost nothing
 * extra and the inner loop stays contiguous. A matrix without rows has no
 * column to visit: a 0 x 10^9 matrix costs nothing (in a debug build the empty
 * loop took 18 s). */
#define FOR_COLUMNS(m, j) for (int j = 0, j##_end = (m)->rows > 0 ? (m)->cols : 0; j < j##_end; j++)

static void scale_or_zero(double beta, idl_mat *c)
{
    if (beta == 0.0)
        idl_fill(c, 0.0);
    else if (beta != 1.0)
        idl_scale(beta, c);
}

/* A GEMM's shape check and trivial cases: IDL_EDIM when op(A) op(B) does not
 * fit C; else *done when nothing is left to multiply (C empty, or k = 0 or
 * alpha = 0, where C = beta C is done here). */
static idl_status gemm_prelude(bool trans_a, bool trans_b, double alpha, const idl_mat *a,
                               const idl_mat *b, double beta, idl_mat *c, bool *done)
{
    int m = trans_a ? a->cols : a->rows;
    int k = trans_a ? a->rows : a->cols;
    int kb = trans_b ? b->cols : b->rows;
    int n = trans_b ? b->rows : b->cols;
    *done = true;
    if (k != kb || c->rows != m || c->cols != n)
        return IDL_EDIM;
    if (m == 0 || n == 0)
        return IDL_OK;
    if (k == 0 || alpha == 0.0) {
        scale_or_zero(beta, c);
        return IDL_OK;
    }
    *done = false;
    return IDL_OK;
}

idl_status idl_gemm(bool trans_a, bool trans_b, double alpha, const idl_mat *a,
                    const idl_mat *b, double beta, idl_mat *c)
{
    bool done;
    idl_status st = gemm_prelude(trans_a, trans_b, alpha, a, b, beta, c, &done);
    if (st != IDL_OK || done)
        return st;
    int m = c->rows, n = c->cols, k = trans_a ? a->rows : a->cols;
    if (n == 1 && !trans_b) {
        /* A matrix-vector product: dgemv is faster than a one-column dgemm. */
        if (beta == 0.0)
            idl_fill(c, 0.0);
        cblas_dgemv(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans, a->rows, a->cols,
                    alpha, a->data, a->ld, b->data, 1, beta, c->data, 1);
        return IDL_OK;
    }
    cblas_dgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a->data, a->ld, b->data,
                b->ld, beta, c->data, c->ld);
    return IDL_OK;
}

size_t idl_gemm_single_work_size(const idl_mat *a, const idl_mat *b, const idl_mat *c)
{
    size_t floats = idl_mat_numel(a) + idl_mat_numel(b) + idl_mat_numel(c);
    return (floats + 1) / 2;
}

/* The power of two near max|x| (1 when x is empty, all zero or not finite:
 * then there is nothing to scale, or the NaN/Inf goes through as it is). */
static double unit_of(const idl_mat *x)
{
    double r = 0.0;
    FOR_COLUMNS(x, j)
        for (int i = 0; i < x->rows; i++) {
            double v = fabs(IDL_AT(x, i, j));
            r = v > r ? v : r;
        }
    if (!(r > 0.0) || !isfinite(r))
        return 1.0;
    int e;
    frexp(r, &e);
    return ldexp(1.0, e);
}

/* out <- x / unit as floats, contiguous (ld = rows). */
static void floats_of(const idl_mat *x, double unit, float *out)
{
    double inv = 1.0 / unit; /* exact: unit is a power of two */
    FOR_COLUMNS(x, j)
        for (int i = 0; i < x->rows; i++)
            out[(size_t)i + (size_t)j * (size_t)x->rows] = (float)(IDL_AT(x, i, j) * inv);
}

idl_status idl_gemm_single(bool trans_a, bool trans_b, double alpha, const idl_mat *a,
                           const idl_mat *b, double beta, idl_mat *c, double *work)
{
    bool done;
    idl_status st = gemm_prelude(trans_a, trans_b, alpha, a, b, beta, c, &done);
    if (st != IDL_OK || done)
        return st;
    int m = c->rows, n = c->cols, k = trans_a ? a->rows : a->cols;
    float *fa = (float *)work, *fb = fa + idl_mat_numel(a), *fc = fb + idl_mat_numel(b);
    double ua = unit_of(a), ub = unit_of(b), s = alpha * ua * ub;
    floats_of(a, ua, fa);
    floats_of(b, ub, fb);
    cblas_sgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, fa, a->rows > 0 ? a->rows : 1,
                fb, b->rows > 0 ? b->rows : 1, 0.0f, fc, m);
    FOR_COLUMNS(c, j) {
        double *cj = &IDL_AT(c, 0, j);
        const float *pj = fc + (size_t)j * (size_t)m;
        if (beta == 0.0)
            for (int i = 0; i < m; i++)
                cj[i] = s * (double)pj[i];
        else
            for (int i = 0; i < m; i++)
                cj[i] = s * (double)pj[i] + beta * cj[i];
    }
    return IDL_OK;
}

idl_status idl_gemv(bool trans_a, double alpha, const idl_mat *a, const idl_mat *x,
                    double beta, idl_mat *y)
{
    if (x->cols != 1 || y->cols != 1)
        return IDL_EDIM;
    return idl_gemm(trans_a, false, alpha, a, x, beta, y);
}

idl_status idl_axpy(double alpha, const idl_mat *x, idl_mat *y)
{
    if (!same_shape(x, y))
        return IDL_EDIM;
    if (idl_mat_numel(x) == 0)
        return IDL_OK;
    if (idl_mat_contiguous(x) && idl_mat_contiguous(y)) {
        cblas_daxpy((int)idl_mat_numel(x), alpha, x->data, 1, y->data, 1);
        return IDL_OK;
    }
    FOR_COLUMNS(x, j)
        cblas_daxpy(x->rows, alpha, &IDL_AT(x, 0, j), 1, &IDL_AT(y, 0, j), 1);
    return IDL_OK;
}

idl_status idl_copy(const idl_mat *src, idl_mat *dst)
{
    if (!same_shape(src, dst))
        return IDL_EDIM;
    if (idl_mat_numel(src) == 0)
        return IDL_OK;
    if (idl_mat_contiguous(src) && idl_mat_contiguous(dst)) {
        memcpy(dst->data, src->data, idl_mat_numel(src) * sizeof(double));
        return IDL_OK;
    }
    FOR_COLUMNS(src, j)
        memcpy(&IDL_AT(dst, 0, j), &IDL_AT(src, 0, j), (size_t)src->rows * sizeof(double));
    return IDL_OK;
}

void idl_scale(double alpha, idl_mat *x)
{
    FOR_COLUMNS(x, j) {
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] *= alpha;
    }
}

void idl_fill(idl_mat *x, double v)
{
    FOR_COLUMNS(x, j) {
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] = v;
    }
}

void idl_add_scalar(idl_mat *x, double v)
{
    FOR_COLUMNS(x, j) {
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] += v;
    }
}

idl_status idl_relu(const idl_mat *src, idl_mat *dst)
{
    if (!same_shape(src, dst))
        return IDL_EDIM;
    FOR_COLUMNS(src, j) {
        const double *s = &IDL_AT(src, 0, j);
        double *d = &IDL_AT(dst, 0, j);
        for (int i = 0; i < src->rows; i++)
            d[i] = s[i] > 0.0 ? s[i] : 0.0;
    }
    return IDL_OK;
}

idl_status idl_relu_grad(const idl_mat *src, const idl_mat *mask, idl_mat *dst)
{
    if (!same_shape(src, mask) || !same_shape(src, dst))
        return IDL_EDIM;
    FOR_COLUMNS(src, j) {
        const double *s = &IDL_AT(src, 0, j), *x = &IDL_AT(mask, 0, j);
        double *d = &IDL_AT(dst, 0, j);
        /* s[i] read unconditionally: a select GCC vectorizes, where a load
         * under the condition stays a branch (a coin flip per entry) */
        for (int i = 0; i < src->rows; i++) {
            double v = s[i];
            d[i] = x[i] > 0.0 ? v : 0.0;
        }
    }
    return IDL_OK;
}

idl_status idl_hadamard(const idl_mat *a, const idl_mat *b, idl_mat *c)
{
    if (!same_shape(a, b) || !same_shape(a, c))
        return IDL_EDIM;
    FOR_COLUMNS(a, j) {
        const double *x = &IDL_AT(a, 0, j), *y = &IDL_AT(b, 0, j);
        double *z = &IDL_AT(c, 0, j);
        for (int i = 0; i < a->rows; i++)
            z[i] = x[i] * y[i];
    }
    return IDL_OK;
}

idl_status idl_transpose(const idl_mat *src, idl_mat *dst)
{
    if (dst->rows != src->cols || dst->cols != src->rows)
        return IDL_EDIM;
    /* Blocked so both the reads and the writes stay in cache. */
    enum { TILE = 32 };
    for (int j0 = 0; j0 < src->cols; j0 += TILE)
        for (int i0 = 0; i0 < src->rows; i0 += TILE) {
            int j1 = j0 + TILE < src->cols ? j0 + TILE : src->cols;
            int i1 = i0 + TILE < src->rows ? i0 + TILE : src->rows;
            for (int j = j0; j < j1; j++)
                for (int i = i0; i < i1; i++)
                    IDL_AT(dst, j, i) = IDL_AT(src, i, j);
        }
    return IDL_OK;
}

idl_status idl_add_col(idl_mat *x, double alpha, const idl_mat *v)
{
    if (v->rows != x->rows || v->cols != 1)
        return IDL_EDIM;
    FOR_COLUMNS(x, j) {
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] += alpha * v->data[i];
    }
    return IDL_OK;
}

idl_status idl_scale_rows(idl_mat *x, const idl_mat *v)
{
    if (v->rows != x->rows || v->cols != 1)
        return IDL_EDIM;
    FOR_COLUMNS(x, j) {
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] *= v->data[i];
    }
    return IDL_OK;
}

idl_status idl_scale_cols(idl_mat *x, const idl_mat *v)
{
    if (idl_mat_numel(v) != (size_t)x->cols || (v->rows != 1 && v->cols != 1))
        return IDL_EDIM;
    FOR_COLUMNS(x, j) {
        double a = v->rows == 1 ? IDL_AT(v, 0, j) : v->data[j];
        double *col = &IDL_AT(x, 0, j);
        for (int i = 0; i < x->rows; i++)
            col[i] *= a;
    }
    return IDL_OK;
}

idl_status idl_sum(const idl_mat *x, int dim, idl_mat *out)
{
    if (dim == 0) {
        if (out->rows != 1 || out->cols != 1)
            return IDL_EDIM;
        double s = 0.0;
        FOR_COLUMNS(x, j)
            for (int i = 0; i < x->rows; i++)
                s += IDL_AT(x, i, j);
        out->data[0] = s;
    } else if (dim == 1) {
        if (out->rows != 1 || out->cols != x->cols)
            return IDL_EDIM;
        FOR_COLUMNS(x, j) {
            double s = 0.0;
            for (int i = 0; i < x->rows; i++)
                s += IDL_AT(x, i, j);
            IDL_AT(out, 0, j) = s;
        }
    } else if (dim == 2) {
        if (out->rows != x->rows || out->cols != 1)
            return IDL_EDIM;
        for (int i = 0; i < x->rows; i++)
            out->data[i] = 0.0;
        FOR_COLUMNS(x, j)
            for (int i = 0; i < x->rows; i++)
                out->data[i] += IDL_AT(x, i, j);
    } else {
        return IDL_EINVAL;
    }
    return IDL_OK;
}

static double spectral_norm(const idl_mat *x, idl_status *st)
{
    int m = x->rows, n = x->cols, k = m < n ? m : n;
    double *copy = malloc(idl_mat_numel(x) * sizeof(double));
    double *s = malloc((size_t)k * sizeof(double));
    double result = 0.0;
    *st = IDL_OK;
    if (!copy || !s) {
        *st = IDL_ENOMEM;
    } else {
        idl_mat c = idl_mat_wrap(copy, m, n);
        idl_copy(x, &c);
        /* dgesdd destroys its input, hence the copy; no vectors are needed. */
        lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', m, n, copy, c.ld, s, NULL, 1,
                                         NULL, 1);
        if (info != 0)
            *st = IDL_ELAPACK;
        else
            result = s[0];
    }
    free(copy);
    free(s);
    return result;
}

/* Rows per block of max_row_l1: their running sums stay in registers/L1. */
#define ROW_SUM_BLOCK 256

/* max_i sum_j |x(i, j)| (NaN if any entry is NaN), block by block of rows,
 * each swept column by column: contiguous reads (a row-wise sweep reads with
 * stride ld, a cache miss per entry on a large D; it was an eighth of a
 * 1-step backward solve, whose well-posedness check computes this). */
static double max_row_l1(const idl_mat *x)
{
    double r = 0.0, s[ROW_SUM_BLOCK];
    for (int i0 = 0; i0 < x->rows; i0 += ROW_SUM_BLOCK) {
        int nb = x->rows - i0 < ROW_SUM_BLOCK ? x->rows - i0 : ROW_SUM_BLOCK;
        for (int t = 0; t < nb; t++)
            s[t] = 0.0;
        FOR_COLUMNS(x, j) {
            const double *col = &IDL_AT(x, i0, j);
            for (int t = 0; t < nb; t++)
                s[t] += fabs(col[t]);
        }
        for (int t = 0; t < nb; t++)
            if (s[t] > r || isnan(s[t]))
                r = s[t];
        if (isnan(r))
            return r;
    }
    return r;
}

idl_status idl_norm(const idl_mat *x, idl_norm_kind kind, double *out)
{
    *out = 0.0;
    if (idl_mat_numel(x) == 0)
        return IDL_OK;
    double r = 0.0;
    switch (kind) {
    case IDL_NORM_FRO: {
        /* dnrm2 scales internally, so huge entries do not overflow. */
        double ss = 0.0;
        FOR_COLUMNS(x, j) {
            double cn = cblas_dnrm2(x->rows, &IDL_AT(x, 0, j), 1);
            ss += cn * cn;
        }
        r = sqrt(ss);
        break;
    }
    case IDL_NORM_ONE:
        FOR_COLUMNS(x, j) {
            double s = cblas_dasum(x->rows, &IDL_AT(x, 0, j), 1);
            if (s > r || isnan(s))
                r = s;
        }
        break;
    case IDL_NORM_INF:
        r = max_row_l1(x);
        break;
    case IDL_NORM_MAX:
        FOR_COLUMNS(x, j)
            for (int i = 0; i < x->rows; i++) {
                double a = fabs(IDL_AT(x, i, j));
                if (a > r || isnan(a))
                    r = a;
            }
        break;
    case IDL_NORM_TWO: {
        if (!idl_all_finite(x)) {
            *out = NAN;
            return IDL_OK;
        }
        idl_status st;
        r = spectral_norm(x, &st);
        if (st != IDL_OK)
            return st;
        break;
    }
    default:
        return IDL_EINVAL;
    }
    *out = r;
    return IDL_OK;
}

/* Whether a column has an Inf or NaN: x - x is NaN exactly for those. By
 * hand without an early exit, for the reason the fused Picard pass is: an
 * isfinite test per entry with a return stays scalar (the bindings check
 * every matrix argument with this; it was a third of a 1-step backward solve). */
static bool column_has_nonfinite(const double *x, int n)
{
    bool bad = false;
    int i = 0;
#if defined(__SSE2__)
    __m128d acc = _mm_setzero_pd();
    for (; i + 2 <= n; i += 2) {
        __m128d v = _mm_loadu_pd(x + i), d = _mm_sub_pd(v, v);
        acc = _mm_or_pd(acc, _mm_cmpunord_pd(d, d));
    }
    bad = _mm_movemask_pd(acc) != 0;
#endif
    for (; i < n; i++)
        bad = bad || !isfinite(x[i]);
    return bad;
}

bool idl_all_finite(const idl_mat *x)
{
    FOR_COLUMNS(x, j)
        if (column_has_nonfinite(&IDL_AT(x, 0, j), x->rows))
            return false;
    return true;
}

bool idl_mat_equal(const idl_mat *a, const idl_mat *b)
{
    if (!same_shape(a, b))
        return false;
    FOR_COLUMNS(a, j)
        for (int i = 0; i < a->rows; i++)
            if (!(IDL_AT(a, i, j) == IDL_AT(b, i, j)))
                return false;
    return true;
}

idl_status idl_max_abs_diff(const idl_mat *a, const idl_mat *b, double *out)
{
    if (!same_shape(a, b))
        return IDL_EDIM;
    double r = 0.0;
    FOR_COLUMNS(a, j)
        for (int i = 0; i < a->rows; i++) {
            double d = fabs(IDL_AT(a, i, j) - IDL_AT(b, i, j));
            if (d > r || isnan(d))
                r = d;
        }
    *out = r;
    return IDL_OK;
}

idl_status idl_gather_cols(const idl_mat *src, const int *idx, int n, idl_mat *dst)
{
    if (dst->rows != src->rows || dst->cols != n)
        return IDL_EDIM;
    for (int k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= src->cols)
            return IDL_EINVAL;
    for (int k = 0; k < n; k++)
        memcpy(&IDL_AT(dst, 0, k), &IDL_AT(src, 0, idx[k]), (size_t)src->rows * sizeof(double));
    return IDL_OK;
}

idl_status idl_scatter_cols(const idl_mat *src, const int *idx, int n, idl_mat *dst)
{
    if (dst->rows != src->rows || src->cols != n)
        return IDL_EDIM;
    for (int k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= dst->cols)
            return IDL_EINVAL;
    for (int k = 0; k < n; k++)
        memcpy(&IDL_AT(dst, 0, idx[k]), &IDL_AT(src, 0, k), (size_t)src->rows * sizeof(double));
    return IDL_OK;
}
