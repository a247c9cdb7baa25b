/*
 * project.h - Euclidean projections that keep the implicit model well-posed
 * (report ch. 2-3; README, "What the 2019 report gets wrong"): rows onto l1
 * balls (||D||_inf <= kappa), singular-value clipping (||D||_2 <= radius), the bi-convexity LMIs (2.4)
 * and (2.5) for a fixed lambda > 0, and the nonnegative orthant for X.
 *
 * Every projection works in place on a caller-owned matrix. A point already
 * in the set is left bit-for-bit unchanged; otherwise only the part outside
 * the set is subtracted, so projecting twice changes nothing (to rounding).
 * Workspaces are caller-owned, sized by the matching *_worksize function (in
 * doubles); nothing here allocates.
 * Indexing: 0-based, column-major with leading dimension (see mat.h).
 */
#ifndef IDL_PROJECT_H
#define IDL_PROJECT_H

#include "mat.h"

/* Each row of D onto the l1 ball of radius kappa >= 0: the row sums are
 * checked first and rows already inside are untouched; for a row outside, the
 * soft threshold comes from Michelot's iteration (vectorized passes over the
 * row, no sort; each drops the entries below the current threshold, so at
 * most n passes, a handful on a row near the ball), then the row is shrunk. work: the doubles that
 * idl_project_inf_work_size(rows, cols) gives (rows outside are gathered in
 * blocks of IDL_PROJECT_INF_BLOCK so that D is read in column order).
 * IDL_EINVAL for kappa < 0 or not finite, IDL_ENONFINITE for NaN/Inf in D
 * (D is then untouched). */
#define IDL_PROJECT_INF_BLOCK 8
size_t idl_project_inf_work_size(int rows, int cols);
idl_status idl_project_inf(idl_mat *d, double kappa, double *work);

/* D = U diag(s) V^T  ->  U diag(min(s, radius)) V^T, the Frobenius projection
 * onto {||D||_2 <= radius} (dgesdd), computed as D minus the clipped part.
 * IDL_EINVAL for radius < 0 or not finite, IDL_ENONFINITE for NaN/Inf in D,
 * IDL_ELAPACK when the SVD fails. */
idl_status idl_project_spectral_worksize(int rows, int cols, size_t *ndoubles);
idl_status idl_project_spectral(idl_mat *d, double radius, double *work);

/* D (h x h) onto the LMI (2.4) Lambda - (Lambda D + D^T Lambda) >= 0, or,
 * when a (p x h) is not NULL, onto (2.5) Lambda + A^T A - (...) >= 0, for
 * lambda > 0 (h x 1). With Dt = Lambda^(1/2) D Lambda^(-1/2) the set reads
 * sym(Dt) <= C, C = I/2 (2.4) or C = (I + Lambda^(-1/2) A^T A Lambda^(-1/2))/2
 * (2.5): the skew part of Dt is kept and the positive eigenvalues of
 * sym(Dt) - C are removed (one dsyevr for those eigenpairs only); then
 * D = Lambda^(-1/2) Dt Lambda^(1/2). This is the Frobenius projection of Dt,
 * i.e. the projection of D in the metric <P, Q> = sum_ij (lambda_i/lambda_j)
 * P_ij Q_ij (the Euclidean one when lambda is constant).
 * IDL_EINVAL when some lambda_i <= 0 or is not finite, IDL_EDIM, IDL_ENONFINITE,
 * IDL_ELAPACK. */
idl_status idl_project_lmi_worksize(int h, size_t *ndoubles);
idl_status idl_project_lmi(idl_mat *d, const idl_mat *lambda, const idl_mat *a, double *work);

/* X = max(X, 0). */
void idl_project_nonneg(idl_mat *x);

#endif
