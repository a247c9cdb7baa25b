/*
 * linalg.h - dense solves: least squares (plain or ridge) and square systems.
 *
 * Ownership: the caller owns every idl_mat (inputs are read, never written;
 * the output is written). Unlike the kernels of mat.h these functions
 * allocate LAPACK workspaces internally: they serve initializations and
 * baselines, once per fit, not inner loops.
 *
 * Indexing: 0-based, column-major with leading dimension (see mat.h).
 */
#ifndef IDL_LINALG_H
#define IDL_LINALG_H

#include "mat.h"

/* Relative cut-off for the singular values of A in the plain least squares:
 * directions with s_i <= IDL_LSTSQ_RCOND * s_max count as the null space. */
#define IDL_LSTSQ_RCOND 1e-12

/* X (k x q) = argmin ||A X - B||_F^2 + ridge ||X||_F^2 for A m x k, B m x q.
 * ridge > 0: the normal equations (A^T A + ridge I) X = A^T B by Cholesky
 *   (dsyrk, dgemm, dposv): one BLAS-3 pass over A, the fast path when m >> k.
 * ridge == 0: LAPACK dgelsd (SVD): the minimum-norm solution, valid for any m,
 *   k and rank (dead hidden units make A rank deficient); *rank (may be NULL)
 *   receives the effective rank, else it receives k.
 * Errors: IDL_EDIM (shapes), IDL_EINVAL (ridge < 0 or not finite),
 * IDL_ENONFINITE (NaN/Inf in A or B), IDL_ENOMEM, IDL_ELAPACK (the SVD did not
 * converge, or A^T A + ridge I is numerically not positive definite).
 * X is unspecified on failure; it may not share storage with A or B. */
idl_status idl_lstsq(const idl_mat *a, const idl_mat *b, double ridge, idl_mat *x, int *rank);

/* X = A^-1 B for a square A (n x n) and B n x q, by LU with partial pivoting
 * (dgesv). IDL_ELAPACK when A is exactly singular; IDL_EDIM, IDL_ENONFINITE,
 * IDL_ENOMEM as above. */
idl_status idl_solve(const idl_mat *a, const idl_mat *b, idl_mat *x);

#endif
