/* test_mat.c - matrix kernels against naive reference loops. */
#include <string.h>

#include "testutil.h"

/* C = op(A) op(B) by the textbook triple loop. */
static void naive_gemm(bool ta, bool tb, double alpha, const idl_mat *a, const idl_mat *b,
                       double beta, idl_mat *c)
{
    int k = ta ? a->rows : a->cols;
    for (int i = 0; i < c->rows; i++)
        for (int j = 0; j < c->cols; j++) {
            double s = 0.0;
            for (int l = 0; l < k; l++)
                s += (ta ? IDL_AT(a, l, i) : IDL_AT(a, i, l)) * (tb ? IDL_AT(b, j, l) : IDL_AT(b, l, j));
            IDL_AT(c, i, j) = alpha * s + (beta == 0.0 ? 0.0 : beta * IDL_AT(c, i, j));
        }
}

static void test_gemm(void)
{
    unsigned s = 1;
    int shapes[][3] = {{3, 4, 5}, {1, 7, 1}, {6, 1, 6}, {5, 5, 1}, {17, 9, 33}, {0, 3, 2}, {3, 0, 2}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++)
        for (int flags = 0; flags < 4; flags++) {
            bool ta = flags & 1, tb = flags & 2;
            int m = shapes[t][0], k = shapes[t][1], n = shapes[t][2];
            idl_mat a = ta ? tu_alloc(k, m, 2) : tu_alloc(m, k, 2);
            idl_mat b = tb ? tu_alloc(n, k, 1) : tu_alloc(k, n, 1);
            idl_mat c = tu_alloc(m, n, 3), ref = tu_alloc(m, n, 0);
            tu_fill(&a, &s);
            tu_fill(&b, &s);
            tu_fill(&c, &s);
            idl_copy(&c, &ref);
            CHECK(idl_gemm(ta, tb, 0.7, &a, &b, -0.3, &c) == IDL_OK);
            naive_gemm(ta, tb, 0.7, &a, &b, -0.3, &ref);
            double d;
            idl_max_abs_diff(&c, &ref, &d);
            CHECK(d < 1e-12);
            free(a.data), free(b.data), free(c.data), free(ref.data);
        }
    /* beta = 0 must not read C: NaN there does not propagate. */
    idl_mat a = tu_alloc(2, 2, 0), b = tu_alloc(2, 2, 0), c = tu_alloc(2, 2, 0);
    idl_fill(&a, 1.0);
    idl_fill(&b, 1.0);
    idl_fill(&c, NAN);
    idl_gemm(false, false, 1.0, &a, &b, 0.0, &c);
    CHECK(idl_all_finite(&c) && IDL_AT(&c, 1, 1) == 2.0);
    idl_mat wrong = tu_alloc(3, 2, 0);
    CHECK(idl_gemm(false, false, 1.0, &a, &b, 0.0, &wrong) == IDL_EDIM);
    free(a.data), free(b.data), free(c.data), free(wrong.data);
}

/* idl_gemm_single against the naive double product: every entry within the
 * float bound (k + 2) 2^-23 alpha sum_l |a_il b_lj| (+ beta's rounding), for
 * every transpose, strided operands and sizes; entries scaled by 2^700 (far
 * beyond float's range) give the same relative error, not Inf; NaN in A
 * reaches C; alpha = 0 and wrong shapes as idl_gemm. */
static void check_single(bool ta, bool tb, const idl_mat *a, const idl_mat *b, double beta,
                         const idl_mat *c0, double scale)
{
    int m = c0->rows, n = c0->cols, k = ta ? a->rows : a->cols;
    idl_mat c = tu_alloc(m, n, 1), ref = tu_alloc(m, n, 0), absref = tu_alloc(m, n, 0);
    idl_mat aa = tu_alloc(a->rows, a->cols, 0), ab = tu_alloc(b->rows, b->cols, 0);
    for (int j = 0; j < a->cols; j++)
        for (int i = 0; i < a->rows; i++)
            IDL_AT(&aa, i, j) = fabs(IDL_AT(a, i, j));
    for (int j = 0; j < b->cols; j++)
        for (int i = 0; i < b->rows; i++)
            IDL_AT(&ab, i, j) = fabs(IDL_AT(b, i, j));
    idl_copy(c0, &c);
    idl_copy(c0, &ref);
    naive_gemm(ta, tb, 0.7, a, b, beta, &ref);
    naive_gemm(ta, tb, 0.7, &aa, &ab, 0.0, &absref);
    double *work = malloc(idl_gemm_single_work_size(a, b, &c) * sizeof(double) + 1);
    CHECK(idl_gemm_single(ta, tb, 0.7, a, b, beta, &c, work) == IDL_OK);
    int bad = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double bound = (k + 2) * 0x1p-23 * IDL_AT(&absref, i, j) +
                           0x1p-50 * fabs(beta * IDL_AT(c0, i, j)) + 1e-300 * scale;
            bad += !(fabs(IDL_AT(&c, i, j) - IDL_AT(&ref, i, j)) <= bound);
        }
    CHECK(bad == 0);
    free(c.data), free(ref.data), free(absref.data), free(aa.data), free(ab.data), free(work);
}

static void test_gemm_single(void)
{
    unsigned s = 5;
    int shapes[][3] = {{3, 4, 5}, {1, 7, 1}, {17, 9, 33}, {40, 253, 30}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++)
        for (int flags = 0; flags < 8; flags++) {
            bool ta = flags & 1, tb = flags & 2, huge = flags & 4;
            int m = shapes[t][0], k = shapes[t][1], n = shapes[t][2];
            idl_mat a = ta ? tu_alloc(k, m, 2) : tu_alloc(m, k, 2);
            idl_mat b = tb ? tu_alloc(n, k, 1) : tu_alloc(k, n, 1);
            idl_mat c0 = tu_alloc(m, n, 0);
            tu_fill(&a, &s);
            tu_fill(&b, &s);
            tu_fill(&c0, &s);
            double scale = huge ? 0x1p700 : 1.0;
            if (huge)
                idl_scale(scale, &a);
            check_single(ta, tb, &a, &b, 0.0, &c0, scale);
            check_single(ta, tb, &a, &b, -0.3, &c0, scale);
            free(a.data), free(b.data), free(c0.data);
        }
    idl_mat a = tu_alloc(2, 3, 0), b = tu_alloc(3, 2, 0), c = tu_alloc(2, 2, 0);
    double work[16];
    idl_fill(&a, 1.0);
    idl_fill(&b, 2.0);
    IDL_AT(&a, 1, 2) = NAN;
    CHECK(idl_gemm_single(false, false, 1.0, &a, &b, 0.0, &c, work) == IDL_OK);
    CHECK(IDL_AT(&c, 0, 0) == 6.0 && isnan(IDL_AT(&c, 1, 0)) && isnan(IDL_AT(&c, 1, 1)));
    idl_fill(&c, 3.0);
    CHECK(idl_gemm_single(false, false, 0.0, &a, &b, 0.5, &c, work) == IDL_OK);
    CHECK(IDL_AT(&c, 1, 1) == 1.5);
    CHECK(idl_gemm_single(false, true, 1.0, &a, &b, 0.0, &c, work) == IDL_EDIM);
    free(a.data), free(b.data), free(c.data);
}

static void test_elementwise(void)
{
    unsigned s = 7;
    idl_mat x = tu_alloc(5, 4, 2), y = tu_alloc(5, 4, 1), z = tu_alloc(5, 4, 0);
    tu_fill(&x, &s);
    tu_fill(&y, &s);
    idl_mat y0 = tu_alloc(5, 4, 0);
    idl_copy(&y, &y0);
    CHECK(idl_axpy(2.5, &x, &y) == IDL_OK);
    int bad = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 5; i++)
            bad += fabs(IDL_AT(&y, i, j) - (IDL_AT(&y0, i, j) + 2.5 * IDL_AT(&x, i, j))) > 1e-15;
    CHECK(bad == 0);
    idl_relu(&x, &z);
    bad = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 5; i++)
            bad += IDL_AT(&z, i, j) != (IDL_AT(&x, i, j) > 0 ? IDL_AT(&x, i, j) : 0.0);
    CHECK(bad == 0);
    /* relu_grad: y0 where x > 0; z (relu of x) as the mask gives the same */
    idl_mat g = tu_alloc(5, 4, 0);
    CHECK(idl_relu_grad(&y0, &x, &g) == IDL_OK);
    bad = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 5; i++)
            bad += IDL_AT(&g, i, j) != (IDL_AT(&x, i, j) > 0 ? IDL_AT(&y0, i, j) : 0.0) ||
                   (IDL_AT(&z, i, j) > 0) != (IDL_AT(&x, i, j) > 0);
    CHECK(bad == 0);
    idl_mat narrow = tu_alloc(5, 3, 0);
    CHECK(idl_relu_grad(&y0, &narrow, &g) == IDL_EDIM);
    free(g.data), free(narrow.data);
    idl_hadamard(&x, &y0, &z);
    CHECK(IDL_AT(&z, 3, 2) == IDL_AT(&x, 3, 2) * IDL_AT(&y0, 3, 2));
    idl_mat t = tu_alloc(4, 5, 0);
    idl_transpose(&x, &t);
    bad = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 5; i++)
            bad += IDL_AT(&t, j, i) != IDL_AT(&x, i, j);
    CHECK(bad == 0);
    CHECK(idl_transpose(&x, &z) == IDL_EDIM);
    double v[5] = {1, 2, 3, 4, 5};
    idl_mat col = idl_mat_wrap(v, 5, 1);
    idl_copy(&y0, &z);
    idl_add_col(&z, -1.0, &col);
    CHECK(IDL_AT(&z, 4, 3) == IDL_AT(&y0, 4, 3) - 5.0);
    free(x.data), free(y.data), free(z.data), free(y0.data), free(t.data);
}

static void test_sum_and_norms(void)
{
    double a[6] = {1, -4, 2, 5, -3, 6}; /* [1 2 -3; -4 5 6] column-major */
    idl_mat m = idl_mat_wrap(a, 2, 3);
    double out[3];
    idl_mat total = idl_mat_wrap(out, 1, 1);
    idl_sum(&m, 0, &total);
    CHECK(out[0] == 7.0);
    idl_mat colsums = {1, 3, 1, out};
    idl_sum(&m, 1, &colsums);
    CHECK(out[0] == -3.0 && out[1] == 7.0 && out[2] == 3.0);
    idl_mat rowsums = idl_mat_wrap(out, 2, 1);
    idl_sum(&m, 2, &rowsums);
    CHECK(out[0] == 0.0 && out[1] == 7.0);
    double r;
    idl_norm(&m, IDL_NORM_FRO, &r);
    CHECK_NEAR(r, sqrt(1 + 4 + 9 + 16 + 25 + 36), 1e-14);
    idl_norm(&m, IDL_NORM_ONE, &r);
    CHECK(r == 9.0);
    idl_norm(&m, IDL_NORM_INF, &r);
    CHECK(r == 15.0);
    idl_norm(&m, IDL_NORM_MAX, &r);
    CHECK(r == 6.0);
    /* Spectral norm: the square root of the largest eigenvalue of M M^T
     * = [14 -12; -12 77], computed in closed form. */
    double tr = 14 + 77, det = 14 * 77 - 144;
    idl_norm(&m, IDL_NORM_TWO, &r);
    CHECK_NEAR(r, sqrt(tr / 2 + sqrt(tr * tr / 4 - det)), 1e-12);
    idl_mat empty = idl_mat_wrap(a, 0, 3);
    idl_norm(&empty, IDL_NORM_TWO, &r);
    CHECK(r == 0.0);
    a[2] = NAN;
    CHECK(!idl_all_finite(&m));
    idl_norm(&m, IDL_NORM_INF, &r);
    CHECK(isnan(r));
}

/* idl_all_finite finds one NaN, Inf or -Inf at every position of a strided
 * matrix with an odd column length (vector body and scalar tail), and the INF
 * norm of a matrix taller than its row blocks is the naive row loop's (with
 * NaN anywhere, NaN). */
static void test_finite_and_row_norm(void)
{
    unsigned s = 11;
    const double bad[3] = {NAN, INFINITY, -INFINITY};
    idl_mat m = tu_alloc(7, 4, 2);
    tu_fill(&m, &s);
    CHECK(idl_all_finite(&m));
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 7; i++)
            for (int k = 0; k < 3; k++) {
                double keep = IDL_AT(&m, i, j);
                IDL_AT(&m, i, j) = bad[k];
                CHECK(!idl_all_finite(&m));
                IDL_AT(&m, i, j) = keep;
            }
    IDL_AT(&m, 7, 1) = NAN; /* in the padding below row 6: not an entry */
    CHECK(idl_all_finite(&m));
    free(m.data);
    idl_mat t = tu_alloc(601, 5, 3);
    tu_fill(&t, &s);
    double want = 0.0, r;
    for (int i = 0; i < 601; i++) {
        double row = 0.0;
        for (int j = 0; j < 5; j++)
            row += fabs(IDL_AT(&t, i, j));
        want = fmax(want, row);
    }
    idl_norm(&t, IDL_NORM_INF, &r);
    CHECK(r == want);
    IDL_AT(&t, 600, 4) = NAN;
    idl_norm(&t, IDL_NORM_INF, &r);
    CHECK(isnan(r));
    free(t.data);
}

/* relu_grad keeps src where mask > 0 (NaN in the mask counts as not > 0),
 * also in place (dst = src). */
static void test_relu_grad(void)
{
    double src[5] = {1.0, -2.0, 3.0, -4.0, 5.0}, mask[5] = {0.5, 0.0, -1.0, NAN, 1e-300};
    double out[5];
    idl_mat a = idl_mat_wrap(src, 5, 1), k = idl_mat_wrap(mask, 5, 1), o = idl_mat_wrap(out, 5, 1);
    CHECK(idl_relu_grad(&a, &k, &o) == IDL_OK);
    CHECK(out[0] == 1.0 && out[1] == 0.0 && out[2] == 0.0 && out[3] == 0.0 && out[4] == 5.0);
    CHECK(idl_relu_grad(&a, &k, &a) == IDL_OK);
    CHECK(src[0] == 1.0 && src[1] == 0.0 && src[4] == 5.0);
}

static void test_views(void)
{
    unsigned s = 3;
    idl_mat m = tu_alloc(6, 5, 0);
    tu_fill(&m, &s);
    idl_mat b = idl_mat_block(&m, 1, 2, 3, 2);
    CHECK(IDL_AT(&b, 0, 0) == IDL_AT(&m, 1, 2) && IDL_AT(&b, 2, 1) == IDL_AT(&m, 3, 3));
    idl_scale(0.0, &b);
    CHECK(IDL_AT(&m, 3, 3) == 0.0 && IDL_AT(&m, 4, 3) != 0.0);
    free(m.data);
}

/* Exact equality against the definition: same shape, every pair ==. */
static void test_equal(void)
{
    unsigned s = 5;
    idl_mat a = tu_alloc(4, 3, 0), b = tu_alloc(4, 3, 0);
    tu_fill(&a, &s);
    idl_copy(&a, &b);
    CHECK(idl_mat_equal(&a, &b));
    IDL_AT(&a, 3, 2) = INFINITY;
    IDL_AT(&b, 3, 2) = INFINITY;
    CHECK(idl_mat_equal(&a, &b));
    IDL_AT(&b, 2, 1) = nextafter(IDL_AT(&a, 2, 1), 10.0);
    CHECK(!idl_mat_equal(&a, &b));
    IDL_AT(&b, 2, 1) = IDL_AT(&a, 2, 1);
    IDL_AT(&a, 0, 0) = NAN;
    IDL_AT(&b, 0, 0) = NAN;
    CHECK(!idl_mat_equal(&a, &b));
    CHECK(!idl_mat_equal(&a, &(idl_mat){.rows = 3, .cols = 4, .ld = 3, .data = b.data}));
    free(a.data);
    free(b.data);
}

int main(void)
{
    test_gemm();
    test_gemm_single();
    test_elementwise();
    test_sum_and_norms();
    test_finite_and_row_norm();
    test_relu_grad();
    test_views();
    test_equal();
    return tu_finish("test_mat");
}
