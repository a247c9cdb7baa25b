#include "linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies src into a contiguous buffer of ld rows (ld >= src->rows), zeroing
 * the rows below src: LAPACK's drivers overwrite their inputs and dgelsd wants
 * B with max(m, k) rows. */
static double *packed_copy(const idl_mat *src, int ld, int cols)
{
    double *p = calloc((size_t)ld * (size_t)(cols > 0 ? cols : 1), sizeof(double));
    if (!p)
        return NULL;
    for (int j = 0; j < src->cols; j++)
        memcpy(p + (size_t)j * (size_t)ld, &IDL_AT(src, 0, j), (size_t)src->rows * sizeof(double));
    return p;
}

static idl_status lstsq_ridge(const idl_mat *a, const idl_mat *b, double ridge, idl_mat *x)
{
    int k = a->cols, q = b->cols;
    double *g = malloc((size_t)k * (size_t)k * sizeof(double));
    if (!g)
        return IDL_ENOMEM;
    /* G = A^T A (upper triangle) + ridge I: one dsyrk, half the flops of a dgemm. */
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, k, a->rows, 1.0, a->data, a->ld, 0.0, g,
                k);
    for (int i = 0; i < k; i++)
        g[(size_t)i + (size_t)i * (size_t)k] += ridge;
    /* The right-hand side A^T B goes straight into X, which dposv overwrites with the solution. */
    idl_status st = idl_gemm(true, false, 1.0, a, b, 0.0, x);
    if (st == IDL_OK) {
        lapack_int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', k, q, g, k, x->data, x->ld);
        if (info != 0)
            st = IDL_ELAPACK;
    }
    free(g);
    return st;
}

static idl_status lstsq_svd(const idl_mat *a, const idl_mat *b, idl_mat *x, int *rank)
{
    int m = a->rows, k = a->cols, q = b->cols;
    int ldb = m > k ? m : k;
    if (ldb < 1)
        ldb = 1;
    double *ac = packed_copy(a, m > 0 ? m : 1, k);
    double *bc = packed_copy(b, ldb, q);
    double *s = malloc((size_t)(m < k ? (m > 0 ? m : 1) : (k > 0 ? k : 1)) * sizeof(double));
    idl_status st = IDL_OK;
    if (!ac || !bc || !s) {
        st = IDL_ENOMEM;
    } else {
        lapack_int r = 0;
        lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, m, k, q, ac, m > 0 ? m : 1, bc, ldb,
                                         s, IDL_LSTSQ_RCOND, &r);
        if (info != 0) {
            st = IDL_ELAPACK;
        } else {
            idl_mat sol = {k, q, ldb, bc};
            st = idl_copy(&sol, x);
            if (rank)
                *rank = (int)r;
        }
    }
    free(ac);
    free(bc);
    free(s);
    return st;
}

idl_status idl_lstsq(const idl_mat *a, const idl_mat *b, double ridge, idl_mat *x, int *rank)
{
    if (b->rows != a->rows || x->rows != a->cols || x->cols != b->cols)
        return IDL_EDIM;
    if (!(ridge >= 0.0) || !isfinite(ridge))
        return IDL_EINVAL;
    if (!idl_all_finite(a) || !idl_all_finite(b))
        return IDL_ENONFINITE;
    if (rank)
        *rank = a->cols;
    if (idl_mat_numel(x) == 0)
        return IDL_OK;
    if (a->rows == 0) {
        /* No equations: the minimum-norm (and the ridge) solution is zero. */
        idl_fill(x, 0.0);
        if (rank)
            *rank = 0;
        return IDL_OK;
    }
    if (ridge > 0.0)
        return lstsq_ridge(a, b, ridge, x);
    return lstsq_svd(a, b, x, rank);
}

idl_status idl_solve(const idl_mat *a, const idl_mat *b, idl_mat *x)
{
    int n = a->rows, q = b->cols;
    if (a->cols != n || b->rows != n || x->rows != n || x->cols != q)
        return IDL_EDIM;
    if (!idl_all_finite(a) || !idl_all_finite(b))
        return IDL_ENONFINITE;
    if (idl_mat_numel(x) == 0)
        return IDL_OK;
    double *lu = packed_copy(a, n, n);
    lapack_int *piv = malloc((size_t)n * sizeof(lapack_int));
    idl_status st = IDL_OK;
    if (!lu || !piv) {
        st = IDL_ENOMEM;
    } else if ((st = idl_copy(b, x)) == IDL_OK) {
        lapack_int info = LAPACKE_dgesv(LAPACK_COL_MAJOR, n, q, lu, n, piv, x->data, x->ld);
        if (info != 0)
            st = IDL_ELAPACK;
    }
    free(lu);
    free(piv);
    return st;
}
