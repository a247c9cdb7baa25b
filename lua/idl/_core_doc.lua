--- The functions of `idl` written in C (the module `idl.core`, which `require "idl"` copies):
-- matrices, kernels, generators, files, losses, projections, the relaxed objective and the
-- equilibrium solvers.
--
-- This file is documentation only: it is the one place where the C functions are documented,
-- read by `idl.help` at run time and by LDoc (config.ld) for the HTML docs. Each entry is an
-- LDoc comment naming its function with `@function`; a function registered by a binding in
-- engine/bind needs its entry here (tests/lua/docs_spec.lua fails without it). Loading the file
-- does nothing.
--
-- Matrices are column-major doubles living inside Lua userdata, so the collector sees their
-- bytes; a new matrix of 1 MB or more also advances the collector by its size, so that the dead
-- results of operator-style code (`C = A * B` in a loop) are freed before they pile up. The
-- `idl` executable runs Lua's incremental collector, where this works best.
-- @module idl

--- Matrices: constructors and comparisons.
-- @section constructors

--- idl.zeros(rows, cols) -> a rows x cols matrix of zeros.
-- @function zeros

--- idl.ones(rows, cols) -> a rows x cols matrix of ones.
-- @function ones

--- idl.full(rows, cols, v) -> a rows x cols matrix with every entry v.
-- @function full

--- idl.eye(n [, cols]) -> the n x n (or n x cols) identity.
-- @function eye

--- idl.from_table{{a11, a12, ...}, {a21, ...}, ...} -> matrix (rows as written).
-- A flat table {x1, x2, ...} gives a column vector.
-- @function from_table

--- idl.rand(rows, cols, rng [, lo, hi]) -> uniform draws on [lo, hi) (default [0, 1)).
-- @function rand

--- idl.randn(rows, cols, rng [, mean, sd]) -> normal draws (default standard normal).
-- @function randn

--- idl.hcat(a, b, ...) -> [a b ...] (same number of rows); also m:hcat(b, ...).
-- @function hcat

--- idl.vcat(a, b, ...) -> [a; b; ...] (same number of columns); also m:vcat(b, ...).
-- @function vcat

--- idl.equal(a, b [, tol]) -> true when shapes agree and |a - b| <= tol everywhere (tol 0).
-- @function equal

--- idl.is_matrix(x) -> true when x is an idl matrix.
-- @function is_matrix

--- Kernels: they write into the destination given first, allocate nothing and return it (for
-- trainers' inner loops).
-- @section kernels

--- idl.gemm(C, A, B [, alpha=1, beta=0, trans_a=false, trans_b=false, precision="double"]) -> C:
-- C = alpha op(A) op(B) + beta C in place (one dgemm; precision "single":
-- one sgemm on float copies of A and B, each scaled by a power of two near
-- its largest entry, the product scaled back and added in double: about
-- twice as fast, each entry within ~k 2^-24 sum_l |a_il b_lj|).
-- @function gemm

--- idl.axpy(Y, alpha, X) -> Y: Y += alpha X in place.
-- @function axpy

--- idl.copy(dst, src) -> dst: copies src's entries into dst (same shape).
-- @function copy

--- idl.scale(X, alpha) -> X: X *= alpha in place.
-- @function scale

--- idl.fill(X, v) -> X: every entry set to v.
-- @function fill

--- idl.relu(dst [, src]) -> dst: dst = max(src, 0) (src defaults to dst).
-- @function relu

--- idl.relu_grad(dst, src, mask) -> dst: dst = src where mask > 0, else 0 (the gradient
-- through x = max(z, 0), mask being x or z; dst may be src).
-- @function relu_grad

--- idl.hadamard(C, A, B) -> C: C = A .* B (C may be A or B).
-- @function hadamard

--- idl.add_col(X, alpha, v) -> X: X += alpha v 1^T (v a column, added to every column).
-- @function add_col

--- idl.scale_rows(X, v) -> X: X = diag(v) X in place (v a rows x 1 column).
-- @function scale_rows

--- idl.scale_cols(X, v) -> X: X = X diag(v) in place (v a vector of cols entries).
-- @function scale_cols

--- idl.transpose(dst, src) -> dst: dst = src^T.
-- @function transpose

--- idl.gather_cols(dst, src, idx) -> dst: dst's column k = src's column idx[k]
-- (1-based; dst has #idx columns). For mini-batches without allocation.
-- @function gather_cols

--- idl.scatter_cols(dst, idx, src) -> dst: dst's column idx[k] = src's column k.
-- @function scatter_cols

--- Random numbers.
-- @section generators

--- idl.rng([seed]) -> a generator (GSL mt19937); the same seed gives the same draws.
-- seed is a non-negative integer (default 0).
-- @function rng

--- Files.
-- @section files

--- idl.read_csv(path [, {header = "auto"|true|false, delimiter = ","}])
-- -> matrix (one row per line), names (a table of header names, or nil).
-- A malformed file raises an error naming the file, line and column.
-- @function read_csv

--- idl.write_csv(path, m [, names [, delimiter]]) writes m one row per line
-- (values round-trip exactly), atomically (temporary file + rename).
-- @function write_csv

--- idl._csv_stream(path, delimiter, header, shard_rank, shard_size) -> a
-- stream handle, or nil, message when the file cannot be read or has no data.
-- shard_rank is 0-based. The handle's methods: h:cols() -> the number of fields
-- of every line; h:names() -> the header names (a table), or nil when the file
-- has none; h:next(batch_size, target) -> X (rows x features), y (rows x 1, or
-- nil when target is 0): the next rows of this shard, target the 1-based column
-- of the targets (0: none); at the end of the file nil, on a malformed line nil,
-- message; h:rewind() -> true: back to the first data row (or nil, message);
-- h:close(): releases the file and the buffer now (the collector does it
-- otherwise; closing twice is harmless).
-- @function _csv_stream
-- @local

--- idl._csv_writer(path [, names [, delimiter]]) -> a writer handle, or nil,
-- message: a CSV file written a block of rows at a time through one atomic
-- writer (a temporary beside path): w:write(M) -> true (M's rows, %.17g; every
-- block as wide as the names or the first block), w:commit() -> true (the file
-- appears whole at path), w:abort() (the temporary is removed, path keeps its
-- old contents; also done by the collector for a handle dropped uncommitted).
-- A failed write or commit returns nil, "cannot write '<path>': <reason>" and
-- aborts. Behind idl.IDLModel:predict's output option.
-- @function _csv_writer
-- @local

--- idl.hash(m) -> 16 hex digits: an exact, order-sensitive 64-bit hash of m's
-- shape and the bytes of its entries (hash.h); two matrices that differ in
-- one bit, or in the order of their entries, have different hashes.
-- @function hash

--- idl.write_file_atomic(path, text...) -> true, or nil and "cannot write
-- '<path>': <the system's reason>": writes the strings one after the other
-- into a temporary file beside path, fsyncs it and renames it over path
-- (file.h); on failure the old file is intact and no temporary is left.
-- @function write_file_atomic

--- Linear algebra.
-- @section linalg

--- idl.lstsq(A, B [, ridge=0]) -> X, rank: X = argmin ||A X - B||_F^2 + ridge ||X||_F^2
-- for A m x k (rows are equations) and B m x q; X is k x q. ridge > 0 solves the normal
-- equations by Cholesky (fast when m >> k); ridge = 0 uses the SVD (minimum-norm solution,
-- rank deficiency allowed; singular values below 1e-12 s_max are dropped) and rank is the
-- effective rank (k when ridge > 0).
-- @function lstsq

--- idl.solve(A, B) -> X = A^-1 B for a square A (n x n) and B n x q (LU, partial pivoting).
-- A singular A raises "solve: A (nxn) is singular".
-- @function solve

--- Output losses with their gradients.
-- @section losses

--- idl.squared_loss(Yhat, Y [, grad]) -> loss, grad: loss = ||Yhat - Y||_F^2/(2m)
-- and its gradient (Yhat - Y)/m (written into grad when given).
-- @function squared_loss

--- idl.softmax_xent(Yhat, Y [, grad]) -> loss, grad: mean softmax cross-entropy of
-- the logits Yhat (p x m) against target distributions Y (one-hot columns),
-- and its gradient (softmax(Yhat) - Y)/m.
-- @function softmax_xent

--- idl.softmax(Z) -> P, the softmax of each column of Z (a new matrix).
-- @function softmax

--- Fused optimizer steps (idl.optim builds on them).
-- @section steps

--- idl.adam_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, t) -> param:
-- one Adam step in place (m, v are the moment buffers, t >= 1 the step count).
-- @function adam_step

--- idl.sgd_step(param, grad, buf, lr, momentum, weight_decay) -> param: one SGD
-- step with heavy-ball momentum in place (buf may be nil when momentum is 0).
-- @function sgd_step

--- Projections: each keeps D in a set where the equilibrium is well-posed; the variant with a
-- trailing underscore works in place and returns its argument.
-- @section projections

--- idl.project_inf(D, kappa) -> the Euclidean projection of D onto
-- {||D||_inf <= kappa}: each row onto the l1 ball of radius kappa (rows
-- already inside are untouched). A new matrix; D is not changed.
-- @function project_inf

--- idl.project_inf_(D, kappa) -> D, projected in place.
-- @function project_inf_

--- idl.project_spectral(D, radius) -> the Frobenius projection of D onto
-- {||D||_2 <= radius}: singular values above radius clipped to it. New matrix.
-- @function project_spectral

--- idl.project_spectral_(D, radius) -> D, projected in place.
-- @function project_spectral_

--- idl.project_lmi(D, lambda [, A]) -> the projection of D onto the LMI (2.4)
-- Lambda - (Lambda D + D^T Lambda) >= 0, or (2.5) Lambda + A^T A - (...) >= 0
-- when A is given, for a fixed lambda > 0. With Dt = Lambda^(1/2) D
-- Lambda^(-1/2) the skew part of Dt is kept and the eigenvalues of
-- sym(Dt) - C above 0 are clipped (C = I/2, or (I + Lambda^(-1/2) A^T A
-- Lambda^(-1/2))/2): the projection in the metric
-- sum_ij (lambda_i / lambda_j) P_ij Q_ij (Euclidean for constant lambda).
-- @function project_lmi

--- idl.project_lmi_(D, lambda [, A]) -> D, projected in place.
-- @function project_lmi_

--- idl.project_nonneg(X) -> max(X, 0), a new matrix.
-- @function project_nonneg

--- idl.project_nonneg_(X) -> X, with its negative entries set to 0.
-- @function project_nonneg_

--- The relaxed training objective of the report (chapters 2 to 4). Shapes: U is n x m, X h x m,
-- Y p x m (columns are samples); theta = {A = p x h, B = p x n, c = p x 1, D = h x h, E = h x n,
-- f = h x 1}; lambda an h x 1 matrix.
-- @section relaxed

--- idl.fenchel(X, Z) -> F (h x 1): F_i = mean over columns of
-- 0.5 x^2 + 0.5 (z)_+^2 - x z (the Fenchel divergence, report 2.2).
-- @function fenchel

--- idl.objective(theta, X, U, Y, lambda) -> G, L, F with
-- L = ||A X + B U + c 1^T - Y||_F^2 / (2m), F = fenchel(X, D X + E U + f 1^T),
-- G = L + lambda^T F.
-- @function objective

--- idl.gradients(theta, X, U, Y, lambda) -> g = {A=, B=, c=, D=, E=, f=, X=}:
-- the gradients of G (report ch. 3), each shaped like its variable.
-- @function gradients

--- idl.lipschitz(theta, X, U, lambda) -> {theta1=, theta2=, x=}: valid
-- Lipschitz constants of the gradient blocks (A,B,c), (D,E,f) and X:
-- theta1 = ||[X; U; 1^T]||_2^2 / m, theta2 = max|lambda_i| * theta1,
-- x = (||A^T A + Lambda - Lambda D - D^T Lambda||_2 + max|lambda_i| ||D||_2^2) / m.
-- Only theta.A and theta.D are read.
-- @function lipschitz

--- idl.dual_update(lambda, F, alpha, eps) -> lambda + alpha F .* 1{F >= eps}
-- (report 4.1), a new matrix; lambda is not changed.
-- @function dual_update

--- idl.relaxed_workspace(h, n, p, m) -> ws: the buffers of relaxed_forward,
-- relaxed_value, relaxed_grads and the Lipschitz constants for h hidden
-- units, n features, p outputs and m samples, allocated once (a trainer
-- makes one per fit; the steps then allocate nothing).
-- @function relaxed_workspace

--- idl.relaxed_forward(ws, theta, X, U, Y): the forward pass [R; Z] at
-- (theta, X) into ws (two GEMMs), which relaxed_value and relaxed_grads read.
-- @function relaxed_forward

--- idl.relaxed_value(ws, X, lambda, F) -> G, L, residual: the relaxed
-- objective, the loss and ||(Z)_+ - X||_F off the forward pass in ws (no
-- GEMM); F (h x 1) receives the Fenchel divergences.
-- @function relaxed_value

--- idl.relaxed_grads(ws, X, lambda, grad, gX): the gradients of G off the
-- forward pass in ws: grad (a table of six matrices shaped like theta, or
-- nil) and gX (h x m, or nil) are overwritten. The forward pass is used up.
-- @function relaxed_grads

--- idl.lipschitz_theta(ws, X, U, lambda) -> theta1, theta2: idl.lipschitz's
-- constants of the (A, B, c) and (D, E, f) blocks, in ws's work.
-- @function lipschitz_theta

--- idl.lipschitz_x(ws, theta, lambda) -> x: idl.lipschitz's constant of the
-- X block (theta.A and theta.D are read), in ws's work, for ws's m.
-- @function lipschitz_x

--- idl.lipschitz_x_carried(ws, theta, lambda, M_ref, D_ref, mu, delta, slack)
-- -> x, exact, mu, delta: a valid constant of the X block that skips the
-- eigenvalue problems of lipschitz_x while a reference bounds it well enough
-- (relaxed.h's idl_lipschitz_x_carried). The reference: M_ref (h x h, the
-- upper triangle of A^T A + Lambda - Lambda D - D^T Lambda) and D_ref at its
-- last exact computation, mu and delta their 2-norms (nil: no reference yet).
-- x = (mu + eM + lmax (delta + eD)^2) / m with eM, eD the Frobenius distances
-- to the reference, unless that exceeds slack (>= 1) times the lower bound of
-- the same form; then x is lipschitz_x's value, exact is true, M_ref and D_ref
-- are overwritten and the new mu, delta returned (else the given ones).
-- @function lipschitz_x_carried

--- idl.relaxed_x_update(X, gX, step) -> ||gX||_F: the projected X step
-- X <- (X - step gX)_+ in one pass (X is overwritten, gX only read).
-- @function relaxed_x_update

--- idl.readout(theta, X, U, Y, ridge_rel): theta.A, theta.B, theta.c
-- overwritten with the ridge least-squares readout of relaxed.h's
-- idl_readout (centred data, unpenalized c, each feature's ridge ridge_rel
-- times its own centred sum of squares).
-- @function readout

--- idl.readout_loo(theta, X, U, Y, grid) -> ridge_rel, loo, best: the
-- readout of idl.readout with ridge_rel chosen from grid (an array of
-- positive ridges) by exact leave-one-out (relaxed.h's idl_readout_loo: one
-- eigendecomposition of the scaled Gram matrix, then O(m (h + n)) per
-- ridge); loo[g] is the mean squared leave-one-out residual at grid[g]
-- (summed over outputs), best the index of the least. theta.A, theta.B,
-- theta.c are overwritten with the fit at ridge_rel. Needs m >= 2 samples.
-- @function readout_loo

--- idl.readout_normal(theta, K, R, zmean, ymean, ridge_rel): the same readout
-- from the centred normal equations (idl_readout_normal) of data seen a part
-- at a time: K the (h+n) x (h+n) centred cross products of [X; U], R those
-- of [X; U] with Y ((h+n) x p), zmean and ymean the means. K and R are read only.
-- @function readout_normal

--- Equilibrium and implicit differentiation.
-- @section equilibrium

--- idl.equilibrium(D, B0 [, opts]) -> X, info: solves X = (D X + B0)_+ for all
-- columns at once (D h x h, B0 and X h x m).
-- idl.equilibrium(theta, U [, opts]) -> X, info: the same with
-- B0 = theta.E U + theta.f 1^T (theta needs D, E, f).
-- opts: method = "picard" (default) | "anderson", tol = 1e-10 on the relative
-- residual max|X - (D X + B0)_+| / max(max (B0)_+, max|X|) (an absolute floor
-- DBL_MIN where both vanish: X = 0 is then accepted at once), max_iter = 1000,
-- steps = 0 (k > 0: stop after k Picard steps at the latest and return the
-- k-th iterate), x0 = h x m start (copied, never changed), out = an h x m
-- matrix that receives X and is returned (no new matrix per solve; it may be
-- x0 itself, for a solve in place; never memory of D or B0), memory = 5
-- (Anderson history), force = false (solve even when idl.wellposed(D) gives
-- no guarantee), precision = "double" | "single" (Picard only: D, B0 and the
-- start converted to float once, the iterations in float (SGEMM), X converted
-- back; the residual is the float map's, and tol must be 0 or >= 1e-6, the
-- floor float rounding leaves; about as accurate as float eps / (1 - kappa):
-- for loose training solves, not predictions).
-- info = {iterations (steps taken: 0 for a start at the solution), residual (that
-- ratio for the X returned; after a steps stop, for the iterate before it),
-- scale (its denominator), converged, stop ("tol", "absolute", "max_iter",
-- "steps" or "nonfinite": what ended the run), method, precision}; not
-- converging within max_iter is reported there, not raised.
-- @function equilibrium

--- idl.implicit_backward(D, Z, G [, opts]) -> V, info: solves
-- (I - Phi D^T) V = Phi G for every column, Phi = diag(1[Z > 0]), by the fixed
-- point V = Phi .* (D^T V + G) (one GEMM per iteration). With X the
-- equilibrium, Z = D X + E U + f 1^T and G = dL/dX: dL/dD = V X^T,
-- dL/dE = V U^T, dL/df = V 1. Options and info as for idl.equilibrium
-- (x0 is the starting V; precision = "single" converts G and the mask
-- 1[Z > 0] to float); the residual is relative to max|Phi G| (or max|V|
-- when larger), so a tiny G is solved as accurately as a large one. With
-- steps = k and no x0: the k-step phantom gradient
-- sum_{i<k} (Phi D^T)^i Phi G (k = 1: Phi G, Jacobian-free), which tends
-- to the exact V as k grows.
-- @function implicit_backward

--- idl.wellposed(D) -> {norm_inf, norm_2, pf, wellposed}: pf is an upper bound
-- on the Perron-Frobenius eigenvalue rho(|D|) by power iteration; wellposed
-- is true when any of the three is < 1 (each guarantees a unique
-- equilibrium; rho(D) <= rho(|D|)).
-- @function wellposed

--- idl.diagonal_blocks(D) -> {e1, e2, ...}: D's diagonal blocks, the finest
-- split of 1..h into consecutive ranges (1..e1, e1+1..e2, ..., up to h) such
-- that every nonzero entry of D (NaN included) lies in a range's rows and
-- columns. The equilibrium splits along them (each block solved alone gives
-- the same X): idl.model solves a block-diagonal D (an ensemble,
-- idl.model.average) block by block. One pass over D.
-- @function diagonal_blocks

--- System: threads, time, the running program, Ctrl-C during training.
-- @section system

--- idl.set_threads(n): the number of threads OpenBLAS uses (default: all cores).
-- @function set_threads

--- idl.get_threads() -> the number of threads OpenBLAS uses.
-- @function get_threads

--- idl.clock() -> monotonic wall-clock seconds (for timing and progress rates).
-- @function clock

--- idl.executable() -> the absolute path of the running program (the `idl`
-- executable, or the Lua interpreter that loaded idl.core), so that scripts
-- can start worker processes of the same kind.
-- @function executable

--- idl.peak_rss() -> the largest resident memory of this process so far, in
-- bytes (getrusage's ru_maxrss): what streaming must keep flat.
-- @function peak_rss

--- idl._time_dgemm(C, A, B, reps) -> best seconds of one plain cblas_dgemm
-- C = A B over reps calls, with no Lua in the loop: the reference that
-- benchmarks divide by.
-- @function _time_dgemm
-- @local

--- idl._time_sgemm(C, A, B, reps) -> the same for cblas_sgemm on float copies
-- of A and B (made before the clock starts; C receives the float product):
-- the reference for single-precision solves.
-- @function _time_sgemm
-- @local

--- idl._interrupt_begin() -> true: from now on a SIGINT (Ctrl-C, kill -INT)
-- sets the flag idl._interrupted() reads instead of interrupting Lua (a second
-- one goes to the previous handler). Clears the flag. Calls nest; pair each
-- with idl._interrupt_end() (trainers.run does, on every exit path).
-- @function _interrupt_begin
-- @local

--- idl._interrupted() -> true when a SIGINT arrived since the outermost
-- idl._interrupt_begin() (the flag is not cleared by reading it).
-- @function _interrupted
-- @local

--- idl._interrupt_end() -> true: undoes one idl._interrupt_begin(); the
-- outermost restores the SIGINT handler that was in place before it. An end
-- without a begin does nothing.
-- @function _interrupt_end
-- @local

--- idl.mpi (also `require "idl.mpi"`): data-parallel building blocks on MPI, for scripts run as
-- `mpirun -np N idl script.lua`; alone, a script is a job of size 1.
-- @section mpi

--- mpi.rank() -> this process's rank in the job, 0-based (0 without mpirun).
-- @function mpi.rank

--- mpi.size() -> the number of processes in the job (1 without mpirun).
-- @function mpi.size

--- mpi.barrier(): returns when every rank has called it.
-- @function mpi.barrier

--- mpi.allreduce(M [, op]) -> M: every rank's M replaced, in place, by the
-- elementwise reduction of all ranks' M: op "sum" (default), "max" or "min".
-- M may be an array of matrices ({A, B, c, ...}): one collective for all.
-- Every rank must pass the same shapes and op (checked: all ranks raise).
-- @function mpi.allreduce

--- mpi.bcast(M, root) -> M: every rank's M replaced, in place, by root's M
-- (root is a 0-based rank, as mpi.rank() returns); M may be an array of
-- matrices, sent in one message. Every rank must pass the same shapes and
-- root (checked: all ranks raise).
-- @function mpi.bcast

--- mpi.gather(v, root) -> on root, an array of every rank's v in rank order
-- (index r + 1 holds rank r's: new matrices, or strings); nil on the other
-- ranks. v is a matrix (its shape may differ across ranks) or a string, of the
-- same kind on every rank, and root the same 0-based rank (both checked: all
-- ranks raise). Alone (a job of size 1): {copy of v}.
-- @function mpi.gather

--- mpi.available() -> true when this build has MPI (false: every other function of idl.mpi
-- but fused_buffer raises).
-- @function mpi.available

--- mpi.fused_buffer(shapes) -> flat, views: flat is one contiguous column of
-- all the elements, views[k] a shapes[k][1] x shapes[k][2] matrix stored in
-- it (column-major, back to back, zeros). Gradients written into the views
-- are reduced by mpi.allreduce(flat): one collective, in place, no copy.
-- Allocates only: works in every build.
-- @function mpi.fused_buffer

--- A matrix: column-major doubles inside a Lua userdata. Views (m:sub, m:col, m:row, m[i])
-- share their parent's storage and keep it alive.
--
-- Operators: `A * B` is the matrix product (one dgemm) or a scaling by a number; `+` and `-` are
-- elementwise, with a number on either side; `/` divides by a number; unary `-` negates.
-- `m[i]` is a view of row i and `#m` the number of rows. `a == b` is true when both have the
-- same shape and equal elements (a NaN equals nothing; idl.equal(a, b, tol) compares with a
-- tolerance). `tostring(m)` shows small matrices whole and the corners of large ones, with NaN
-- as `nan`. Errors name the operation and the shapes ("matmul: A is 2x2, B is 1x2").
-- @type matrix

--- m:rows() -> number of rows.
-- @function matrix:rows

--- m:cols() -> number of columns.
-- @function matrix:cols

--- m:size() -> rows, cols.
-- @function matrix:size

--- m:get(i, j) -> the entry at row i, column j (1-based); m:get(k) for a vector.
-- @function matrix:get

--- m:set(i, j, v) sets the entry at (i, j); m:set(k, v) for a vector. Returns m.
-- @function matrix:set

--- m:copy() -> a new matrix with the same contents (never a view).
-- @function matrix:copy

--- m:t() -> the transpose (a new matrix).
-- @function matrix:t

--- m:totable() -> {{row 1}, {row 2}, ...} (the inverse of idl.from_table).
-- @function matrix:totable

--- m:sum([dim]) -> the sum of all entries (a number); dim 1 sums each column
-- (a 1 x cols matrix), dim 2 each row (a rows x 1 matrix).
-- @function matrix:sum

--- m:relu() -> max(m, 0) elementwise (a new matrix).
-- @function matrix:relu

--- m:norm([kind]) -> "fro" (default), "1" (max column abs sum), "inf" (max row
-- abs sum), "2" (largest singular value) or "max" (largest |entry|).
-- @function matrix:norm

--- m:hadamard(b) -> m .* b elementwise (a new matrix).
-- @function matrix:hadamard

--- m:sub(i1, i2, j1, j2) -> a view of rows i1..i2 and columns j1..j2
-- (inclusive, 1-based). Writes through the view change m; the view keeps m alive.
-- @function matrix:sub

--- m:col(j) -> a view of column j (writes through it change m; it keeps m alive).
-- @function matrix:col

--- m:row(i) -> a view of row i (as m[i]).
-- @function matrix:row

--- m:select_cols(idx) -> a new matrix of the columns listed in the Lua array
-- idx (1-based, repeats allowed): batching and shuffling of samples.
-- @function matrix:select_cols

--- m:is_view() -> true when m shares another matrix's storage.
-- @function matrix:is_view

--- m:all_finite() -> true when no entry is NaN or infinite.
-- @function matrix:all_finite

--- A generator of random numbers (GSL mt19937), made by idl.rng(seed). Every random draw of idl
-- takes one explicitly, so a seed reproduces a run; rng:state() and rng:set_state(s) save and
-- restore it.
-- @type rng

--- rng:uniform([lo, hi]) -> a draw uniform on [lo, hi) (default [0, 1)).
-- @function rng:uniform

--- rng:normal([mean, sd]) -> a normal draw (default standard normal).
-- @function rng:normal

--- rng:integer(n) -> a uniform integer in 1..n.
-- @function rng:integer

--- rng:permutation(n) -> a Lua array holding a random permutation of 1..n.
-- @function rng:permutation

--- rng:shuffle(t) -> t, its array part shuffled in place (Fisher-Yates).
-- @function rng:shuffle

--- rng:state() -> the full generator state as a string (for checkpoints).
-- @function rng:state

--- rng:set_state(s) -> rng, restored to a state from rng:state().
-- @function rng:set_state

return nil
