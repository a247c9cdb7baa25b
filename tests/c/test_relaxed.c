/* test_relaxed.c - the relaxed objective, its gradients and Lipschitz constants
 * against naive loops, finite differences and an SVD of the stacked data. */
#include <lapacke.h>

#include "relaxed.h"
#include "testutil.h"

/* A random problem; matrices get padded leading dimensions to exercise ld. */
typedef struct problem {
    idl_theta th;
    idl_mat x, u, y, lambda, f;
    double *wsbuf;
    idl_relaxed_ws ws;
    int h, n, p, m;
} problem;

static problem make_problem(int h, int n, int p, int m, unsigned *s)
{
    problem pb = {.h = h, .n = n, .p = p, .m = m};
    pb.th.A = tu_alloc(p, h, 1), pb.th.B = tu_alloc(p, n, 2), pb.th.c = tu_alloc(p, 1, 0);
    pb.th.D = tu_alloc(h, h, 1), pb.th.E = tu_alloc(h, n, 0), pb.th.f = tu_alloc(h, 1, 0);
    pb.x = tu_alloc(h, m, 3), pb.u = tu_alloc(n, m, 1), pb.y = tu_alloc(p, m, 0);
    pb.lambda = tu_alloc(h, 1, 0);
    pb.f = tu_alloc(h, 1, 0);
    pb.wsbuf = malloc(idl_relaxed_ws_size(h, n, p, m) * sizeof(double));
    pb.ws = idl_relaxed_ws_wrap(pb.wsbuf, h, n, p, m);
    idl_mat *all[] = {&pb.th.A, &pb.th.B, &pb.th.c, &pb.th.D, &pb.th.E,
                      &pb.th.f, &pb.x,    &pb.u,    &pb.y,    &pb.lambda};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        tu_fill(all[k], s);
    for (int j = 0; j < m; j++) /* X >= 0 as in problem (2.3) */
        for (int i = 0; i < h; i++)
            IDL_AT(&pb.x, i, j) = fabs(IDL_AT(&pb.x, i, j));
    for (int i = 0; i < h; i++) /* lambda in [0.5, 1.5] */
        pb.lambda.data[i] = 1.0 + 0.5 * pb.lambda.data[i];
    return pb;
}

static void free_problem(problem *pb)
{
    idl_mat *all[] = {&pb->th.A, &pb->th.B, &pb->th.c, &pb->th.D,   &pb->th.E, &pb->th.f,
                      &pb->x,    &pb->u,    &pb->y,    &pb->lambda, &pb->f};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]->data);
    free(pb->wsbuf);
}

static double objective(problem *pb)
{
    double g = NAN, l;
    CHECK(idl_objective(&pb->th, &pb->x, &pb->u, &pb->y, &pb->lambda, &pb->ws, &g, &l, &pb->f) ==
          IDL_OK);
    return g;
}

/* The Z block of the workspace after an objective or a forward pass. */
static idl_mat z_of(const problem *pb)
{
    return idl_mat_block(&pb->ws.rz, pb->p, 0, pb->h, pb->m);
}

/* Textbook evaluation of G, entry by entry. */
static double naive_objective(const problem *pb)
{
    const idl_theta *t = &pb->th;
    double loss = 0.0, fen = 0.0;
    for (int j = 0; j < pb->m; j++) {
        for (int i = 0; i < pb->p; i++) {
            double r = IDL_AT(&t->c, i, 0) - IDL_AT(&pb->y, i, j);
            for (int k = 0; k < pb->h; k++)
                r += IDL_AT(&t->A, i, k) * IDL_AT(&pb->x, k, j);
            for (int k = 0; k < pb->n; k++)
                r += IDL_AT(&t->B, i, k) * IDL_AT(&pb->u, k, j);
            loss += r * r;
        }
        for (int i = 0; i < pb->h; i++) {
            double z = IDL_AT(&t->f, i, 0), x = IDL_AT(&pb->x, i, j);
            for (int k = 0; k < pb->h; k++)
                z += IDL_AT(&t->D, i, k) * IDL_AT(&pb->x, k, j);
            for (int k = 0; k < pb->n; k++)
                z += IDL_AT(&t->E, i, k) * IDL_AT(&pb->u, k, j);
            fen += pb->lambda.data[i] * (0.5 * x * x + 0.5 * fmax(z, 0.0) * fmax(z, 0.0) - x * z);
        }
    }
    return (0.5 * loss + fen) / pb->m;
}

static void test_fenchel(void)
{
    unsigned s = 7;
    idl_mat x = tu_alloc(5, 9, 2), z = tu_alloc(5, 9, 1), f = tu_alloc(5, 1, 0);
    tu_fill(&x, &s);
    tu_fill(&z, &s);
    for (int pass = 0; pass < 2; pass++) {
        CHECK(idl_fenchel(&x, &z, &f) == IDL_OK);
        for (int i = 0; i < 5; i++) {
            double ref = 0.0;
            for (int j = 0; j < 9; j++) {
                double a = IDL_AT(&x, i, j), b = IDL_AT(&z, i, j);
                ref += (a * a + fmax(b, 0.0) * fmax(b, 0.0) - 2.0 * a * b) / 2.0;
            }
            CHECK_NEAR(f.data[i], ref / 9, 1e-14);
            /* pass 1 makes X >= 0, where F is a divergence */
            if (pass == 1)
                CHECK(f.data[i] >= 0.0);
        }
        for (int j = 0; j < 9; j++)
            for (int i = 0; i < 5; i++)
                IDL_AT(&x, i, j) = fabs(IDL_AT(&x, i, j));
    }
    /* F(x, z) = 0 exactly when x = (z)_+ */
    idl_relu(&z, &x);
    idl_fenchel(&x, &z, &f);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(f.data[i], 0.0, 1e-15);
    idl_mat bad = tu_alloc(5, 8, 0), empty = tu_alloc(5, 0, 0);
    CHECK(idl_fenchel(&x, &bad, &f) == IDL_EDIM);
    CHECK(idl_fenchel(&empty, &empty, &f) == IDL_EINVAL);
    free(x.data), free(z.data), free(f.data), free(bad.data), free(empty.data);
}

/* Largest relative gap between a gradient block and central differences of G
 * over each of its entries; step 1e-6 keeps Z away from its kinks below. */
static double fd_gap(problem *pb, idl_mat *var, const idl_mat *grad)
{
    double num = 0.0, den = 0.0, step = 1e-6;
    for (int j = 0; j < var->cols; j++)
        for (int i = 0; i < var->rows; i++) {
            double keep = IDL_AT(var, i, j);
            IDL_AT(var, i, j) = keep + step;
            double gp = objective(pb);
            IDL_AT(var, i, j) = keep - step;
            double gm = objective(pb);
            IDL_AT(var, i, j) = keep;
            double d = (gp - gm) / (2 * step) - IDL_AT(grad, i, j);
            num += d * d;
            den += IDL_AT(grad, i, j) * IDL_AT(grad, i, j);
        }
    return sqrt(num / fmax(den, 1e-30));
}

/* min |Z| after the last objective evaluation. */
static double z_min_abs(const problem *pb)
{
    idl_mat z = z_of(pb);
    double r = INFINITY;
    for (int j = 0; j < z.cols; j++)
        for (int i = 0; i < z.rows; i++)
            r = fmin(r, fabs(IDL_AT(&z, i, j)));
    return r;
}

static void test_gradients(void)
{
    int shapes[][4] = {{3, 2, 1, 5}, {5, 3, 2, 7}, {4, 1, 3, 6}, {1, 2, 1, 4}};
    unsigned s = 11;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int h = shapes[t][0], n = shapes[t][1], p = shapes[t][2], m = shapes[t][3];
        problem pb = make_problem(h, n, p, m, &s);
        /* Redraw until Z keeps clear of the kink of (z)_+ for the differences. */
        while (objective(&pb), z_min_abs(&pb) < 1e-3) {
            free_problem(&pb);
            pb = make_problem(h, n, p, m, &s);
        }
        double g = objective(&pb);
        CHECK_NEAR(g, naive_objective(&pb), 1e-13 * (1 + fabs(g)));
        idl_theta gr = {tu_alloc(p, h, 0), tu_alloc(p, n, 1), tu_alloc(p, 1, 0),
                        tu_alloc(h, h, 2), tu_alloc(h, n, 0), tu_alloc(h, 1, 0)};
        idl_mat gx = tu_alloc(h, m, 1), gx2 = tu_alloc(h, m, 0);
        CHECK(idl_gradients(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda, &pb.ws, &gr, &gx) == IDL_OK);
        idl_mat *vars[] = {&pb.th.A, &pb.th.B, &pb.th.c, &pb.th.D, &pb.th.E, &pb.th.f, &pb.x};
        idl_mat *grads[] = {&gr.A, &gr.B, &gr.c, &gr.D, &gr.E, &gr.f, &gx};
        for (int k = 0; k < 7; k++)
            CHECK(fd_gap(&pb, vars[k], grads[k]) < 1e-6);
        /* Skipping the theta blocks leaves the X block as it was. */
        CHECK(idl_gradients(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda, &pb.ws, NULL, &gx2) == IDL_OK);
        double d;
        idl_max_abs_diff(&gx, &gx2, &d);
        CHECK(d == 0.0);
        free(gr.A.data), free(gr.B.data), free(gr.c.data), free(gr.D.data), free(gr.E.data);
        free(gr.f.data), free(gx.data), free(gx2.data);
        free_problem(&pb);
    }
}

/* ||S||_2^2 for S = [X; U; 1^T] by an SVD of the explicit stack. */
static double stacked_norm2(const problem *pb)
{
    int q = pb->h + pb->n + 1, k = q < pb->m ? q : pb->m;
    idl_mat st = tu_alloc(q, pb->m, 0);
    double *sv = malloc((size_t)k * sizeof(double));
    for (int j = 0; j < pb->m; j++) {
        for (int i = 0; i < pb->h; i++)
            IDL_AT(&st, i, j) = IDL_AT(&pb->x, i, j);
        for (int i = 0; i < pb->n; i++)
            IDL_AT(&st, pb->h + i, j) = IDL_AT(&pb->u, i, j);
        IDL_AT(&st, q - 1, j) = 1.0;
    }
    CHECK(LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', q, pb->m, st.data, st.ld, sv, NULL, 1, NULL, 1) ==
          0);
    double r = sv[0] * sv[0];
    free(sv), free(st.data);
    return r;
}

static double lmax_of(const idl_mat *lambda)
{
    double r = 0.0;
    for (int i = 0; i < lambda->rows; i++)
        r = fmax(r, fabs(lambda->data[i]));
    return r;
}

/* (||A^T A + Lambda - Lambda D - D^T Lambda||_2 + lmax ||D||_2^2) / m, full
 * matrices formed by loops, norms by SVD. */
static double x_constant(const problem *pb)
{
    int h = pb->h;
    idl_mat mm = tu_alloc(h, h, 0);
    const idl_mat *a = &pb->th.A, *d = &pb->th.D;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < h; i++) {
            double v = (i == j) ? pb->lambda.data[i] : 0.0;
            for (int k = 0; k < pb->p; k++)
                v += IDL_AT(a, k, i) * IDL_AT(a, k, j);
            IDL_AT(&mm, i, j) =
                v - pb->lambda.data[i] * IDL_AT(d, i, j) - IDL_AT(d, j, i) * pb->lambda.data[j];
        }
    double nm, nd;
    idl_norm(&mm, IDL_NORM_TWO, &nm);
    idl_norm(d, IDL_NORM_TWO, &nd);
    free(mm.data);
    return (nm + lmax_of(&pb->lambda) * nd * nd) / pb->m;
}

static void test_lipschitz(void)
{
    int shapes[][4] = {{3, 2, 1, 5}, {6, 3, 2, 40}, {4, 1, 3, 2}};
    unsigned s = 5;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        problem pb = make_problem(shapes[t][0], shapes[t][1], shapes[t][2], shapes[t][3], &s);
        size_t nw;
        CHECK(idl_lipschitz_worksize(pb.h, pb.n, &nw) == IDL_OK);
        double *work = malloc(nw * sizeof(double));
        idl_lipschitz_consts c;
        CHECK(idl_lipschitz(&pb.th, &pb.x, &pb.u, &pb.lambda, work, &c) == IDL_OK);
        double s2 = stacked_norm2(&pb);
        CHECK_NEAR(c.theta1, s2 / pb.m, 1e-12 * s2);
        CHECK_NEAR(c.theta2, lmax_of(&pb.lambda) * s2 / pb.m, 1e-12 * s2);
        CHECK_NEAR(c.x, x_constant(&pb), 1e-12 * (1 + c.x));
        idl_mat empty = tu_alloc(pb.h, 0, 0), u0 = tu_alloc(pb.n, 0, 0);
        CHECK(idl_lipschitz(&pb.th, &empty, &u0, &pb.lambda, work, &c) == IDL_EINVAL);
        CHECK(idl_lipschitz(&pb.th, &pb.x, &pb.u, &pb.th.f, work, &c) == IDL_OK && c.theta2 >= 0.0);
        free(empty.data), free(u0.data), free(work);
        free_problem(&pb);
    }
}

/* Entry (i, j) of A and D scaled by 1 + eps (1, 0, -1 as (i + j) mod 3),
 * lambda by 1 + eps: a move of A, D and lambda of relative size eps. */
static void move_x_block(problem *pb, double eps)
{
    idl_mat *blk[] = {&pb->th.A, &pb->th.D};
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < blk[k]->cols; j++)
            for (int i = 0; i < blk[k]->rows; i++)
                IDL_AT(blk[k], i, j) *= 1.0 + eps * (1 - (i + j) % 3);
    for (int i = 0; i < pb->h; i++)
        pb->lambda.data[i] *= 1.0 + eps;
}

/* The carried X-block constant: without a reference exact (idl_lipschitz_x's
 * value); at the same theta the bound equals it; after a small move of A, D
 * and lambda it bounds the new exact constant within the slack, without an
 * eigenvalue problem; after a large move it is exact again. */
static void test_lipschitz_carried(void)
{
    unsigned s = 29;
    problem pb = make_problem(5, 2, 2, 7, &s);
    int h = pb.h, n = pb.n, m = pb.m;
    size_t nw;
    CHECK(idl_lipschitz_worksize(h, n, &nw) == IDL_OK);
    double *work = malloc(nw * sizeof(double));
    idl_lipschitz_x_ref ref = {tu_alloc(h, h, 1), tu_alloc(h, h, 0), -1.0, 0.0};
    idl_lipschitz_consts exact, c;
    bool is_exact = false;
    CHECK(idl_lipschitz_x(&pb.th, &pb.lambda, n, m, work, &exact) == IDL_OK);
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 1.1, work, &ref, &c, &is_exact) ==
          IDL_OK);
    CHECK(is_exact && c.x == exact.x && ref.mu > 0.0 && ref.delta > 0.0);
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 1.1, work, &ref, &c, &is_exact) ==
          IDL_OK);
    CHECK(!is_exact);
    CHECK_NEAR(c.x, exact.x, 1e-12 * exact.x);
    /* A alone grows (D and lambda stay): only ||M - M_ref|| covers the growth */
    double before = exact.x;
    idl_scale(1.0 + 1e-3, &pb.th.A);
    CHECK(idl_lipschitz_x(&pb.th, &pb.lambda, n, m, work, &exact) == IDL_OK);
    CHECK(exact.x > before * (1 + 1e-4));
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 1.1, work, &ref, &c, &is_exact) ==
          IDL_OK);
    CHECK(!is_exact && c.x >= exact.x * (1 - 1e-12) && c.x <= 1.1 * exact.x);
    /* then D and lambda too: only ||D - D_ref|| and the current lambda cover them */
    move_x_block(&pb, 1e-3);
    CHECK(idl_lipschitz_x(&pb.th, &pb.lambda, n, m, work, &exact) == IDL_OK);
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 1.1, work, &ref, &c, &is_exact) ==
          IDL_OK);
    CHECK(!is_exact && c.x >= exact.x * (1 - 1e-12) && c.x <= 1.1 * exact.x);
    CHECK(c.x > exact.x * (1 + 1e-6)); /* a bound, not the exact value */
    move_x_block(&pb, 0.5);
    CHECK(idl_lipschitz_x(&pb.th, &pb.lambda, n, m, work, &exact) == IDL_OK);
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 1.1, work, &ref, &c, &is_exact) ==
          IDL_OK);
    CHECK(is_exact && c.x == exact.x);
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 0.9, work, &ref, &c, &is_exact) ==
          IDL_EINVAL);
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, NAN, work, &ref, &c, &is_exact) ==
          IDL_EINVAL);
    ref.d.cols = h - 1;
    CHECK(idl_lipschitz_x_carried(&pb.th, &pb.lambda, n, m, 1.1, work, &ref, &c, &is_exact) ==
          IDL_EDIM);
    free(work), free(ref.m.data), free(ref.d.data);
    free_problem(&pb);
}

/* The projected X step against the textbook max(x - step g, 0) and the
 * norm of g summed entry by entry. */
static void test_x_update(void)
{
    unsigned s = 31;
    int h = 4, m = 6;
    idl_mat x = tu_alloc(h, m, 2), g = tu_alloc(h, m, 1), x0 = tu_alloc(h, m, 0);
    tu_fill(&x, &s);
    tu_fill(&g, &s);
    idl_copy(&x, &x0);
    double norm = -1.0, want = 0.0, step = 0.7;
    CHECK(idl_relaxed_x_update(&x, &g, step, &norm) == IDL_OK);
    int zeros = 0;
    for (int j = 0; j < m; j++)
        for (int i = 0; i < h; i++) {
            double z = IDL_AT(&x0, i, j) - step * IDL_AT(&g, i, j);
            CHECK(IDL_AT(&x, i, j) == fmax(z, 0.0));
            zeros += z < 0.0;
            want += IDL_AT(&g, i, j) * IDL_AT(&g, i, j);
        }
    CHECK(zeros > 0 && zeros < h * m); /* both sides of the projection were exercised */
    CHECK_NEAR(norm, sqrt(want), 1e-14 * sqrt(want));
    CHECK(idl_relaxed_x_update(&x, &g, NAN, &norm) == IDL_EINVAL);
    g.cols = m - 1;
    CHECK(idl_relaxed_x_update(&x, &g, step, &norm) == IDL_EDIM);
    free(x.data), free(g.data), free(x0.data);
}

static void test_dual_update(void)
{
    double l[] = {1.0, 2.0, 3.0, 4.0}, f[] = {0.5, 0.05, 0.1, 2.0};
    idl_mat lm = idl_mat_wrap(l, 4, 1), fm = idl_mat_wrap(f, 4, 1);
    CHECK(idl_dual_update(&lm, &fm, 0.1, 0.1) == IDL_OK);
    /* components with F >= 0.1 move by 0.1 F; F = 0.05 stays */
    CHECK_NEAR(l[0], 1.05, 1e-15);
    CHECK(l[1] == 2.0);
    CHECK_NEAR(l[2], 3.01, 1e-15);
    CHECK_NEAR(l[3], 4.2, 1e-15);
    idl_mat short_f = idl_mat_wrap(f, 3, 1);
    CHECK(idl_dual_update(&lm, &short_f, 0.1, 0.1) == IDL_EDIM);
}

static void test_bad_shapes(void)
{
    unsigned s = 3;
    problem pb = make_problem(3, 2, 2, 4, &s);
    double g, l;
    idl_mat keep = pb.th.E;
    pb.th.E.cols = 1; /* E is now 3x1 against n = 2 */
    CHECK(idl_objective(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda, &pb.ws, &g, &l, &pb.f) ==
          IDL_EDIM);
    pb.th.E = keep;
    idl_relaxed_ws small = pb.ws;
    small.rz.cols = 3; /* m = 4 columns needed */
    CHECK(idl_gradients(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda, &small, NULL, NULL) == IDL_EDIM);
    CHECK(idl_relaxed_check(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda) == IDL_OK);
    free_problem(&pb);
}

/* The split kernels (forward, then value or grads) against the composed ones
 * and against a textbook residual; the halves of idl_lipschitz against it. */
static void test_split(void)
{
    unsigned s = 17;
    problem pb = make_problem(4, 3, 2, 9, &s);
    int h = pb.h, n = pb.n, p = pb.p, m = pb.m;
    double g, l;
    CHECK(idl_objective(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda, &pb.ws, &g, &l, &pb.f) == IDL_OK);
    idl_mat f2 = tu_alloc(h, 1, 0);
    idl_relaxed_values v;
    CHECK(idl_relaxed_forward(&pb.th, &pb.x, &pb.u, &pb.y, &pb.ws) == IDL_OK);
    CHECK(idl_relaxed_value(&pb.x, &pb.lambda, &pb.ws, &v, &f2) == IDL_OK);
    CHECK(v.g == g && v.l == l);
    double res = 0.0;
    idl_mat z = z_of(&pb);
    for (int j = 0; j < m; j++)
        for (int i = 0; i < h; i++) {
            double d = fmax(IDL_AT(&z, i, j), 0.0) - IDL_AT(&pb.x, i, j);
            res += d * d;
        }
    CHECK_NEAR(v.residual, sqrt(res), 1e-13 * (1 + sqrt(res)));
    idl_theta g1 = {tu_alloc(p, h, 0), tu_alloc(p, n, 0), tu_alloc(p, 1, 0),
                    tu_alloc(h, h, 0), tu_alloc(h, n, 0), tu_alloc(h, 1, 0)};
    idl_theta g2 = {tu_alloc(p, h, 1), tu_alloc(p, n, 0), tu_alloc(p, 1, 0),
                    tu_alloc(h, h, 0), tu_alloc(h, n, 2), tu_alloc(h, 1, 0)};
    idl_mat gx1 = tu_alloc(h, m, 0), gx2 = tu_alloc(h, m, 1);
    CHECK(idl_gradients(&pb.th, &pb.x, &pb.u, &pb.y, &pb.lambda, &pb.ws, &g1, &gx1) == IDL_OK);
    CHECK(idl_relaxed_forward(&pb.th, &pb.x, &pb.u, &pb.y, &pb.ws) == IDL_OK);
    CHECK(idl_relaxed_grads(&pb.x, &pb.lambda, &pb.ws, &g2, &gx2) == IDL_OK);
    idl_mat *a[] = {&g1.A, &g1.B, &g1.c, &g1.D, &g1.E, &g1.f, &gx1};
    idl_mat *b[] = {&g2.A, &g2.B, &g2.c, &g2.D, &g2.E, &g2.f, &gx2};
    for (int k = 0; k < 7; k++) {
        double d;
        idl_max_abs_diff(a[k], b[k], &d);
        CHECK(d == 0.0);
        free(a[k]->data), free(b[k]->data);
    }
    CHECK(idl_relaxed_grads(&pb.x, &pb.th.f, &pb.ws, NULL, &f2) == IDL_EDIM); /* gx 4x1 */
    size_t nw;
    CHECK(idl_lipschitz_worksize(h, n, &nw) == IDL_OK);
    double *work = malloc(nw * sizeof(double));
    idl_lipschitz_consts all, half = {0};
    CHECK(idl_lipschitz(&pb.th, &pb.x, &pb.u, &pb.lambda, work, &all) == IDL_OK);
    CHECK(idl_lipschitz_theta(&pb.x, &pb.u, &pb.lambda, work, &half) == IDL_OK);
    CHECK(idl_lipschitz_x(&pb.th, &pb.lambda, n, m, work, &half) == IDL_OK);
    CHECK(half.theta1 == all.theta1 && half.theta2 == all.theta2 && half.x == all.x);
    CHECK(idl_lipschitz_x(&pb.th, &pb.lambda, n, 0, work, &half) == IDL_EINVAL);
    free(work), free(f2.data);
    free_problem(&pb);
}

/* The ridge of feature k (row k of [X; U]) in the readout: ridge_rel times
 * its centred sum of squares plus the floor (relaxed.h). */
static void readout_ridges(const problem *pb, double ridge_rel, double *ridge)
{
    int h = pb->h, q = pb->h + pb->n, m = pb->m;
    double trace = 0.0;
    for (int k = 0; k < q; k++) {
        const idl_mat *z = k < h ? &pb->x : &pb->u;
        int row = k < h ? k : k - h;
        double mean = 0.0, ss = 0.0;
        for (int j = 0; j < m; j++)
            mean += IDL_AT(z, row, j) / m;
        for (int j = 0; j < m; j++)
            ss += (IDL_AT(z, row, j) - mean) * (IDL_AT(z, row, j) - mean);
        ridge[k] = ss;
        trace += ss;
    }
    for (int k = 0; k < q; k++)
        ridge[k] = ridge_rel * (ridge[k] + 1e-12 * trace / q);
}

/* The readout satisfies its optimality conditions: R 1 = 0 (c is not
 * penalized) and R Z^T + [A B] diag(ridge_k) = 0 (R = A X + B U + c 1^T - Y,
 * Z = [X; U]) with the documented ridge of each feature. */
static void test_readout(void)
{
    unsigned s = 23;
    problem pb = make_problem(5, 3, 2, 30, &s);
    int h = pb.h, n = pb.n, p = pb.p, m = pb.m, q = h + n;
    double *work = malloc(idl_readout_worksize(h, n, p, m) * sizeof(double));
    double ridge_rel = 1e-2, ridge[8];
    CHECK(idl_readout(&pb.x, &pb.u, &pb.y, ridge_rel, work, &pb.th.A, &pb.th.B, &pb.th.c) ==
          IDL_OK);
    readout_ridges(&pb, ridge_rel, ridge);
    double worst = 0.0, scale = 0.0, sum_worst = 0.0, y_scale = 0.0;
    for (int r = 0; r < p; r++) {
        double rsum = 0.0;
        for (int k = 0; k <= q; k++) {
            double gk = 0.0;
            for (int j = 0; j < m; j++) {
                double res = IDL_AT(&pb.th.c, r, 0) - IDL_AT(&pb.y, r, j), sk;
                for (int i = 0; i < h; i++)
                    res += IDL_AT(&pb.th.A, r, i) * IDL_AT(&pb.x, i, j);
                for (int i = 0; i < n; i++)
                    res += IDL_AT(&pb.th.B, r, i) * IDL_AT(&pb.u, i, j);
                sk = k < h ? IDL_AT(&pb.x, k, j) : k < q ? IDL_AT(&pb.u, k - h, j) : 1.0;
                gk += res * sk;
                y_scale = fmax(y_scale, fabs(IDL_AT(&pb.y, r, j)));
            }
            if (k == q) {
                rsum = gk;
                continue;
            }
            double w = k < h ? IDL_AT(&pb.th.A, r, k) : IDL_AT(&pb.th.B, r, k - h);
            worst = fmax(worst, fabs(gk + ridge[k] * w));
            scale = fmax(scale, fabs(ridge[k] * w));
        }
        sum_worst = fmax(sum_worst, fabs(rsum));
    }
    CHECK(scale > 1e-6);                    /* the ridge term is not negligible here */
    CHECK(worst <= 1e-10 * scale);          /* and the conditions hold to rounding */
    CHECK(sum_worst <= 1e-12 * m * y_scale); /* the residuals sum to zero: c unpenalized */
    CHECK(idl_readout(&pb.x, &pb.u, &pb.y, 0.0, work, &pb.th.A, &pb.th.B, &pb.th.c) == IDL_EINVAL);
    CHECK(idl_readout(&pb.x, &pb.u, &pb.y, 1e-8, work, &pb.th.B, &pb.th.B, &pb.th.c) == IDL_EDIM);
    IDL_AT(&pb.y, 0, 3) = NAN;
    CHECK(idl_readout(&pb.x, &pb.u, &pb.y, 1e-8, work, &pb.th.A, &pb.th.B, &pb.th.c) ==
          IDL_ENONFINITE);
    free(work);
    free_problem(&pb);
}

/* Sample i's squared leave-one-out error (summed over outputs), brute force:
 * the ridge least squares on [X; U; 1] without sample i (ridge[k] on feature
 * k, none on the intercept), normal equations solved by dposv, then the
 * residual of sample i. */
static double brute_loo_sample(const problem *pb, const double *ridge, int i)
{
    int h = pb->h, q = pb->h + pb->n, p = pb->p, m = pb->m, r = q + 1;
    double *g = calloc((size_t)r * r, sizeof(double)), *rhs = calloc((size_t)r * p, sizeof(double));
    double *s = malloc((size_t)r * sizeof(double));
    for (int j = 0; j < m; j++) {
        if (j == i)
            continue;
        for (int k = 0; k < r; k++)
            s[k] = k < h ? IDL_AT(&pb->x, k, j) : k < q ? IDL_AT(&pb->u, k - h, j) : 1.0;
        for (int a = 0; a < r; a++) {
            for (int b = 0; b < r; b++)
                g[a + b * r] += s[a] * s[b];
            for (int o = 0; o < p; o++)
                rhs[a + o * r] += s[a] * IDL_AT(&pb->y, o, j);
        }
    }
    for (int k = 0; k < q; k++)
        g[k + k * r] += ridge[k];
    CHECK(LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', r, p, g, r, rhs, r) == 0);
    for (int k = 0; k < r; k++)
        s[k] = k < h ? IDL_AT(&pb->x, k, i) : k < q ? IDL_AT(&pb->u, k - h, i) : 1.0;
    double err = 0.0;
    for (int o = 0; o < p; o++) {
        double e = -IDL_AT(&pb->y, o, i);
        for (int k = 0; k < r; k++)
            e += rhs[k + o * r] * s[k];
        err += e * e;
    }
    free(g), free(rhs), free(s);
    return err;
}

/* idl_readout_loo: each LOO error equals the brute-force refits' mean squared
 * error (the penalties fixed by all samples, as documented), the chosen ridge
 * is the least of them (here inside the grid: Y depends on the features plus
 * noise), and (A, B, c) is idl_readout's fit at that ridge. */
static void test_readout_loo(void)
{
    unsigned s = 41;
    problem pb = make_problem(5, 3, 2, 30, &s);
    int h = pb.h, n = pb.n, p = pb.p, m = pb.m;
    for (int j = 0; j < m; j++) /* Y = 0.3 (x_1 + u_1 - u_2) + noise */
        for (int o = 0; o < p; o++)
            IDL_AT(&pb.y, o, j) = 0.3 * (IDL_AT(&pb.x, 0, j) + IDL_AT(&pb.u, 0, j) -
                                         IDL_AT(&pb.u, 1, j)) + 0.5 * IDL_AT(&pb.y, o, j);
    enum { NG = 13 };
    double grid[NG], loo[NG], ridge[8];
    for (int g = 0; g < NG; g++)
        grid[g] = pow(10.0, -4.0 + 0.5 * g);
    size_t nw;
    CHECK(idl_readout_loo_worksize(h, n, p, m, &nw) == IDL_OK);
    double *work = malloc(nw * sizeof(double));
    int best = -1;
    CHECK(idl_readout_loo(&pb.x, &pb.u, &pb.y, grid, NG, work, &pb.th.A, &pb.th.B, &pb.th.c, loo,
                          &best) == IDL_OK);
    for (int g = 0; g < NG; g++) {
        readout_ridges(&pb, grid[g], ridge);
        double brute = 0.0;
        for (int i = 0; i < m; i++)
            brute += brute_loo_sample(&pb, ridge, i) / m;
        CHECK_NEAR(loo[g], brute, 1e-9 * brute);
        CHECK(loo[g] >= loo[best]);
    }
    CHECK(best > 0 && best < NG - 1);
    idl_mat a = tu_alloc(p, h, 0), b = tu_alloc(p, n, 1), c = tu_alloc(p, 1, 0);
    double *rwork = malloc(idl_readout_worksize(h, n, p, m) * sizeof(double));
    CHECK(idl_readout(&pb.x, &pb.u, &pb.y, grid[best], rwork, &a, &b, &c) == IDL_OK);
    double diff = 0.0;
    idl_max_abs_diff(&a, &pb.th.A, &diff);
    CHECK(diff <= 1e-10);
    idl_max_abs_diff(&b, &pb.th.B, &diff);
    CHECK(diff <= 1e-10);
    idl_max_abs_diff(&c, &pb.th.c, &diff);
    CHECK(diff <= 1e-10);
    double bad[2] = {1e-2, 0.0};
    CHECK(idl_readout_loo(&pb.x, &pb.u, &pb.y, bad, 2, work, &a, &b, &c, NULL, &best) == IDL_EINVAL);
    CHECK(idl_readout_loo(&pb.x, &pb.u, &pb.y, grid, 0, work, &a, &b, &c, NULL, &best) == IDL_EINVAL);
    CHECK(idl_readout_loo(&pb.x, &pb.u, &pb.y, grid, NG, work, &b, &b, &c, NULL, &best) == IDL_EDIM);
    idl_mat x1 = idl_mat_block(&pb.x, 0, 0, h, 1), u1 = idl_mat_block(&pb.u, 0, 0, n, 1);
    idl_mat y1 = idl_mat_block(&pb.y, 0, 0, p, 1);
    CHECK(idl_readout_loo(&x1, &u1, &y1, grid, NG, work, &a, &b, &c, NULL, &best) == IDL_EINVAL);
    IDL_AT(&pb.u, 1, 4) = INFINITY;
    CHECK(idl_readout_loo(&pb.x, &pb.u, &pb.y, grid, NG, work, &a, &b, &c, NULL, &best) ==
          IDL_ENONFINITE);
    free(a.data), free(b.data), free(c.data), free(rwork), free(work);
    free_problem(&pb);
}

int main(void)
{
    test_fenchel();
    test_gradients();
    test_lipschitz();
    test_lipschitz_carried();
    test_x_update();
    test_split();
    test_readout();
    test_readout_loo();
    test_dual_update();
    test_bad_shapes();
    return tu_finish("test_relaxed");
}
