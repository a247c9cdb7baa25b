/*
 * fuzz_csv.c - libFuzzer harness for the CSV reader (engine/core/csv.c).
 *
 * Each input is written to a temporary file and read with idl_csv_read under
 * every header mode and three delimiters. Any status is acceptable; a crash, a
 * leak or a sanitizer report is not. The reader's contract is checked too: a
 * failure leaves the table empty; a success has rows, columns and names that
 * agree, and writing the table with idl_csv_write and reading it back gives
 * the same names and the same values bit for bit (NaN matches NaN).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char paths[2][512];

static void remove_temp_files(void)
{
    for (int k = 0; k < 2; k++)
        if (paths[k][0])
            remove(paths[k]);
}

/* A temporary file path of this process ("input" or "roundtrip"), made once
 * and removed at exit. */
static const char *temp_path(const char *tag)
{
    int k = tag[0] == 'r';
    if (!paths[k][0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(paths[k], sizeof paths[k], "%s/idl_fuzz_csv_%s_%d.csv", dir ? dir : "/tmp", tag,
                 (int)getpid());
        if (!paths[0][0] != !paths[1][0]) /* the first path made */
            atexit(remove_temp_files);
    }
    return paths[k];
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_csv: %s\n", what);
    abort();
}

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The table t read with (delim, header) must survive a write and a read. */
static void check_round_trip(const idl_csv_table *t, char delim, idl_csv_header header)
{
    /* idl_csv_write takes the matrix column-major, the table is row-major */
    double *colmajor = malloc((size_t)t->rows * (size_t)t->cols * sizeof(double));
    if (!colmajor)
        return;
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++)
            colmajor[r + (size_t)c * (size_t)t->rows] = t->values[(size_t)r * (size_t)t->cols + (size_t)c];
    idl_mat m = {t->rows, t->cols, t->rows, colmajor};
    const char *path = temp_path("roundtrip");
    if (idl_csv_write(path, &m, (const char *const *)t->names, delim, NULL) != IDL_OK)
        fail("idl_csv_write failed on a table idl_csv_read returned");
    idl_csv_table back;
    idl_csv_error err;
    idl_csv_header again = header == IDL_CSV_AUTO ? (t->names ? IDL_CSV_HEADER : IDL_CSV_NO_HEADER)
                                                  : header;
    if (idl_csv_read(path, delim, again, &back, &err) != IDL_OK)
        fail("a written table does not read back");
    if (back.rows != t->rows || back.cols != t->cols)
        fail("a written table reads back with another shape");
    for (size_t k = 0; k < (size_t)t->rows * (size_t)t->cols; k++)
        if (!same_value(back.values[k], t->values[k]))
            fail("a written value reads back different");
    if ((back.names == NULL) != (t->names == NULL))
        fail("a header is lost or gained by a round trip");
    for (int c = 0; t->names && c < t->cols; c++)
        if (strcmp(back.names[c], t->names[c]) != 0)
            fail("a header name reads back different");
    idl_csv_free(&back);
    free(colmajor);
}

static void read_one(char delim, idl_csv_header header)
{
    idl_csv_table t;
    idl_csv_error err;
    idl_status st = idl_csv_read(temp_path("input"), delim, header, &t, &err);
    if (st != IDL_OK) {
        if (t.rows || t.cols || t.values || t.names)
            fail("a failed read left a non-empty table");
        if (err.line < 0 || err.column < 0 || memchr(err.message, '\0', sizeof err.message) == NULL)
            fail("a failed read left a malformed error");
        return;
    }
    if (t.rows < 1 || t.cols < 1 || !t.values)
        fail("a successful read returned an empty table");
    if (header == IDL_CSV_NO_HEADER && t.names)
        fail("names without a header");
    if (header == IDL_CSV_HEADER && !t.names)
        fail("no names with a header");
    for (int c = 0; t.names && c < t.cols; c++)
        if (!t.names[c])
            fail("a NULL header name");
    /* A header name holding the delimiter cannot be written back: it cannot
     * come from a file, since the reader splits there. */
    check_round_trip(&t, delim, header);
    idl_csv_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(temp_path("input"), "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    static const idl_csv_header modes[] = {IDL_CSV_AUTO, IDL_CSV_HEADER, IDL_CSV_NO_HEADER};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
        read_one(',', modes[k]);
    read_one(';', IDL_CSV_AUTO);
    read_one('\t', IDL_CSV_AUTO);
    return 0;
}
