/*
 * relaxed.h - the relaxed training problem of the IDL report (chapters 2-4):
 * the Fenchel divergence, the objective G(theta, X) = L + lambda^T F(X, Z),
 * its gradient blocks, valid Lipschitz constants and the dual update.
 *
 * Shapes: U n x m, X h x m, Y p x m (columns are samples), lambda h x 1,
 * theta = {A p x h, B p x n, c p x 1, D h x h, E h x n, f h x 1},
 * Z = D X + E U + f 1^T, R = A X + B U + c 1^T - Y.
 *
 * Ownership: the caller owns every idl_mat, inputs are only read, outputs and
 * workspaces are written; nothing here allocates. Outputs may not alias inputs.
 * Indexing: 0-based, column-major with leading dimension (see mat.h).
 * Errors: IDL_EDIM for disagreeing shapes, IDL_EINVAL for m = 0 (every mean
 * over samples needs a sample); outputs are unspecified on failure.
 */
#ifndef IDL_RELAXED_H
#define IDL_RELAXED_H

#include "mat.h"

/* The parameters of an implicit model, as views owned by the caller. */
typedef struct idl_theta {
    idl_mat A, B, c, D, E, f;
} idl_theta;

/* IDL_OK when theta, X (h x m), U (n x m), lambda (h x 1) and, unless NULL,
 * Y (p x m) agree in shape with h, n, m taken from X and U, p from A (or Y). */
idl_status idl_relaxed_check(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                             const idl_mat *y, const idl_mat *lambda);

/* F (h x 1) = mean over columns of 0.5 x.^2 + 0.5 (z)_+.^2 - x.*z (report 2.2),
 * X and Z h x m. F >= 0 wherever X >= 0. */
idl_status idl_fenchel(const idl_mat *x, const idl_mat *z, idl_mat *f_out);

/* The workspace of the objective and the gradients, carved from one block
 * of idl_relaxed_ws_size doubles by idl_relaxed_ws_wrap:
 *   rz    (p+h) x m        R = A X + B U + c 1^T - Y above Z = D X + E U + f 1^T
 *   u1    (n+1) x m        [U; 1^T]
 *   param (p+h) x (h+n+1)  the parameters stacked, [A B c; D E f]
 *   grad  (p+h) x (h+n+1)  their gradients, stacked the same way
 * Stacking lets one GEMM serve both blocks: X is read by one GEMM for R and Z
 * together instead of two, and the offsets ride in the GEMMs on [U; 1^T]
 * instead of costing passes over the h x m arrays. */
typedef struct idl_relaxed_ws {
    idl_mat rz, u1, param, grad;
} idl_relaxed_ws;

size_t idl_relaxed_ws_size(int h, int n, int p, int m);
idl_relaxed_ws idl_relaxed_ws_wrap(double *buf, int h, int n, int p, int m);

/* The forward pass alone: ws->rz = [R; Z] at (theta, X), with theta copied
 * into ws->param and [U; 1^T] into ws->u1. Two GEMMs; idl_relaxed_value and
 * idl_relaxed_grads then read it, so a trainer that keeps track of when
 * theta or X last changed runs the forward pass once per point. */
idl_status idl_relaxed_forward(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                               const idl_mat *y, idl_relaxed_ws *ws);

/* What idl_relaxed_value reads off a forward pass: G, L and the implicit
 * residual ||(Z)_+ - X||_F of the relaxed X. */
typedef struct idl_relaxed_values {
    double g, l, residual;
} idl_relaxed_values;

/* From ws->rz = [R; Z] of idl_relaxed_forward at this X (not modified):
 * out->g = L + lambda^T F, out->l = ||R||_F^2 / (2m), out->residual, and
 * f_out (h x 1) = F(X, Z). No GEMM. */
idl_status idl_relaxed_value(const idl_mat *x, const idl_mat *lambda, const idl_relaxed_ws *ws,
                             idl_relaxed_values *out, idl_mat *f_out);

/* From ws->rz = [R; Z] of idl_relaxed_forward at this X: the gradient blocks
 * as idl_gradients below (the last three of its GEMMs). ws->rz ends holding
 * [Omega; W]: a new forward pass is needed before the next value or grads. */
idl_status idl_relaxed_grads(const idl_mat *x, const idl_mat *lambda, idl_relaxed_ws *ws,
                             idl_theta *grad, idl_mat *gx);

/* *g = L + lambda^T F, *l = ||R||_F^2 / (2m), f_out (h x 1) = F(X, Z): the
 * forward pass and idl_relaxed_value. On return ws->rz holds R above Z. */
idl_status idl_objective(const idl_theta *th, const idl_mat *x, const idl_mat *u, const idl_mat *y,
                         const idl_mat *lambda, idl_relaxed_ws *ws, double *g, double *l,
                         idl_mat *f_out);

/* The gradients of G (report ch. 3): grad->A..f receive the theta blocks
 * (same shapes as theta), gx (h x m) the X block. Either output may be NULL
 * (gx NULL saves a GEMM, grad NULL two). With Omega = R/m and
 * W = (Lambda/m)((Z)_+ - X), five GEMMs in all:
 *   [R; Z]           = [A; D] X + [B c; E f] [U; 1^T]  (- Y on R)    2 GEMMs
 *   grad [A; D]      = [Omega; W] X^T                                 1 GEMM
 *   grad [B c; E f]  = [Omega; W] [U; 1^T]^T                          1 GEMM
 *   grad X           = [A; D]^T [Omega; W] + (Lambda/m)(X - Z)        1 GEMM
 * (the report's formula regrouped). ws->rz ends holding [Omega; W]. */
idl_status idl_gradients(const idl_theta *th, const idl_mat *x, const idl_mat *u, const idl_mat *y,
                         const idl_mat *lambda, idl_relaxed_ws *ws, idl_theta *grad, idl_mat *gx);

/* Valid Lipschitz constants of the three gradient blocks (README, "What the 2019 report gets
 * wrong"):
 *   theta1 = ||S||_2^2 / m with S = [X; U; 1^T]            (A, B, c)
 *   theta2 = lmax ||S||_2^2 / m                            (D, E, f)
 *   x      = (||A^T A + Lambda - Lambda D - D^T Lambda||_2 + lmax ||D||_2^2) / m
 * with lmax = max |lambda_i| (lambda_max when lambda >= 0; the absolute value
 * keeps the bound valid for any sign). ||S||_2^2 is the top eigenvalue of the
 * (h+n+1)^2 Gram matrix S S^T, built block by block from X and U (dsyrk, one
 * GEMM, two row sums) without copying S; no SVD of a wide matrix.
 * Only A and D of theta are read. work holds idl_lipschitz_worksize doubles. */
typedef struct idl_lipschitz_consts {
    double theta1, theta2, x;
} idl_lipschitz_consts;

idl_status idl_lipschitz_worksize(int h, int n, size_t *ndoubles);
idl_status idl_lipschitz(const idl_theta *th, const idl_mat *x, const idl_mat *u,
                         const idl_mat *lambda, double *work, idl_lipschitz_consts *out);

/* The two halves of idl_lipschitz (same work): out->theta1 and theta2 from
 * X, U and lambda (one dsyrk of X: the cost of half a GEMM), or out->x from
 * theta's A and D and lambda (two eigenvalue problems of order h, no pass
 * over the data; n only sizes the work, m is the number of samples). */
idl_status idl_lipschitz_theta(const idl_mat *x, const idl_mat *u, const idl_mat *lambda,
                               double *work, idl_lipschitz_consts *out);
idl_status idl_lipschitz_x(const idl_theta *th, const idl_mat *lambda, int n, int m, double *work,
                           idl_lipschitz_consts *out);

/* The X-block constant carried between exact computations. With
 * M = A^T A + Lambda - Lambda D - D^T Lambda, Weyl's inequality bounds the
 * norms at any theta by those at a reference (M_r, D_r) computed exactly:
 *   ||M||_2 <= mu + eM,  ||D||_2 <= delta + eD,  eM = ||M - M_r||_F,  eD = ||D - D_r||_F,
 * with mu = ||M_r||_2, delta = ||D_r||_2, and from below by mu - eM and
 * delta - eD. out->x = (mu + eM + lmax (delta + eD)^2) / m is then a valid
 * constant; when it exceeds slack (>= 1) times the same expression with the
 * lower bounds, or there is no reference yet (ref->mu < 0), the constant is
 * computed exactly as idl_lipschitz_x (same value) and becomes the new
 * reference (*exact = true). So every step is at most slack times shorter
 * than with the exact constant, and between exact computations a call costs
 * the h x h passes building M (a dsyrk with A's p rows) and the two
 * differences: no eigenvalue problem. ref->m holds M_r's upper triangle,
 * ref->d D_r (both h x h, caller-owned, written only with a new reference).
 * work as idl_lipschitz_x. */
typedef struct idl_lipschitz_x_ref {
    idl_mat m, d;
    double mu, delta;
} idl_lipschitz_x_ref;

idl_status idl_lipschitz_x_carried(const idl_theta *th, const idl_mat *lambda, int n, int m,
                                   double slack, double *work, idl_lipschitz_x_ref *ref,
                                   idl_lipschitz_consts *out, bool *exact);

/* The projected X step in one pass: X <- (X - step gX)_+ (X and gX h x m,
 * not aliased), *gx_norm = ||gX||_F (the distance bound of the step that
 * carries the theta constants). */
idl_status idl_relaxed_x_update(idl_mat *x, const idl_mat *gx, double step, double *gx_norm);

/* The readout: (A, B, c) = argmin ||A X + B U + c 1^T - Y||_F^2 / 2
 *   + ridge_rel/2 sum_k (||z_k - mean(z_k)||^2 + floor) ||[A B]_{:,k}||^2
 * over the features z_k (the rows of [X; U]; ridge_rel > 0; floor = 1e-12 of
 * their mean centred sum of squares). The data are centred first and the
 * intercept c is not penalized, and each feature's ridge follows its own
 * scale: offsets or units of U and Y do not change the predictions (to
 * rounding), and a dead unit gets zero weight instead of a singular system.
 * The normal equations of the centred data by Cholesky (dsyrk, one GEMM,
 * dposv); c = mean(Y) - [A B] mean([X; U]). work holds
 * idl_readout_worksize doubles. IDL_ENONFINITE for NaN/Inf in the data,
 * IDL_ELAPACK when the system is numerically not positive definite. */
size_t idl_readout_worksize(int h, int n, int p, int m);
idl_status idl_readout(const idl_mat *x, const idl_mat *u, const idl_mat *y, double ridge_rel,
                       double *work, idl_mat *a, idl_mat *b, idl_mat *c);

/* The readout with its ridge chosen by efficient leave-one-out: for each
 * ridge_rel in grid (ngrid > 0 values, each > 0), the mean over the m >= 2
 * samples of the squared leave-one-out residuals summed over outputs,
 * loo[g] = (1/m) sum_i ||e_i||^2 / (1 - H_ii)^2 with e_i the residual of
 * idl_readout's fit at that ridge and H its hat matrix (the intercept's
 * 1 1^T / m included); *best = the first g with the least loo[g], and (A, B,
 * c) = idl_readout's solution at grid[*best]. Exact, not an approximation:
 * each feature's ridge ridge_rel (K_kk + floor) is fixed by all m samples,
 * and with it refitting without sample i gives residual e_i / (1 - H_ii).
 * One eigendecomposition of the q x q Gram matrix of the features scaled to
 * unit ridge (q = h + n; dsyevr), then O(m q (p + 1)) per ridge: a grid of
 * 40 ridges costs about as much as one Gram matrix (m q^2). A ridge at which
 * some H_ii > 1 - 1e-10 (the fit interpolates a sample) gets loo = +Inf;
 * IDL_EINVAL when every one does, for m < 2 or a bad grid. loo (ngrid
 * doubles) may be NULL. work holds idl_readout_loo_worksize doubles. */
idl_status idl_readout_loo_worksize(int h, int n, int p, int m, size_t *ndoubles);
idl_status idl_readout_loo(const idl_mat *x, const idl_mat *u, const idl_mat *y, const double *grid,
                           int ngrid, double *work, idl_mat *a, idl_mat *b, idl_mat *c,
                           double *loo, int *best);

/* The readout's solve from the normal equations of the centred data, for
 * data seen a part at a time (a streamed file): k (q x q, q = h + n, upper
 * triangle read) the centred sums of cross products of the features [X; U],
 * rhs (q x p) those of the features with Y, zmean (q) and ymean (p) their
 * means. The same ridge, solve and intercept as idl_readout, which calls it;
 * k and rhs (finite) are overwritten. IDL_EDIM, IDL_EINVAL (ridge_rel), IDL_ELAPACK. */
idl_status idl_readout_normal(idl_mat *k, idl_mat *rhs, const double *zmean, const double *ymean,
                              double ridge_rel, idl_mat *a, idl_mat *b, idl_mat *c);

/* lambda += alpha F .* 1{F >= eps} (report 4.1), lambda and F h x 1. */
idl_status idl_dual_update(idl_mat *lambda, const idl_mat *f, double alpha, double eps);

#endif
