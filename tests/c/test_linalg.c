/* test_linalg.c - least squares and square solves against their defining
 * equations (normal equations, exact recovery, minimum norm), by naive loops. */
#include "linalg.h"
#include "testutil.h"

/* max |A^T (A X - B) + ridge X|: zero exactly at the (ridge) least-squares solution. */
static double normal_residual(const idl_mat *a, const idl_mat *b, const idl_mat *x, double ridge)
{
    double worst = 0.0;
    for (int c = 0; c < b->cols; c++)
        for (int j = 0; j < a->cols; j++) {
            double s = ridge * IDL_AT(x, j, c);
            for (int i = 0; i < a->rows; i++) {
                double r = -IDL_AT(b, i, c);
                for (int l = 0; l < a->cols; l++)
                    r += IDL_AT(a, i, l) * IDL_AT(x, l, c);
                s += IDL_AT(a, i, j) * r;
            }
            if (fabs(s) > worst)
                worst = fabs(s);
        }
    return worst;
}

/* B = A X by loops. */
static void naive_mul(const idl_mat *a, const idl_mat *x, idl_mat *b)
{
    for (int i = 0; i < a->rows; i++)
        for (int c = 0; c < x->cols; c++) {
            double s = 0.0;
            for (int l = 0; l < a->cols; l++)
                s += IDL_AT(a, i, l) * IDL_AT(x, l, c);
            IDL_AT(b, i, c) = s;
        }
}

static void test_overdetermined(void)
{
    unsigned s = 3;
    idl_mat a = tu_alloc(40, 6, 3), b = tu_alloc(40, 2, 1), x = tu_alloc(6, 2, 2);
    tu_fill(&a, &s);
    tu_fill(&b, &s);
    int rank = -1;
    CHECK(idl_lstsq(&a, &b, 0.0, &x, &rank) == IDL_OK);
    CHECK(rank == 6);
    CHECK(normal_residual(&a, &b, &x, 0.0) < 1e-12);
    CHECK(idl_lstsq(&a, &b, 0.3, &x, &rank) == IDL_OK);
    CHECK(normal_residual(&a, &b, &x, 0.3) < 1e-12);

    /* A consistent system is solved exactly: B = A X0 gives back X0. */
    idl_mat x0 = tu_alloc(6, 2, 0);
    tu_fill(&x0, &s);
    naive_mul(&a, &x0, &b);
    CHECK(idl_lstsq(&a, &b, 0.0, &x, NULL) == IDL_OK);
    double d;
    idl_max_abs_diff(&x, &x0, &d);
    CHECK(d < 1e-12);
    CHECK(idl_lstsq(&a, &b, 1e-10, &x, NULL) == IDL_OK);
    idl_max_abs_diff(&x, &x0, &d);
    CHECK(d < 1e-8);
    free(a.data), free(b.data), free(x.data), free(x0.data);
}

static void test_rank_deficient(void)
{
    unsigned s = 11;
    /* Column 2 is zero and column 3 repeats column 1: rank 2 of 4. */
    idl_mat a = tu_alloc(20, 4, 0), b = tu_alloc(20, 1, 0), x = tu_alloc(4, 1, 0);
    tu_fill(&a, &s);
    tu_fill(&b, &s);
    for (int i = 0; i < 20; i++) {
        IDL_AT(&a, i, 1) = 0.0;
        IDL_AT(&a, i, 2) = IDL_AT(&a, i, 0);
    }
    int rank = -1;
    CHECK(idl_lstsq(&a, &b, 0.0, &x, &rank) == IDL_OK);
    CHECK(rank == 2);
    CHECK(normal_residual(&a, &b, &x, 0.0) < 1e-12);
    /* Minimum norm: nothing on the zero column, the duplicate pair shares equally. */
    CHECK_NEAR(IDL_AT(&x, 1, 0), 0.0, 1e-12);
    CHECK_NEAR(IDL_AT(&x, 0, 0), IDL_AT(&x, 2, 0), 1e-12);
    /* The Cholesky path needs a ridge here, and gets there with one. */
    CHECK(idl_lstsq(&a, &b, 0.0 + 1e-3, &x, NULL) == IDL_OK);
    CHECK(normal_residual(&a, &b, &x, 1e-3) < 1e-12);
    free(a.data), free(b.data), free(x.data);
}

static void test_underdetermined(void)
{
    unsigned s = 5;
    /* Two equations, three unknowns: A X = B exactly and X is orthogonal to
     * the null vector n = row1 x row2. */
    idl_mat a = tu_alloc(2, 3, 1), b = tu_alloc(2, 1, 0), x = tu_alloc(3, 1, 0), ax = tu_alloc(2, 1, 0);
    tu_fill(&a, &s);
    tu_fill(&b, &s);
    CHECK(idl_lstsq(&a, &b, 0.0, &x, NULL) == IDL_OK);
    naive_mul(&a, &x, &ax);
    double d;
    idl_max_abs_diff(&ax, &b, &d);
    CHECK(d < 1e-12);
    double r1[3], r2[3];
    for (int j = 0; j < 3; j++)
        r1[j] = IDL_AT(&a, 0, j), r2[j] = IDL_AT(&a, 1, j);
    double n[3] = {r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2],
                   r1[0] * r2[1] - r1[1] * r2[0]};
    CHECK_NEAR(n[0] * IDL_AT(&x, 0, 0) + n[1] * IDL_AT(&x, 1, 0) + n[2] * IDL_AT(&x, 2, 0), 0.0,
               1e-12);
    free(a.data), free(b.data), free(x.data), free(ax.data);
}

static void test_solve(void)
{
    unsigned s = 9;
    idl_mat a = tu_alloc(7, 7, 2), b = tu_alloc(7, 3, 1), x = tu_alloc(7, 3, 0), ax = tu_alloc(7, 3, 0);
    tu_fill(&a, &s);
    tu_fill(&b, &s);
    for (int i = 0; i < 7; i++)
        IDL_AT(&a, i, i) += 4.0; /* diagonally dominant: well conditioned */
    CHECK(idl_solve(&a, &b, &x) == IDL_OK);
    naive_mul(&a, &x, &ax);
    double d;
    idl_max_abs_diff(&ax, &b, &d);
    CHECK(d < 1e-13);
    for (int i = 0; i < 7; i++)
        IDL_AT(&a, i, 4) = 0.0;
    CHECK(idl_solve(&a, &b, &x) == IDL_ELAPACK);
    free(a.data), free(b.data), free(x.data), free(ax.data);
}

static void test_errors(void)
{
    idl_mat a = tu_alloc(5, 3, 0), b = tu_alloc(5, 2, 0), x = tu_alloc(3, 2, 0);
    idl_mat wrong = tu_alloc(4, 2, 0), sq = tu_alloc(3, 3, 0);
    idl_fill(&a, 1.0);
    idl_fill(&b, 1.0);
    CHECK(idl_lstsq(&a, &wrong, 0.0, &x, NULL) == IDL_EDIM);
    CHECK(idl_lstsq(&a, &b, 0.0, &wrong, NULL) == IDL_EDIM);
    CHECK(idl_lstsq(&a, &b, -1.0, &x, NULL) == IDL_EINVAL);
    CHECK(idl_lstsq(&a, &b, NAN, &x, NULL) == IDL_EINVAL);
    /* Rank one A^T A without a ridge large enough: Cholesky must fail loudly. */
    CHECK(idl_lstsq(&a, &b, 1e-300, &x, NULL) == IDL_ELAPACK);
    IDL_AT(&b, 2, 1) = INFINITY;
    CHECK(idl_lstsq(&a, &b, 0.0, &x, NULL) == IDL_ENONFINITE);
    CHECK(idl_solve(&a, &b, &x) == IDL_EDIM);
    idl_mat rhs = tu_alloc(3, 2, 0), out = tu_alloc(3, 2, 0);
    CHECK(idl_solve(&sq, &rhs, &out) == IDL_ELAPACK); /* the zero matrix is singular */
    CHECK(idl_solve(&sq, &rhs, &wrong) == IDL_EDIM);
    IDL_AT(&sq, 0, 0) = NAN;
    CHECK(idl_solve(&sq, &rhs, &out) == IDL_ENONFINITE);
    free(rhs.data), free(out.data);
    /* Empty systems are fine: no equations give the zero solution. */
    idl_mat e = tu_alloc(0, 3, 0), eb = tu_alloc(0, 2, 0);
    idl_fill(&x, 7.0);
    int rank = -1;
    CHECK(idl_lstsq(&e, &eb, 0.0, &x, &rank) == IDL_OK);
    CHECK(rank == 0 && IDL_AT(&x, 2, 1) == 0.0);
    free(a.data), free(b.data), free(x.data), free(wrong.data), free(sq.data), free(e.data),
        free(eb.data);
}

int main(void)
{
    test_overdetermined();
    test_rank_deficient();
    test_underdetermined();
    test_solve();
    test_errors();
    return tu_finish("test_linalg");
}
