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
    double work[7 + 8 * 6], kappa = 0.8;
    CHECK(idl_project_inf_work_size(7, 6) == 7 + 8 * 6);
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

static int descending(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a < b) - (a > b);
}

/* The sort-based soft threshold (Duchi et al. 2008), the algorithm the core
 * used before: sort |v| descending, the active entries form a prefix. */
static double sort_threshold(const double *row, int n, double kappa)
{
    double *v = malloc((size_t)n * sizeof(double)), cum = 0.0, theta = 0.0;
    for (int k = 0; k < n; k++)
        v[k] = fabs(row[k]);
    qsort(v, (size_t)n, sizeof *v, descending);
    for (int k = 0; k < n; k++) {
        cum += v[k];
        double t = (cum - kappa) / (k + 1);
        if (k > 0 && v[k] <= t)
            break;
        theta = t;
    }
    free(v);
    return theta;
}

/* One row (n entries) through idl_project_inf, against the sorted reference. */
static void check_row_vs_sort(const double *row, int n, double kappa)
{
    idl_mat d = tu_alloc(1, n, 0);
    double *work = malloc(idl_project_inf_work_size(1, n) * sizeof(double)), l1 = 0.0, big = 0.0;
    for (int k = 0; k < n; k++) {
        IDL_AT(&d, 0, k) = row[k];
        l1 += fabs(row[k]);
        big = fmax(big, fabs(row[k]));
    }
    CHECK(idl_project_inf(&d, kappa, work) == IDL_OK);
    double t = l1 <= kappa ? 0.0 : sort_threshold(row, n, kappa), worst = 0.0;
    for (int k = 0; k < n; k++) {
        double want = l1 <= kappa ? row[k] : copysign(fmax(fabs(row[k]) - t, 0.0), row[k]);
        worst = fmax(worst, fabs(IDL_AT(&d, 0, k) - want));
    }
    CHECK(worst <= 1e-13 * fmax(big, kappa));
    if (worst > 1e-13 * fmax(big, kappa))
        fprintf(stderr, "  row of %d, kappa %g: off by %g\n", n, kappa, worst);
    free(work), free(d.data);
}

/* The pivot search's threshold against the sort: random rows of many lengths, rows
 * with ties, huge entries beside small ones, a radius that vanishes in the
 * rounding of the largest entry, single entries and rows inside the ball. */
static void test_inf_vs_sort(void)
{
    unsigned s = 17;
    const int lengths[] = {1, 2, 3, 7, 31, 300};
    const double kappas[] = {1e-6, 0.3, 0.95, 5.0};
    double row[300];
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 4; b++)
            for (int rep = 0; rep < 20; rep++) {
                idl_mat r = {1, lengths[a], 1, row};
                tu_fill(&r, &s);
                if (rep % 4 == 1) /* ties: values on a grid of 5 */
                    for (int k = 0; k < lengths[a]; k++)
                        row[k] = round(row[k] * 2.0) / 2.0;
                if (rep % 4 == 2) /* heavy tails */
                    for (int k = 0; k < lengths[a]; k++)
                        row[k] = row[k] * row[k] * row[k] * 1e3;
                check_row_vs_sort(row, lengths[a], kappas[b]);
            }
    /* A strided 21 x 30 matrix (three blocks of rows, the last partial), every
     * third row inside the ball: row by row the same as the sort. */
    idl_mat m = tu_alloc(21, 30, 3), ref = tu_alloc(21, 30, 0);
    tu_fill(&m, &s);
    for (int i = 0; i < 21; i += 3)
        for (int j = 0; j < 30; j++)
            IDL_AT(&m, i, j) *= 0.01;
    idl_copy(&m, &ref);
    double *mw = malloc(idl_project_inf_work_size(21, 30) * sizeof(double)), worst = 0.0;
    CHECK(idl_project_inf(&m, 1.5, mw) == IDL_OK);
    for (int i = 0; i < 21; i++) {
        double rowv[30], l1 = 0.0;
        for (int j = 0; j < 30; j++)
            l1 += fabs(rowv[j] = IDL_AT(&ref, i, j));
        double th = l1 <= 1.5 ? 0.0 : sort_threshold(rowv, 30, 1.5);
        for (int j = 0; j < 30; j++) {
            double want = l1 <= 1.5 ? rowv[j] : copysign(fmax(fabs(rowv[j]) - th, 0.0), rowv[j]);
            worst = fmax(worst, fabs(IDL_AT(&m, i, j) - want));
            if (i % 3 == 0)
                CHECK(IDL_AT(&m, i, j) == rowv[j]);
        }
    }
    CHECK(worst < 1e-14);
    free(m.data), free(ref.data), free(mw);
    double ties[8] = {0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5};
    check_row_vs_sort(ties, 8, 1.0); /* every entry shrinks by 3/8 */
    double huge[5] = {1e300, -1e300, 3.0, 1e-300, 0.0};
    check_row_vs_sort(huge, 5, 0.5);
    check_row_vs_sort(huge, 5, 1e280);
    double one[4] = {0.0, -7.0, 0.0, 0.0};
    check_row_vs_sort(one, 4, 2.0); /* -7 -> -2 */
    double zeros[3] = {0.0, 0.0, 0.0};
    check_row_vs_sort(zeros, 3, 0.5);
    idl_mat t = tu_alloc(1, 8, 0);
    double work[1 + 8 * 8];
    for (int k = 0; k < 8; k++)
        IDL_AT(&t, 0, k) = ties[k];
    idl_project_inf(&t, 1.0, work);
    for (int k = 0; k < 8; k++)
        CHECK_NEAR(IDL_AT(&t, 0, k), copysign(0.125, ties[k]), 1e-16);
    free(t.data);
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
    test_inf_vs_sort();
    test_spectral();
    test_lmi();
    test_nonneg();
    return tu_finish("test_project");
}
