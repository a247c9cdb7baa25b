/*
 * equilibrium.h - the equilibrium X = (D X + B0)_+ of an implicit model for all
 * columns at once (Picard and Anderson iterations), the well-posedness test on
 * D, and the implicit backward pass (I - Phi D^T) V = Phi G.
 *
 * Ownership: the caller owns every matrix and every workspace. A solver reads
 * D and B0 (or Z and G), overwrites X (or V) and its workspace, and allocates
 * nothing, so it can run inside a training loop. Workspace sizes, in doubles,
 * come from idl_eq_work_size and idl_wellposed_work_size; the storage needs
 * only the alignment of a double, and its contents on entry do not matter.
 *
 * Indexing: 0-based column-major idl_mat (mat.h). Columns are samples and are
 * independent; each iteration applies D to all of them with one GEMM.
 *
 * The stopping rule (the same for the equilibrium and the backward pass):
 * iteration k evaluates the fixed-point map g at the current iterate X_k and
 * measures its relative residual
 *     r_k = max|X_k - g(X_k)| / s_k,   s_k = max(max|g(0)|, max|X_k|, DBL_MIN),
 * where g(0) is the right-hand side: (B0)_+ for the equilibrium, Phi G for the
 * backward pass. r_k is scale-free: multiplying B0 (or G) by any c > 0 leaves
 * the iterates' r_k unchanged, so a tiny right-hand side (a gradient averaged
 * over many samples) is solved as accurately as a large one. DBL_MIN is the
 * absolute floor where the scale vanishes (the right-hand side and the iterate
 * are exactly 0, so is the solution): there the rule is absolute and accepts
 * X = 0 at once. With ||D||_inf <= kappa < 1 the equilibrium's error is
 * bounded by max|X_k - X*| <= r_k s_k / (1 - kappa); the backward map
 * contracts in each column's l1 norm instead (||D^T||_1 = ||D||_inf).
 * The solver stops at the first X_k with r_k < tol, or at k = max_iter, and
 * hands back that X_k: info->residual is r_k of the matrix returned, exactly,
 * info->scale is s_k and info->iterations is k (a warm start at the solution
 * gives 0). A run spends k + 1 GEMMs. With opts->steps = k > 0 (Picard only)
 * the run instead stops after k steps unless the rule stopped it sooner, and
 * returns X_k = g(X_(k-1)) unmeasured (k GEMMs; info->residual is then
 * r_(k-1), the relative size of the last step): from V = 0 the backward pass
 * so gives the k-term Neumann sum of (I - Phi D^T)^-1 Phi G, the phantom
 * (Jacobian-free for k = 1: V = Phi G) gradient, which tends to the exact one
 * as k grows. Not converging is reported in info (converged = false, the
 * reason in info->stop) with status IDL_OK; a residual that turns NaN or
 * infinite stops the run early.
 *
 * Single precision (opts->precision = IDL_EQ_SINGLE, Picard only): D, the
 * right-hand side (B0, or G and the mask 1[Z > 0]) and the starting point are
 * converted to float once per call, into the workspace, the right-hand side
 * and the start divided by the power of two c with s_0 / c in [1/2, 1) (exact: it changes no
 * rounding, but keeps a tiny or huge right-hand side clear of float's
 * underflow and overflow, so the rule stays scale-free); the iterations run in
 * float (SGEMM and a float fused pass), and the float iterate times c is
 * written back into X exactly. The stopping rule and info are those above,
 * with g evaluated in float: r_k is the float map's residual at the X
 * returned, in the caller's units, and s_k takes max|g(0)| from the double
 * right-hand side. One evaluation of the float map is off by at most about
 * u ((h + 2) kappa s_k + 2 max|B0|) (u = 2^-24; typically sqrt(h), not h),
 * which puts a floor near u under r_k and moves the answer by up to that over
 * 1 - kappa; so tol must be 0 (run max_iter steps) or at least
 * IDL_EQ_SINGLE_MIN_TOL. For loose training solves, not for predictions.
 */
#ifndef IDL_EQUILIBRIUM_H
#define IDL_EQUILIBRIUM_H

#include <stdbool.h>
#include <stddef.h>

#include "mat.h"
#include "status.h"

typedef enum idl_eq_method {
    IDL_EQ_PICARD = 0, /* X <- g(X) */
    IDL_EQ_ANDERSON    /* type-II Anderson mixing per column, one GEMM per iteration */
} idl_eq_method;

typedef enum idl_eq_precision {
    IDL_EQ_DOUBLE = 0, /* every step in double */
    IDL_EQ_SINGLE      /* Picard steps in float (see above) */
} idl_eq_precision;

/* The least nonzero tol a single-precision solve accepts: about 8 float
 * epsilons, above the floor its residual stalls at. */
#define IDL_EQ_SINGLE_MIN_TOL 1e-6

typedef struct idl_eq_opts {
    idl_eq_method method;
    double tol;   /* on r_k above; >= 0 (0 runs exactly max_iter steps) */
    int max_iter; /* >= 0 */
    int memory;   /* Anderson history length, 1..IDL_EQ_MAX_MEMORY */
    int steps;    /* 0: solve to tol; k > 0: at most k Picard steps (see above) */
    idl_eq_precision precision; /* single: Picard, tol 0 or >= IDL_EQ_SINGLE_MIN_TOL */
} idl_eq_opts;

#define IDL_EQ_MAX_MEMORY 50

/* Why a run stopped. */
typedef enum idl_eq_stop {
    IDL_EQ_STOP_TOL = 0,   /* r_k < tol */
    IDL_EQ_STOP_ABSOLUTE,  /* r_k < tol with the scale at its floor DBL_MIN */
    IDL_EQ_STOP_MAX_ITER,  /* k = max_iter and r_k >= tol */
    IDL_EQ_STOP_STEPS,     /* opts->steps steps taken */
    IDL_EQ_STOP_NONFINITE  /* the residual became NaN or infinite */
} idl_eq_stop;

typedef struct idl_eq_info {
    int iterations;
    double residual; /* r_k, relative */
    double scale;    /* s_k: residual * scale is the absolute max|X_k - g(X_k)| */
    bool converged;  /* stop is IDL_EQ_STOP_TOL or IDL_EQ_STOP_ABSOLUTE */
    idl_eq_stop stop;
} idl_eq_info;

/* The name of a stop reason: "tol", "absolute", "max_iter", "steps", "nonfinite". */
const char *idl_eq_stop_name(idl_eq_stop stop);

/* tol 1e-10, max_iter 1000, memory 5, steps 0, Picard, double. */
idl_eq_opts idl_eq_defaults(void);

/* Doubles of workspace that a solve of h x m columns with these options needs
 * (0 when opts are invalid). Single precision keeps floats in it (h^2 + 4 h m
 * of them, two to a double): give it allocated storage (malloc), not an
 * array declared as double. */
size_t idl_eq_work_size(const idl_eq_opts *opts, int h, int m);

/* Solves X = (D X + B0)_+ by the method in opts. D is h x h, B0 and X are
 * h x m; X holds the starting point on entry and the iterate described above
 * on return. X may be a strided view; it may not alias D or B0. */
idl_status idl_equilibrium(const idl_mat *d, const idl_mat *b0, idl_mat *x,
                           const idl_eq_opts *opts, double *work, idl_eq_info *info);

/* The same with the method fixed (opts->method is ignored).
 * Anderson works column by column after the one GEMM: a column takes plain
 * Picard steps while they cut its residual by 4x or more, then type-II mixing
 * x <- g - dG gamma, gamma = argmin ||f - dF gamma||_2 over its last `memory`
 * differences (Jacobi-scaled normal equations with a 1e-10 ridge, Cholesky).
 * A mixed iterate that does not reduce ||f||_2 restarts the column's history
 * with a Picard step; a column below tol is left alone. Its workspace holds
 * (2 memory + 3) h m + (memory^2 + 5) m + h doubles. */
idl_status idl_picard(const idl_mat *d, const idl_mat *b0, idl_mat *x, const idl_eq_opts *opts,
                      double *work, idl_eq_info *info);
idl_status idl_anderson(const idl_mat *d, const idl_mat *b0, idl_mat *x,
                        const idl_eq_opts *opts, double *work, idl_eq_info *info);

/* Solves (I - Phi D^T) V = Phi G for every column, Phi = diag(1[Z > 0]) per
 * column, by the fixed point V = Phi .* (D^T V + G) (Picard or Anderson, as
 * opts says; same stopping rule and report, relative to max|Phi G|; with
 * opts->steps = k and V = 0 on entry, the k-step phantom gradient). Z, G and V are h x m; V holds
 * the starting point on entry. With X the equilibrium, Z = D X + B0 and
 * G = dL/dX, the gradients of L are dL/dD = V X^T and dL/dB0 = V. */
idl_status idl_implicit_backward(const idl_mat *d, const idl_mat *z, const idl_mat *g,
                                 idl_mat *v, const idl_eq_opts *opts, double *work,
                                 idl_eq_info *info);

/* Three sufficient tests for a unique equilibrium: ||D||_inf < 1, ||D||_2 < 1,
 * or rho(|D|) < 1 (rho(|D|) < 1 makes x -> (D x + b)_+ a contraction in a
 * weighted max norm, and rho(D) <= rho(|D|)). pf is a Collatz-Wielandt upper
 * bound on rho(|D|) from power iteration, so pf < 1 is a guarantee too. */
typedef struct idl_wellposedness {
    double norm_inf;
    double norm_2; /* NaN when not computed */
    double pf;     /* NaN when not computed */
    bool wellposed;
} idl_wellposedness;

/* Doubles of workspace that idl_wellposed needs for an h x h D. */
size_t idl_wellposed_work_size(int h);

/* Fills *out for the square matrix D. With all == false the cheap test runs
 * first and norm_2 and pf are computed only when ||D||_inf >= 1. The spectral
 * norm goes through idl_norm, which allocates (this is not a loop kernel). */
idl_status idl_wellposed(const idl_mat *d, bool all, double *work, idl_wellposedness *out);

/* The diagonal blocks of the square D: the finest partition of 0..h-1 into
 * consecutive ranges such that every nonzero entry of D (NaN counts as
 * nonzero) has its row and its column in the same range. Then the equilibrium
 * splits: each range's rows of X depend only on themselves, and solving each
 * block on its own gives the same X as solving all of D (the mean of implicit
 * models, D block-diagonal, costs the members' sum of h^2 per step, not the
 * square of their sum). Writes the end (exclusive, 0-based) of the k-th
 * range into ends[k] and returns the number of ranges; ends and reach (a
 * workspace) have room for h ints each. Reads D once, O(h^2); allocates
 * nothing. */
int idl_diagonal_blocks(const idl_mat *d, int *ends, int *reach);

#endif
