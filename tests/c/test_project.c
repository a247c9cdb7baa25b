/* test_project.c - projections: feasibility, idempotence, points inside left
 * alone, and optimality against an independent characterization. */
#include <lapacke.h>

#include "project.h"
#include "testutil.h"

static double row_l1(const idl_mat *d, int i)
{
    double s = 0.0;
    for (int j = 0; j < d->cols; j++)
        s += fabs(IDL_AT(d, i, j));
    return s;
}

/* The soft threshold of row i by bisection on t -> sum max(|d| - t, 0),
 * independent of the sort-based algorithm. */
static double bisect_threshold(const idl_mat *d, int i, double kappa)
{
    double lo = 0.0, hi = row_l1(d, i);
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi), s = 0.0;
        for (int j = 0; j < d->cols; j++)
            s += fmax(fabs(IDL_AT(d, i, j)) - mid, 0.0);
        if (s > kappa)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void test_inf(void)
{
    unsigned s = 2;
    idl_mat d = tu_alloc(7, 6, 2), p = tu_alloc(7, 6, 0), q = tu_alloc(7, 6, 0);
    double work[6], kappa = 0.8;
    tu_fill(&d, &s);
    for (int j = 0; j < 6; j++) /* row 0 already inside the ball */
        IDL_AT(&d, 0, j) *= 0.1;
    idl_copy(&d, &p);
    CHECK(idl_project_inf(&p, kappa, work) == IDL_OK);
    for (int i = 0; i < 7; i++) {
        CHECK(row_l1(&p, i) <= kappa + 1e-12);
        double t = i == 0 ? 0.0 : bisect_threshold(&d, i, kappa);
        for (int j = 0; j < 6; j++) {
            double x = IDL_AT(&d, i, j);
            CHECK_NEAR(IDL_AT(&p, i, j), copysign(fmax(fabs(x) - t, 0.0), x), 1e-12);
        }
    }
    for (int j = 0; j < 6; j++)
        CHECK(IDL_AT(&p, 0, j) == IDL_AT(&d, 0, j));
    idl_copy(&p, &q);
    idl_project_inf(&q, kappa, work);
    double diff;
    idl_max_abs_diff(&p, &q, &diff);
    CHECK(diff < 1e-15);
    CHECK(idl_project_inf(&q, 0.0, work) == IDL_OK);
    idl_norm(&q, IDL_NORM_MAX, &diff);
    CHECK(diff == 0.0);
    CHECK(idl_project_inf(&q, -1.0, work) == IDL_EINVAL);
    IDL_AT(&q, 3, 3) = NAN;
    CHECK(idl_project_inf(&q, 1.0, work) == IDL_ENONFINITE);
    free(d.data), free(p.data), free(q.data);
}

static double dot(const idl_mat *a, const idl_mat *b)
{
    double s = 0.0;
    for (int j = 0; j < a->cols; j++)
        for (int i = 0; i < a->rows; i++)
            s += IDL_AT(a, i, j) * IDL_AT(b, i, j);
    return s;
}

/* <D - P, Q - P> for matrices of one shape. */
static double vi(const idl_mat *d, const idl_mat *p, const idl_mat *q)
{
    return dot(d, q) - dot(d, p) - dot(p, q) + dot(p, p);
}

static void test_spectral(void)
{
    unsigned s = 4;
    int shapes[][2] = {{6, 6}, {5, 8}, {9, 3}};
    for (int t = 0; t < 3; t++) {
        int r = shapes[t][0], c = shapes[t][1];
        size_t nw;
        CHECK(idl_project_spectral_worksize(r, c, &nw) == IDL_OK);
        double *work = malloc(nw * sizeof(double));
        idl_mat d = tu_alloc(r, c, 1), p = tu_alloc(r, c, 0), q = tu_alloc(r, c, 2);
        tu_fill(&d, &s);
        idl_copy(&d, &p);
        CHECK(idl_project_spectral(&p, 0.7, work) == IDL_OK);
        double n2, diff;
        idl_norm(&p, IDL_NORM_TWO, &n2);
        CHECK(n2 <= 0.7 * (1 + 1e-12));
        idl_copy(&p, &q);
        idl_project_spectral(&q, 0.7, work);
        idl_max_abs_diff(&p, &q, &diff);
        CHECK(diff < 1e-13);
        for (int k = 0; k < 20; k++) { /* random feasible Q */
            tu_fill(&q, &s);
            idl_scale(k % 2 ? 3.0 : 0.2, &q);
            idl_project_spectral(&q, 0.7, work);
            CHECK(vi(&d, &p, &q) <= 1e-9);
        }
        idl_copy(&p, &q); /* inside (with margin): bit-for-bit unchanged */
        idl_scale(0.5, &q);
        idl_copy(&q, &d);
        idl_project_spectral(&q, 0.7, work);
        idl_max_abs_diff(&q, &d, &diff);
        CHECK(diff == 0.0);
        CHECK(idl_project_spectral(&q, -0.1, work) == IDL_EINVAL);
        free(work), free(d.data), free(p.data), free(q.data);
    }
}

/* Smallest eigenvalue of Lambda (+ A^T A) - (Lambda D + D^T Lambda) by dsyev. */
static double lmi_min_eig(const idl_mat *d, const double *lambda, const idl_mat *a)
{
    int h = d->rows;
    idl_mat m = tu_alloc(h, h, 0);
    double *w = malloc((size_t)h * sizeof(double));
    for (int j = 0; j < h; j++)
        for (int i = 0; i < h; i++) {
            double v = (i == j ? lambda[i] : 0.0) - lambda[i] * IDL_AT(d, i, j) -
                       IDL_AT(d, j, i) * lambda[j];
            for (int k = 0; a && k < a->rows; k++)
                v += IDL_AT(a, k, i) * IDL_AT(a, k, j);
            IDL_AT(&m, i, j) = v;
        }
    CHECK(LAPACKE_dsyev(LAPACK_COL_MAJOR, 'N', 'U', h, m.data, m.ld, w) == 0);
    double r = w[0];
    free(w), free(m.data);
    return r;
}

/* <D - P, Q - P> in the metric sum (lambda_i / lambda_j) X_ij Y_ij. */
static double vi_lambda(const idl_mat *d, const idl_mat *p, const idl_mat *q, const double *l)
{
    double s = 0.0;
    for (int j = 0; j < d->cols; j++)
        for (int i = 0; i < d->rows; i++)
            s += l[i] / l[j] * (IDL_AT(d, i, j) - IDL_AT(p, i, j)) *
                 (IDL_AT(q, i, j) - IDL_AT(p, i, j));
    return s;
}

static void test_lmi(void)
{
    enum { H = 6 };
    unsigned s = 9;
    double lambda[H];
    idl_mat lm = idl_mat_wrap(lambda, H, 1);
    idl_mat d = tu_alloc(H, H, 1), p = tu_alloc(H, H, 0), q = tu_alloc(H, H, 2);
    idl_mat a = tu_alloc(2, H, 1);
    size_t nw;
    CHECK(idl_project_lmi_worksize(H, &nw) == IDL_OK);
    double *work = malloc(nw * sizeof(double));
    for (int variant = 0; variant < 4; variant++) {
        const idl_mat *av = variant & 1 ? &a : NULL;
        for (int i = 0; i < H; i++) /* constant lambda, then spread over [0.1, 2] */
            lambda[i] = variant & 2 ? 0.1 + 1.9 * i / (H - 1) : 0.7;
        tu_fill(&d, &s);
        tu_fill(&a, &s);
        idl_scale(2.0, &d);
        idl_copy(&d, &p);
        CHECK(idl_project_lmi(&p, &lm, av, work) == IDL_OK);
        CHECK(lmi_min_eig(&d, lambda, av) < -1e-3); /* D was outside */
        CHECK(lmi_min_eig(&p, lambda, av) >= -1e-10);
        idl_copy(&p, &q);
        idl_project_lmi(&q, &lm, av, work);
        double diff;
        idl_max_abs_diff(&p, &q, &diff);
        CHECK(diff < 1e-12);
        for (int k = 0; k < 20; k++) {
            tu_fill(&q, &s);
            idl_scale(k % 2 ? 4.0 : 0.3, &q);
            idl_project_lmi(&q, &lm, av, work);
            CHECK(vi_lambda(&d, &p, &q, lambda) <= 1e-9);
        }
    }
    /* strictly inside (sym(D) <= 0.35 I < I/2): bit-for-bit unchanged */
    idl_fill(&d, 0.0);
    for (int i = 0; i < H; i++)
        IDL_AT(&d, i, i) = 0.3;
    IDL_AT(&d, 0, 1) = 0.05;
    idl_copy(&d, &p);
    CHECK(idl_project_lmi(&p, &lm, NULL, work) == IDL_OK);
    double diff;
    idl_max_abs_diff(&p, &d, &diff);
    CHECK(diff == 0.0);
    lambda[2] = 0.0;
    CHECK(idl_project_lmi(&p, &lm, NULL, work) == IDL_EINVAL);
    lambda[2] = 1.0;
    idl_mat wrong = tu_alloc(2, H - 1, 0);
    CHECK(idl_project_lmi(&p, &lm, &wrong, work) == IDL_EDIM);
    free(work), free(d.data), free(p.data), free(q.data), free(a.data), free(wrong.data);
}

static void test_nonneg(void)
{
    double v[] = {-1.0, 0.0, 2.0, -0.5};
    idl_mat x = idl_mat_wrap(v, 2, 2);
    idl_project_nonneg(&x);
    CHECK(v[0] == 0.0 && v[1] == 0.0 && v[2] == 2.0 && v[3] == 0.0);
}

int main(void)
{
    test_inf();
    test_spectral();
    test_lmi();
    test_nonneg();
    return tu_finish("test_project");
}
