/* test_csv_rng.c - CSV round trips and errors; generator reproducibility. */
#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "rng.h"
#include "testutil.h"

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    tu_temp_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_csv(void)
{
    idl_csv_table t;
    idl_csv_error e;
    const char *p = write_file("a.csv", "x;y\n1;2.5\n\n-3e2; 4\n");
    CHECK(idl_csv_read(p, ';', IDL_CSV_AUTO, &t, &e) == IDL_OK);
    CHECK(t.rows == 2 && t.cols == 2 && t.names && strcmp(t.names[1], "y") == 0);
    CHECK(t.values[1] == 2.5 && t.values[2] == -300.0 && t.values[3] == 4.0);
    idl_csv_free(&t);

    p = write_file("b.csv", "1,2\r\n3,x\r\n");
    CHECK(idl_csv_read(p, ',', IDL_CSV_AUTO, &t, &e) == IDL_EPARSE);
    CHECK(e.line == 2 && e.column == 2);
    p = write_file("c.csv", "1,2\n3,4,5\n");
    CHECK(idl_csv_read(p, ',', IDL_CSV_NO_HEADER, &t, &e) == IDL_EPARSE && e.line == 2);
    p = write_file("d.csv", "a,b\n");
    CHECK(idl_csv_read(p, ',', IDL_CSV_AUTO, &t, &e) == IDL_EPARSE);
    p = write_file("e.csv", "");
    CHECK(idl_csv_read(p, ',', IDL_CSV_AUTO, &t, &e) == IDL_EPARSE);
    CHECK(idl_csv_read("/nonexistent/file.csv", ',', IDL_CSV_AUTO, &t, &e) == IDL_EIO);

    /* %.17g round-trips every double exactly. */
    double v[6] = {0.1, 1.0 / 3.0, -2.5e-300, 1e300, 123456789.123456789, -0.0};
    idl_mat m = idl_mat_wrap(v, 3, 2);
    const char *names[] = {"p", "q"};
    char rt[256];
    tu_temp_path(rt, sizeof rt, "rt.csv");
    CHECK(idl_csv_write(rt, &m, names, ',', NULL) == IDL_OK);
    CHECK(idl_csv_read(rt, ',', IDL_CSV_HEADER, &t, &e) == IDL_OK);
    int bad = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 2; c++)
            bad += t.values[r * 2 + c] != IDL_AT(&m, r, c);
    CHECK(bad == 0 && t.rows == 3);
    idl_csv_free(&t);
}

static void test_rng(void)
{
    idl_rng *a = idl_rng_new(42), *b = idl_rng_new(42), *c = idl_rng_new(43);
    int same = 0, differ = 0;
    for (int i = 0; i < 100; i++) {
        double x = idl_rng_normal(a), y = idl_rng_normal(b), z = idl_rng_normal(c);
        same += x == y;
        differ += x != z;
    }
    CHECK(same == 100 && differ > 90);
    /* Moments of 100000 uniforms: mean 1/2, variance 1/12 (within 5 sigma). */
    double s = 0, s2 = 0;
    for (int i = 0; i < 100000; i++) {
        double u = idl_rng_uniform(a);
        s += u;
        s2 += u * u;
    }
    CHECK_NEAR(s / 1e5, 0.5, 5 * sqrt(1.0 / 12 / 1e5));
    CHECK_NEAR(s2 / 1e5 - (s / 1e5) * (s / 1e5), 1.0 / 12, 0.002);
    size_t perm[50], seen[50] = {0};
    idl_rng_permutation(a, perm, 50);
    for (int i = 0; i < 50; i++)
        seen[perm[i]]++;
    int ok = 1;
    for (int i = 0; i < 50; i++)
        ok &= seen[i] == 1;
    CHECK(ok);
    /* Saving and restoring the state replays the same draws. */
    size_t n = idl_rng_state_size(a);
    void *state = malloc(n);
    idl_rng_get_state(a, state);
    double first = idl_rng_uniform(a);
    CHECK(idl_rng_set_state(a, state, n) == IDL_OK);
    CHECK(idl_rng_uniform(a) == first);
    CHECK(idl_rng_set_state(a, state, n - 1) == IDL_EINVAL);
    free(state);
    idl_rng_free(a), idl_rng_free(b), idl_rng_free(c);
}

/* The files test_csv wrote. */
static void remove_files(void)
{
    static const char *names[] = {"a.csv", "b.csv", "c.csv", "d.csv", "e.csv", "rt.csv"};
    char path[256];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        remove(tu_temp_path(path, sizeof path, names[k]));
}

int main(void)
{
    test_csv();
    test_rng();
    remove_files();
    return tu_finish("test_csv_rng");
}
