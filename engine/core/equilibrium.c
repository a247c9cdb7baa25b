#include "equilibrium.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- the fixed-point map ---------------------------------------------- */

/* g(X) = post(op(D) X + B): post is the ReLU for the equilibrium and the mask
 * 1[Z > 0] for the backward pass. The GEMM result lands in a buffer that the
 * fused pass then turns into g(X) in place. */
typedef struct fp_map {
    const idl_mat *d;
    bool trans;
    const idl_mat *b;
    const idl_mat *mask; /* NULL: ReLU */
} fp_map;

/* One column of the fused pass: z <- post(z + b); returns max|z - x| (NaN if
 * any difference is NaN, so a diverging run never looks converged), raises
 * *xmax to max|x| and adds sum (z - x)^2 to *sumsq. */
static double apply_column(const double *b, const double *mask, const double *x, double *z,
                           int n, double *xmax, double *sumsq)
{
    double dmax = 0.0, amax = *xmax, ss = 0.0;
    bool bad = false;
    int i = 0;
#if defined(__SSE2__)
    /* By hand because, without -ffast-math, compilers keep the ReLU select and
     * the max-reductions scalar and branchy: 7x slower than memory allows. */
    __m128d zero = _mm_setzero_pd(), sign = _mm_set1_pd(-0.0);
    __m128d vd = zero, va = zero, vs = zero, vbad = zero;
    for (; i + 2 <= n; i += 2) {
        __m128d s = _mm_add_pd(_mm_loadu_pd(z + i), _mm_loadu_pd(b + i));
        /* max(0, s) returns s when s is NaN: NaN propagates. */
        __m128d g = mask ? _mm_and_pd(s, _mm_cmpgt_pd(_mm_loadu_pd(mask + i), zero))
                         : _mm_max_pd(zero, s);
        __m128d xv = _mm_loadu_pd(x + i), e = _mm_sub_pd(g, xv);
        __m128d d = _mm_andnot_pd(sign, e);
        vbad = _mm_or_pd(vbad, _mm_cmpunord_pd(d, d));
        vd = _mm_max_pd(vd, d);
        vs = _mm_add_pd(vs, _mm_mul_pd(e, e));
        va = _mm_max_pd(va, _mm_andnot_pd(sign, xv));
        _mm_storeu_pd(z + i, g);
    }
    double lanes[2];
    _mm_storeu_pd(lanes, vd);
    dmax = fmax(lanes[0], lanes[1]);
    _mm_storeu_pd(lanes, va);
    amax = fmax(amax, fmax(lanes[0], lanes[1]));
    _mm_storeu_pd(lanes, vs);
    ss = lanes[0] + lanes[1];
    bad = _mm_movemask_pd(vbad) != 0;
#endif
    for (; i < n; i++) {
        double s = z[i] + b[i];
        double g = mask ? (mask[i] > 0.0 ? s : 0.0) : (s < 0.0 ? 0.0 : s);
        double d = fabs(g - x[i]), a = fabs(x[i]);
        bad = bad || isnan(d);
        dmax = d > dmax ? d : dmax;
        amax = a > amax ? a : amax;
        ss += d * d;
        z[i] = g;
    }
    *xmax = amax;
    *sumsq += ss;
    return bad ? (double)NAN : dmax;
}

static const double *column_or_null(const idl_mat *m, int j)
{
    return m ? &IDL_AT(m, 0, j) : NULL;
}

/* z <- op(D) x, the one GEMM of an iteration. */
static void apply_d(const fp_map *map, const idl_mat *x, idl_mat *z)
{
    idl_gemm(map->trans, false, 1.0, map->d, x, 0.0, z);
}

static double max_abs(const double *x, int n)
{
    double r = 0.0;
    int i = 0;
#if defined(__SSE2__)
    __m128d sign = _mm_set1_pd(-0.0), v = _mm_setzero_pd();
    for (; i + 2 <= n; i += 2)
        v = _mm_max_pd(v, _mm_andnot_pd(sign, _mm_loadu_pd(x + i)));
    double lanes[2];
    _mm_storeu_pd(lanes, v);
    r = fmax(lanes[0], lanes[1]);
#endif
    for (; i < n; i++) {
        double a = fabs(x[i]);
        r = a > r ? a : r;
    }
    return r;
}

/* max|g(0)|, the size of the right-hand side: max (B0)_+ for the ReLU map,
 * max |G| over the entries with Z > 0 for the masked one. */
/* max(r, max_i v_i) over a column, v_i = b_i (m NULL) or |b_i| where m_i > 0
 * (else 0); a NaN v_i is skipped. By hand for the reason apply_column is: the
 * mask is a coin flip per entry, which a branch mispredicts (a fifth of a
 * 1-step backward solve went here). */
static double column_max(const double *b, const double *m, int n, double r)
{
    int i = 0;
#if defined(__SSE2__)
    __m128d zero = _mm_setzero_pd(), sign = _mm_set1_pd(-0.0), vr = _mm_set1_pd(r);
    for (; i + 2 <= n; i += 2) {
        __m128d v = _mm_loadu_pd(b + i);
        if (m)
            v = _mm_and_pd(_mm_andnot_pd(sign, v), _mm_cmpgt_pd(_mm_loadu_pd(m + i), zero));
        vr = _mm_max_pd(v, vr); /* the second operand when v is NaN */
    }
    double lanes[2];
    _mm_storeu_pd(lanes, vr);
    r = lanes[0] > lanes[1] ? lanes[0] : lanes[1];
#endif
    for (; i < n; i++) {
        double v = m ? (m[i] > 0.0 ? fabs(b[i]) : 0.0) : b[i];
        r = v > r ? v : r;
    }
    return r;
}

static double rhs_scale(const fp_map *map)
{
    const idl_mat *b = map->b, *mask = map->mask;
    double r = 0.0;
    for (int j = 0; j < b->cols; j++)
        r = column_max(&IDL_AT(b, 0, j), column_or_null(mask, j), b->rows, r);
    return r;
}

/* s_k of the header: the larger of the right-hand side and the iterate, with
 * the absolute floor DBL_MIN where both vanish. */
static double scale_of(double rhs, double xmax)
{
    return fmax(fmax(rhs, xmax), DBL_MIN);
}

/* Fills info for a run that stopped at iterate k with relative residual r;
 * stepped: the opts->steps budget is what ended it. */
static void report(idl_eq_info *info, int k, double r, double scale, double tol, bool stepped)
{
    info->iterations = k;
    info->residual = r;
    info->scale = scale;
    if (!isfinite(r))
        info->stop = IDL_EQ_STOP_NONFINITE;
    else if (r < tol)
        info->stop = scale <= DBL_MIN ? IDL_EQ_STOP_ABSOLUTE : IDL_EQ_STOP_TOL;
    else
        info->stop = stepped ? IDL_EQ_STOP_STEPS : IDL_EQ_STOP_MAX_ITER;
    info->converged = info->stop == IDL_EQ_STOP_TOL || info->stop == IDL_EQ_STOP_ABSOLUTE;
}

/* ---- Picard ----------------------------------------------------------- */

/* Columns per GEMM panel of a Picard iteration (see picard_run). */
#ifndef PICARD_PANEL
#define PICARD_PANEL 512
#endif

/* max(a, b) that keeps a NaN from either side, so a diverging column never
 * looks converged. */
static double max_nan(double a, double b)
{
    return isnan(a) || a > b ? a : b;
}

/* Whether every entry of x is +-0 (stops at the first that is not: a warm
 * start costs a read of one entry). */
static bool is_zero(const idl_mat *x)
{
    for (int j = 0; j < x->cols; j++)
        for (int i = 0; i < x->rows; i++)
            if (IDL_AT(x, i, j) != 0.0)
                return false;
    return true;
}

/* One precision's Picard iteration: slot[cur] holds the iterate, and panel()
 * writes g(slot[cur]) into slot[1 - cur] for the columns j0..j0+w-1, raises
 * *xmax to max|slot[cur]| over them and returns max|slot[cur] - g(slot[cur])|
 * there (NaN if any is NaN), both in the units of X; zero: slot[cur] or D is
 * all zeros, so op(D) slot[cur] = 0 needs no GEMM; finish() puts slot[s] into X. */
typedef struct picard_iter picard_iter;
typedef struct single_work single_work;
struct picard_iter {
    const fp_map *map;
    double (*panel)(const picard_iter *it, int cur, int j0, int w, bool zero, double *xmax);
    void (*finish)(const picard_iter *it, int s, idl_mat *x);
    idl_mat *slot[2];         /* double: X and the workspace */
    single_work *single;       /* single: its float copies */
};

/* Ping-pong between the two slots: the fused pass writes g(cur) next to cur,
 * so cur (whose residual it just measured) can be returned as it is, or, when
 * the steps budget is spent, g(cur) unmeasured. The GEMM runs panel by panel
 * and the fused pass follows each panel while its op(D) X is still in cache:
 * one stream less from memory. */
static void picard_run(const picard_iter *it, idl_mat *x, const idl_eq_opts *o, double rhs,
                       idl_eq_info *info)
{
    /* From a zero start (a cold solve, and every backward solve without x0)
     * the first step is g(0) = post(B) without its GEMM: a 1-step backward
     * (the phantom gradient) then costs no product with D at all. With D = 0
     * (an MLP, or the implicit trainer's MLP phase) no step needs one: g is
     * the constant post(B), reached by the first step, confirmed by the
     * second. */
    bool zero = is_zero(x), d_zero = is_zero(it->map->d);
    int m = x->cols, cur = 0;
    for (int k = 0;; k++) {
        double xmax = 0.0, dmax = 0.0;
        for (int j0 = 0; j0 < m; j0 += PICARD_PANEL) {
            int w = m - j0 < PICARD_PANEL ? m - j0 : PICARD_PANEL;
            dmax = max_nan(dmax, it->panel(it, cur, j0, w, d_zero || (zero && k == 0), &xmax));
        }
        double scale = scale_of(rhs, xmax), r = dmax / scale;
        bool done = r < o->tol || k >= o->max_iter || !isfinite(r);
        bool stepped = !done && o->steps > 0 && k + 1 >= o->steps;
        if (done || stepped) {
            report(info, stepped ? k + 1 : k, r, scale, o->tol, stepped);
            it->finish(it, stepped ? 1 - cur : cur, x);
            return;
        }
        cur = 1 - cur;
    }
}

static double panel_double(const picard_iter *it, int cur, int j0, int w, bool zero,
                           double *xmax)
{
    const fp_map *map = it->map;
    idl_mat *x = it->slot[cur], *z = it->slot[1 - cur];
    int h = x->rows;
    idl_mat cin = idl_mat_block(x, 0, j0, h, w), cout = idl_mat_block(z, 0, j0, h, w);
    if (zero)
        idl_fill(&cout, 0.0);
    else
        apply_d(map, &cin, &cout);
    double dmax = 0.0, unused = 0.0;
    for (int j = j0; j < j0 + w; j++)
        dmax = max_nan(dmax, apply_column(&IDL_AT(map->b, 0, j), column_or_null(map->mask, j),
                                          &IDL_AT(x, 0, j), &IDL_AT(z, 0, j), h, xmax, &unused));
    return dmax;
}

static void finish_double(const picard_iter *it, int s, idl_mat *x)
{
    if (it->slot[s] != x)
        idl_copy(it->slot[s], x);
}

static void picard_double(const fp_map *map, idl_mat *x, const idl_eq_opts *o, double rhs,
                          double *work, idl_eq_info *info)
{
    idl_mat buf = idl_mat_wrap(work, x->rows, x->cols);
    picard_iter it = {map, panel_double, finish_double, {x, &buf}, NULL};
    picard_run(&it, x, o, rhs, info);
}

/* ---- Picard in single precision --------------------------------------- */

/* The float copies, carved from the caller's workspace, contiguous (ld = h):
 * D, the right-hand side and the two iterate slots in units of `unit` (the
 * float iterate is X / unit), and the mask as 1 or 0 (a positive Z too small
 * for a float keeps its 1). */
struct single_work {
    int h;
    double unit;
    float *d, *b, *mask, *slot[2];
    const idl_mat *d_src; /* D, until its copy d is made (at its first GEMM) */
};

/* Carves the workspace (base may be NULL to only count); returns its size in
 * doubles. */
static size_t single_layout(int h, int m, double *base, single_work *f)
{
    size_t hh = (size_t)h * (size_t)h, hm = (size_t)h * (size_t)m;
    if (base) {
        float *p = (float *)base;
        f->h = h;
        f->d = p;
        f->b = p + hh;
        f->mask = f->b + hm;
        f->slot[0] = f->mask + hm;
        f->slot[1] = f->slot[0] + hm;
    }
    return (hh + 4 * hm + 1) / 2;
}

/* out <- a * factor as floats, column by column into ld = rows. */
static void to_single(const idl_mat *a, double factor, float *out)
{
    for (int j = 0; j < a->cols; j++)
        for (int i = 0; i < a->rows; i++)
            out[(size_t)i + (size_t)j * (size_t)a->rows] = (float)(IDL_AT(a, i, j) * factor);
}

/* out <- 1[z > 0] as floats, into ld = rows. */
static void mask_to_single(const idl_mat *z, float *out)
{
    for (int j = 0; j < z->cols; j++)
        for (int i = 0; i < z->rows; i++)
            out[(size_t)i + (size_t)j * (size_t)z->rows] = IDL_AT(z, i, j) > 0.0 ? 1.0f : 0.0f;
}

static float float_of_bits(uint32_t u)
{
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* apply_column in float without the sum of squares: z <- post(z + b), raises
 * *dmax to max|z - x| and *xmax to max|x|, both as bit patterns. For floats
 * >= 0 the bits, read as unsigned integers, sort as the numbers do and every
 * NaN sorts above infinity, so an integer max propagates NaN without a branch,
 * and GCC vectorizes this loop at -O3 as it is (a float max would drop NaN). */
static void apply_column_single(const float *b, const float *mask, const float *x, float *z,
                                int n, uint32_t *dmax, uint32_t *xmax)
{
    uint32_t dm = *dmax, am = *xmax;
    for (int i = 0; i < n; i++) {
        float s = z[i] + b[i];
        float g = mask ? (mask[i] > 0.0f ? s : 0.0f) : (s < 0.0f ? 0.0f : s), e = g - x[i];
        uint32_t de, ax;
        memcpy(&de, &e, sizeof de);
        memcpy(&ax, &x[i], sizeof ax);
        de &= 0x7fffffffu;
        ax &= 0x7fffffffu;
        dm = de > dm ? de : dm;
        am = ax > am ? ax : am;
        z[i] = g;
    }
    *dmax = dm;
    *xmax = am;
}

static double panel_single(const picard_iter *it, int cur, int j0, int w, bool zero,
                           double *xmax)
{
    single_work *f = it->single;
    int h = f->h;
    size_t off = (size_t)j0 * (size_t)h;
    const float *x = f->slot[cur] + off;
    float *z = f->slot[1 - cur] + off;
    if (!zero && f->d_src) {
        to_single(f->d_src, 1.0, f->d);
        f->d_src = NULL;
    }
    if (zero)
        memset(z, 0, (size_t)w * (size_t)h * sizeof *z);
    else
        cblas_sgemm(CblasColMajor, it->map->trans ? CblasTrans : CblasNoTrans, CblasNoTrans, h,
                    w, h, 1.0f, f->d, h, x, h, 0.0f, z, h);
    uint32_t dbits = 0, xbits = 0;
    for (int j = 0; j < w; j++) {
        size_t c = (size_t)j * (size_t)h;
        apply_column_single(f->b + off + c, it->map->mask ? f->mask + off + c : NULL, x + c,
                            z + c, h, &dbits, &xbits);
    }
    *xmax = fmax(*xmax, (double)float_of_bits(xbits) * f->unit);
    return (double)float_of_bits(dbits) * f->unit;
}

static void finish_single(const picard_iter *it, int s, idl_mat *x)
{
    const single_work *f = it->single;
    for (int j = 0; j < x->cols; j++)
        for (int i = 0; i < x->rows; i++)
            IDL_AT(x, i, j) = (double)f->slot[s][(size_t)i + (size_t)j * (size_t)f->h] * f->unit;
}

/* The unit of the float copies: the power of two c with s_0 / c in [1/2, 1),
 * s_0 the scale of the starting point. Dividing by it is exact. */
static double single_unit(const idl_mat *x, double rhs)
{
    double xmax = 0.0;
    for (int j = 0; j < x->cols; j++)
        xmax = fmax(xmax, max_abs(&IDL_AT(x, 0, j), x->rows));
    int e;
    frexp(scale_of(rhs, xmax), &e);
    return ldexp(1.0, e);
}

static void picard_single(const fp_map *map, idl_mat *x, const idl_eq_opts *o, double rhs,
                          double *work, idl_eq_info *info)
{
    single_work f = {0};
    single_layout(x->rows, x->cols, work, &f);
    f.unit = single_unit(x, rhs);
    f.d_src = map->d; /* converted at the first GEMM: a 1-step solve from 0 has none */
    to_single(map->b, 1.0 / f.unit, f.b);
    to_single(x, 1.0 / f.unit, f.slot[0]);
    if (map->mask)
        mask_to_single(map->mask, f.mask);
    picard_iter it = {map, panel_single, finish_single, {NULL, NULL}, &f};
    picard_run(&it, x, o, rhs, info);
}

/* ---- Anderson --------------------------------------------------------- */

/* Per-column state of the mixing. */
typedef struct aa_col {
    double prev_norm; /* ||f||_2 at the previous iterate */
    double xmax;      /* max|x| over this column */
    int mk;           /* live differences: slots 0..mk-1 */
    int head;         /* the slot the next difference overwrites */
    int have_prev;    /* f_prev, g_prev belong to the previous iterate */
    int last_mixed;   /* the current iterate came from a mixing step */
    int engaged;      /* mixing is on (plain Picard steps until it is) */
} aa_col;

typedef struct aa_work {
    int h, mem;
    double *z;    /* h x m: op(D) X, then g(X) */
    double *hist; /* per column: dF (h x mem), dG (h x mem), f_prev, g_prev */
    double *gram; /* per column: dF^T dF (mem x mem) */
    aa_col *cols;
    double *f; /* h: the residual of the column being mixed */
} aa_work;

/* A column runs plain Picard steps, which touch no history, while they cut
 * its residual by this factor or better; mixing, which costs about one more
 * GEMM's worth of memory traffic per iteration, starts once they do not.
 * (On the signed families Picard converges in ~8 steps and Anderson cannot
 * do better, so it should cost no more.) */
#define AA_ENGAGE 0.25

/* Relative Tikhonov term on the Jacobi-scaled normal equations (unit
 * diagonal): keeps nearly dependent differences from blowing gamma up. */
#define AA_RIDGE 1e-10

/* Carves the workspace (base may be NULL to only count); returns its size. */
static size_t aa_layout(int h, int m, int mem, double *base, aa_work *w)
{
    size_t hm = (size_t)h * (size_t)m, col = (size_t)(2 * mem + 2) * (size_t)h;
    size_t state = (sizeof(aa_col) + sizeof(double) - 1) / sizeof(double);
    size_t off_hist = hm, off_gram = off_hist + col * (size_t)m;
    size_t off_cols = off_gram + (size_t)mem * (size_t)mem * (size_t)m;
    size_t off_f = off_cols + state * (size_t)m, total = off_f + (size_t)h;
    if (base) {
        w->h = h;
        w->mem = mem;
        w->z = base;
        w->hist = base + off_hist;
        w->gram = base + off_gram;
        w->cols = (aa_col *)(base + off_cols);
        w->f = base + off_f;
    }
    return total;
}

static void aa_restart(aa_col *s)
{
    s->mk = s->head = 0;
    s->last_mixed = 0;
}

/* A column left alone (converged): if it moves again it starts afresh. */
static void aa_forget(aa_col *s)
{
    aa_restart(s);
    s->have_prev = 0;
}

static double *aa_history(const aa_work *w, int j)
{
    return w->hist + (size_t)j * (size_t)(2 * w->mem + 2) * (size_t)w->h;
}

/* Stores dF = f - f_prev, dG = g - g_prev in the next slot, then f, g as the
 * new f_prev, g_prev (one sweep), and refreshes that slot's row and column of
 * the Gram matrix (mk dot products, not mk^2). */
static void aa_push(aa_work *w, aa_col *s, double *df, double *dg, double *gram, const double *f,
                    const double *g)
{
    int h = w->h, mem = w->mem, slot = s->head;
    double *fp = dg + (size_t)mem * (size_t)h, *gp = fp + h;
    double *a = df + (size_t)slot * (size_t)h, *c = dg + (size_t)slot * (size_t)h;
    for (int i = 0; i < h; i++) {
        a[i] = f[i] - fp[i];
        c[i] = g[i] - gp[i];
        fp[i] = f[i];
        gp[i] = g[i];
    }
    s->head = (slot + 1) % mem;
    if (s->mk < mem)
        s->mk++;
    double row[IDL_EQ_MAX_MEMORY];
    cblas_dgemv(CblasColMajor, CblasTrans, h, s->mk, 1.0, df, h, a, 1, 0.0, row, 1);
    for (int i = 0; i < s->mk; i++)
        gram[slot + i * mem] = gram[i + slot * mem] = row[i];
}

/* In-place Cholesky of the k x k matrix a (lower part); false unless positive
 * definite. */
static bool cholesky(double *a, int k)
{
    for (int j = 0; j < k; j++) {
        double d = a[j + j * k];
        for (int l = 0; l < j; l++)
            d -= a[j + l * k] * a[j + l * k];
        if (!(d > 0.0))
            return false;
        d = sqrt(d);
        a[j + j * k] = d;
        for (int i = j + 1; i < k; i++) {
            double s = a[i + j * k];
            for (int l = 0; l < j; l++)
                s -= a[i + l * k] * a[j + l * k];
            a[i + j * k] = s / d;
        }
    }
    return true;
}

/* y <- (L L^T)^{-1} y for the factor from cholesky(). */
static void cholesky_solve(const double *a, int k, double *y)
{
    for (int i = 0; i < k; i++) {
        for (int l = 0; l < i; l++)
            y[i] -= a[i + l * k] * y[l];
        y[i] /= a[i + i * k];
    }
    for (int i = k - 1; i >= 0; i--) {
        for (int l = i + 1; l < k; l++)
            y[i] -= a[l + i * k] * y[l];
        y[i] /= a[i + i * k];
    }
}

/* x <- x - dG gamma, gamma = argmin ||f - dF gamma||_2 by the scaled, ridged
 * normal equations (mk is at most a few dozen, so this is cheap; the history
 * is read twice: dF^T f, then dG gamma). False when the history is degenerate. */
static bool aa_mix(const aa_work *w, const aa_col *s, const double *df, const double *dg,
                   const double *gram, const double *f, double *x)
{
    int h = w->h, mem = w->mem, k = s->mk;
    double a[IDL_EQ_MAX_MEMORY * IDL_EQ_MAX_MEMORY], y[IDL_EQ_MAX_MEMORY], sc[IDL_EQ_MAX_MEMORY];
    for (int i = 0; i < k; i++) {
        double gii = gram[i + i * mem];
        if (!(gii > 0.0) || !isfinite(gii))
            return false;
        sc[i] = 1.0 / sqrt(gii);
    }
    for (int l = 0; l < k; l++)
        for (int i = 0; i < k; i++)
            a[i + l * k] = gram[i + l * mem] * sc[i] * sc[l] + (i == l ? AA_RIDGE : 0.0);
    if (!cholesky(a, k))
        return false;
    cblas_dgemv(CblasColMajor, CblasTrans, h, k, 1.0, df, h, f, 1, 0.0, y, 1);
    for (int i = 0; i < k; i++)
        y[i] *= sc[i];
    cholesky_solve(a, k, y);
    for (int i = 0; i < k; i++)
        y[i] *= sc[i];
    cblas_dgemv(CblasColMajor, CblasNoTrans, h, k, -1.0, dg, h, y, 1, 1.0, x, 1);
    return true;
}

/* One step for column j, whose map value g = g(x) and residual norm
 * fn = ||g - x||_2 are known: type-II Anderson x <- g - dG gamma, or the plain
 * Picard step x <- g while there is no history or mixing is off. */
static void aa_column(aa_work *w, int j, const double *g, double *x, double fn)
{
    int h = w->h, mem = w->mem;
    aa_col *s = &w->cols[j];
    s->engaged = s->engaged || !(fn < AA_ENGAGE * s->prev_norm);
    if (!s->engaged) {
        s->prev_norm = fn;
        memcpy(x, g, (size_t)h * sizeof(double));
        s->xmax = max_abs(x, h);
        return;
    }
    double *df = aa_history(w, j), *dg = df + (size_t)mem * (size_t)h;
    double *fp = dg + (size_t)mem * (size_t)h, *gp = fp + h, *f = w->f;
    double *gram = w->gram + (size_t)j * (size_t)mem * (size_t)mem;
    for (int i = 0; i < h; i++)
        f[i] = g[i] - x[i];
    /* Safeguard: when the mixed iterate did not reduce the residual, restart
     * the column from it with a plain Picard step. (Going back to the previous
     * iterate instead wastes its GEMM and, measured, triples the iterations
     * on the nonnegative kappa = 0.99 family.) */
    if (s->last_mixed && !(fn < s->prev_norm))
        aa_forget(s);
    if (s->have_prev) {
        aa_push(w, s, df, dg, gram, f, g);
    } else {
        memcpy(fp, f, (size_t)h * sizeof(double));
        memcpy(gp, g, (size_t)h * sizeof(double));
        s->have_prev = 1;
    }
    s->prev_norm = fn;
    memcpy(x, g, (size_t)h * sizeof(double));
    s->last_mixed = s->mk > 0 && aa_mix(w, s, df, dg, gram, f, x);
    if (!s->last_mixed)
        aa_restart(s);
    s->xmax = max_abs(x, h);
}

/* The pass after an iteration's GEMM (z = op(D) X): measures every column's
 * residual and steps those at or above tol_abs (none when last). Columns below
 * it are not touched (their history is dropped), so the X returned is exactly
 * the one measured. Returns the largest residual, NaN once one is not finite
 * (no column is stepped after that). */
static double anderson_sweep(const fp_map *map, idl_mat *x, aa_work *w, idl_mat *z,
                             double tol_abs, bool last)
{
    double dmax = 0.0;
    bool bad = false;
    for (int j = 0; j < x->cols; j++) {
        double *xj = &IDL_AT(x, 0, j), *gj = &IDL_AT(z, 0, j), unused = 0.0, ss = 0.0;
        double c = apply_column(&IDL_AT(map->b, 0, j), column_or_null(map->mask, j), xj, gj,
                                x->rows, &unused, &ss);
        bad = bad || !isfinite(c);
        dmax = fmax(dmax, c);
        if (bad || last || c < tol_abs)
            aa_forget(&w->cols[j]);
        else
            aa_column(w, j, gj, xj, sqrt(ss));
    }
    return bad ? (double)NAN : dmax;
}

static void anderson_run(const fp_map *map, idl_mat *x, const idl_eq_opts *o, double rhs,
                         double *work, idl_eq_info *info)
{
    int h = x->rows, m = x->cols;
    aa_work w = {0};
    aa_layout(h, m, o->memory, work, &w);
    idl_mat z = idl_mat_wrap(w.z, h, m);
    memset(w.cols, 0, (size_t)m * sizeof(aa_col));
    for (int j = 0; j < m; j++) {
        w.cols[j].prev_norm = INFINITY;
        w.cols[j].xmax = max_abs(&IDL_AT(x, 0, j), h);
    }
    for (int k = 0;; k++) {
        /* max|X| before the sweep changes X: the scale of this X's residual. */
        double xmax = 0.0;
        for (int j = 0; j < m; j++)
            xmax = fmax(xmax, w.cols[j].xmax);
        double scale = scale_of(rhs, xmax);
        bool last = k >= o->max_iter;
        apply_d(map, x, &z);
        double r = anderson_sweep(map, x, &w, &z, o->tol * scale, last) / scale;
        if (r < o->tol || last || isnan(r)) {
            report(info, k, r, scale, o->tol, false);
            return;
        }
    }
}

/* ---- entry points ----------------------------------------------------- */

idl_eq_opts idl_eq_defaults(void)
{
    idl_eq_opts o = {IDL_EQ_PICARD, 1e-10, 1000, 5, 0, IDL_EQ_DOUBLE};
    return o;
}

const char *idl_eq_stop_name(idl_eq_stop stop)
{
    switch (stop) {
    case IDL_EQ_STOP_TOL:
        return "tol";
    case IDL_EQ_STOP_ABSOLUTE:
        return "absolute";
    case IDL_EQ_STOP_MAX_ITER:
        return "max_iter";
    case IDL_EQ_STOP_STEPS:
        return "steps";
    case IDL_EQ_STOP_NONFINITE:
        return "nonfinite";
    }
    return "unknown";
}

static bool opts_valid(const idl_eq_opts *o)
{
    bool single = o->precision == IDL_EQ_SINGLE;
    return o->tol >= 0.0 && o->max_iter >= 0 && o->steps >= 0 &&
           (o->precision == IDL_EQ_DOUBLE ||
            (single && o->method == IDL_EQ_PICARD &&
             (o->tol == 0.0 || o->tol >= IDL_EQ_SINGLE_MIN_TOL))) &&
           ((o->method == IDL_EQ_PICARD) ||
            (o->method == IDL_EQ_ANDERSON && o->steps == 0 && o->memory >= 1 &&
             o->memory <= IDL_EQ_MAX_MEMORY));
}

size_t idl_eq_work_size(const idl_eq_opts *opts, int h, int m)
{
    if (!opts_valid(opts) || h < 0 || m < 0)
        return 0;
    if (opts->precision == IDL_EQ_SINGLE)
        return single_layout(h, m, NULL, NULL);
    if (opts->method == IDL_EQ_PICARD)
        return (size_t)h * (size_t)m;
    return aa_layout(h, m, opts->memory, NULL, NULL);
}

static idl_status run(const fp_map *map, idl_mat *x, const idl_eq_opts *o,
                      idl_eq_method method, double *work, idl_eq_info *info)
{
    int h = map->d->rows;
    if (map->d->cols != h || x->rows != h || map->b->rows != h || map->b->cols != x->cols ||
        (map->mask && (map->mask->rows != h || map->mask->cols != x->cols)))
        return IDL_EDIM;
    idl_eq_opts eff = *o;
    eff.method = method;
    if (!opts_valid(&eff))
        return IDL_EINVAL;
    if (h == 0 || x->cols == 0) {
        report(info, 0, 0.0, DBL_MIN, INFINITY, false); /* nothing to solve */
        return IDL_OK;
    }
    double rhs = rhs_scale(map);
    if (method == IDL_EQ_PICARD && eff.precision == IDL_EQ_SINGLE)
        picard_single(map, x, &eff, rhs, work, info);
    else if (method == IDL_EQ_PICARD)
        picard_double(map, x, &eff, rhs, work, info);
    else
        anderson_run(map, x, &eff, rhs, work, info);
    return IDL_OK;
}

idl_status idl_picard(const idl_mat *d, const idl_mat *b0, idl_mat *x, const idl_eq_opts *opts,
                      double *work, idl_eq_info *info)
{
    fp_map map = {d, false, b0, NULL};
    return run(&map, x, opts, IDL_EQ_PICARD, work, info);
}

idl_status idl_anderson(const idl_mat *d, const idl_mat *b0, idl_mat *x,
                        const idl_eq_opts *opts, double *work, idl_eq_info *info)
{
    fp_map map = {d, false, b0, NULL};
    return run(&map, x, opts, IDL_EQ_ANDERSON, work, info);
}

idl_status idl_equilibrium(const idl_mat *d, const idl_mat *b0, idl_mat *x,
                           const idl_eq_opts *opts, double *work, idl_eq_info *info)
{
    fp_map map = {d, false, b0, NULL};
    return run(&map, x, opts, opts->method, work, info);
}

idl_status idl_implicit_backward(const idl_mat *d, const idl_mat *z, const idl_mat *g,
                                 idl_mat *v, const idl_eq_opts *opts, double *work,
                                 idl_eq_info *info)
{
    fp_map map = {d, true, g, z};
    return run(&map, v, opts, opts->method, work, info);
}

/* ---- well-posedness --------------------------------------------------- */

size_t idl_wellposed_work_size(int h)
{
    return h > 0 ? (size_t)h * (size_t)h + 2 * (size_t)h : 0;
}

/* Collatz-Wielandt: for any positive x, rho(A) <= max_i (A x)_i / x_i, and
 * power iteration drives that bound down to rho(A). Iterating with A + I keeps
 * x positive and makes an irreducible A primitive, so the bound converges. */
static double pf_bound(const idl_mat *d, double *work)
{
    int h = d->rows;
    idl_mat a = idl_mat_wrap(work, h, h);
    double *x = work + (size_t)h * (size_t)h, *y = x + h, hi = 0.0;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < h; i++)
            IDL_AT(&a, i, j) = fabs(IDL_AT(d, i, j));
    for (int i = 0; i < h; i++)
        x[i] = 1.0;
    for (int it = 0; it < 500; it++) {
        cblas_dgemv(CblasColMajor, CblasNoTrans, h, h, 1.0, a.data, h, x, 1, 0.0, y, 1);
        double lo = INFINITY, top = 0.0;
        hi = 0.0;
        for (int i = 0; i < h; i++) {
            double q = y[i] / x[i];
            hi = fmax(hi, q);
            lo = fmin(lo, q);
            y[i] += x[i];
            top = fmax(top, y[i]);
        }
        if (hi - lo <= 1e-12 * hi)
            break;
        /* The floor keeps x positive (and out of denormals) on reducible A. */
        for (int i = 0; i < h; i++)
            x[i] = fmax(y[i] / top, 1e-200);
    }
    return hi;
}

idl_status idl_wellposed(const idl_mat *d, bool all, double *work, idl_wellposedness *out)
{
    if (d->rows != d->cols)
        return IDL_EDIM;
    if (!idl_all_finite(d))
        return IDL_ENONFINITE;
    idl_norm(d, IDL_NORM_INF, &out->norm_inf);
    out->norm_2 = out->pf = NAN;
    if (all || !(out->norm_inf < 1.0)) {
        idl_status st = idl_norm(d, IDL_NORM_TWO, &out->norm_2);
        if (st != IDL_OK)
            return st;
        out->pf = d->rows > 0 ? pf_bound(d, work) : 0.0;
    }
    out->wellposed = out->norm_inf < 1.0 || out->norm_2 < 1.0 || out->pf < 1.0;
    return IDL_OK;
}

int idl_diagonal_blocks(const idl_mat *d, int *ends, int *reach)
{
    int h = d->rows;
    /* reach[i]: the farthest index that a nonzero entry links i to */
    for (int i = 0; i < h; i++)
        reach[i] = i;
    for (int j = 0; j < h; j++) {
        const double *col = d->data + (size_t)j * d->ld;
        for (int i = 0; i < h; i++) {
            if (col[i] == 0.0)
                continue;
            if (j > reach[i])
                reach[i] = j;
            if (i > reach[j])
                reach[j] = i;
        }
    }
    /* a range ends at t when nothing before t reaches past it */
    int count = 0, far = 0;
    for (int t = 0; t < h; t++) {
        if (reach[t] > far)
            far = reach[t];
        if (far == t)
            ends[count++] = t + 1;
    }
    return count;
}
