/*
 * mat.h - dense column-major matrices of doubles and the BLAS-backed kernels
 * that work on them.
 *
 * Ownership: an idl_mat never owns its bytes. Whoever creates the storage (a
 * Lua userdata, a malloc'd workspace, a caller's array) frees it; the struct is
 * a view (rows, cols, leading dimension, pointer) and is cheap to copy.
 *
 * Indexing: 0-based. Element (i, j) lives at data[i + j*ld], ld >= max(1, rows).
 * Kernels write into a destination given by the caller and allocate nothing,
 * unless their comment says otherwise. Unless stated, a destination may not
 * alias an input.
 */
#ifndef IDL_MAT_H
#define IDL_MAT_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

typedef struct idl_mat {
    int rows;
    int cols;
    int ld;
    double *data;
} idl_mat;

#define IDL_AT(m, i, j) ((m)->data[(size_t)(i) + (size_t)(j) * (size_t)(m)->ld])

/* The view of rows i..i+r-1 and columns j..j+c-1 of m (0-based, unchecked). */
static inline idl_mat idl_mat_block(const idl_mat *m, int i, int j, int r, int c)
{
    idl_mat b = {r, c, m->ld, m->data + (size_t)i + (size_t)j * (size_t)m->ld};
    return b;
}

/* A view of contiguous column-major storage (ld = max(rows, 1)). */
static inline idl_mat idl_mat_wrap(double *data, int rows, int cols)
{
    idl_mat m = {rows, cols, rows > 0 ? rows : 1, data};
    return m;
}

/* True when the columns are stored back to back (one BLAS call covers all). */
static inline bool idl_mat_contiguous(const idl_mat *m)
{
    return m->ld == m->rows || m->cols <= 1;
}

static inline size_t idl_mat_numel(const idl_mat *m)
{
    return (size_t)m->rows * (size_t)m->cols;
}

/* C = alpha op(A) op(B) + beta C, op = transpose when the flag is set.
 * With beta == 0, C is not read (NaN in C does not propagate). */
idl_status idl_gemm(bool trans_a, bool trans_b, double alpha, const idl_mat *a,
                    const idl_mat *b, double beta, idl_mat *c);

/* idl_gemm with op(A) op(B) in float (one sgemm): A and B are scaled by
 * powers of two that bring their largest entries near 1 (exact; no overflow
 * to Inf for entries beyond float's range) and rounded to float, the product
 * is accumulated in float and scaled back in double: each entry is within
 * about k 2^-24 sum_l |a_il b_lj| of the exact product (k the inner size).
 * work: idl_gemm_single_work_size(...) doubles (the float copies). */
size_t idl_gemm_single_work_size(const idl_mat *a, const idl_mat *b, const idl_mat *c);
idl_status idl_gemm_single(bool trans_a, bool trans_b, double alpha, const idl_mat *a,
                           const idl_mat *b, double beta, idl_mat *c, double *work);

/* y = alpha op(A) x + beta y for column vectors x, y. */
idl_status idl_gemv(bool trans_a, double alpha, const idl_mat *a, const idl_mat *x,
                    double beta, idl_mat *y);

/* Y += alpha X. */
idl_status idl_axpy(double alpha, const idl_mat *x, idl_mat *y);

/* dst = src. The two may not overlap. */
idl_status idl_copy(const idl_mat *src, idl_mat *dst);

/* X *= alpha. */
void idl_scale(double alpha, idl_mat *x);

/* Every element of X set to v. */
void idl_fill(idl_mat *x, double v);

/* X += v elementwise. */
void idl_add_scalar(idl_mat *x, double v);

/* dst = max(src, 0) elementwise; dst may be src. */
idl_status idl_relu(const idl_mat *src, idl_mat *dst);

/* dst = src .* 1[mask > 0] elementwise (the gradient through x = max(z, 0):
 * mask is x or z); dst may be src. */
idl_status idl_relu_grad(const idl_mat *src, const idl_mat *mask, idl_mat *dst);

/* C = A .* B elementwise; C may be A or B. */
idl_status idl_hadamard(const idl_mat *a, const idl_mat *b, idl_mat *c);

/* dst = src^T (dst is cols x rows). */
idl_status idl_transpose(const idl_mat *src, idl_mat *dst);

/* X += alpha v 1^T: adds the column vector v (rows x 1) to every column. */
idl_status idl_add_col(idl_mat *x, double alpha, const idl_mat *v);

/* X = diag(v) X: row i scaled by v[i] (v is rows x 1). */
idl_status idl_scale_rows(idl_mat *x, const idl_mat *v);

/* X = X diag(v): column j scaled by v[j] (v is cols x 1 or 1 x cols). */
idl_status idl_scale_cols(idl_mat *x, const idl_mat *v);

/* Sums: dim 0 gives the 1x1 total, dim 1 the 1 x cols row of column sums,
 * dim 2 the rows x 1 column of row sums (as in torch: dim 1 sums over rows). */
idl_status idl_sum(const idl_mat *x, int dim, idl_mat *out);

typedef enum idl_norm_kind {
    IDL_NORM_FRO,  /* sqrt of the sum of squares */
    IDL_NORM_ONE,  /* largest column sum of absolute values */
    IDL_NORM_INF,  /* largest row sum of absolute values */
    IDL_NORM_TWO,  /* largest singular value */
    IDL_NORM_MAX   /* largest absolute entry */
} idl_norm_kind;

/* *out = the requested norm; 0 for an empty matrix. The spectral norm
 * allocates a workspace (it is not meant for inner loops). */
idl_status idl_norm(const idl_mat *x, idl_norm_kind kind, double *out);

/* True when every element is finite. */
bool idl_all_finite(const idl_mat *x);

/* True when a and b have the same shape and equal elements (==: a NaN equals
 * nothing, an infinity itself). */
bool idl_mat_equal(const idl_mat *a, const idl_mat *b);

/* dst(:, k) = src(:, idx[k]) for k < n (dst has n columns, 0-based idx,
 * checked against src). */
idl_status idl_gather_cols(const idl_mat *src, const int *idx, int n, idl_mat *dst);

/* dst(:, idx[k]) = src(:, k) for k < n (the inverse of gather). */
idl_status idl_scatter_cols(const idl_mat *src, const int *idx, int n, idl_mat *dst);

/* Largest |a - b| over all elements (shapes must agree). */
idl_status idl_max_abs_diff(const idl_mat *a, const idl_mat *b, double *out);

#endif
