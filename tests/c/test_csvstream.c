/* test_csvstream.c - the streaming CSV reader against idl_csv_read on the same
 * files: every batch size and shard must give read_csv's rows (shard r of s:
 * the data rows i with i % s == r), the same names, and a file read_csv
 * refuses must be refused with the same status (and, for a bad data line,
 * the same line and column). */
#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "csvstream.h"
#include "testutil.h"

static const char *const CASES[] = {
    "a,b,c\n1,2,3\n4,5,6\n",
    "1,2\n3,4\n5,6",                      /* no header, no final newline */
    "x,y\r\n\r\n1,2\r\n  \r\n3,4\r\n",    /* CRLF and blank lines */
    "\xEF\xBB\xBF" "u,v\n1,2\n3,4\n",     /* a byte order mark */
    " 1 ,\t2\n3 , 4 \n",                  /* blanks around numbers */
    "nan,inf\n-inf,1e-300\n",
    "7\n8\n9\n10\n11\n",                  /* one column */
    "a,b\n1,2\n3,x\n5,6\n",               /* not a number at line 3, column 2 */
    "1,2,3\n4,5\n",                       /* ragged at line 2 */
    "1,2\n3,4\n5,6,7\n",                  /* ragged at line 3 */
    "a,b\n",                              /* a header but no data */
    "\n\n",                               /* no data */
    "a,1\n2,3\n",                         /* a first line that is neither header nor data */
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* Streams every row of shard (rank, size) with batches of `batch` rows and
 * compares each with read_csv's row (t empty when read_csv refused the file:
 * nothing to compare); returns the status of the stream. */
static idl_status stream_and_compare(const char *path, const idl_csv_table *t, int batch, int rank,
                                     int size, idl_csv_error *err)
{
    idl_csv_stream_opts opts = {',', IDL_CSV_AUTO, rank, size};
    idl_csv_stream *s;
    idl_status st = idl_csv_stream_open(path, &opts, &s, err);
    if (st != IDL_OK)
        return st;
    int cols = idl_csv_stream_cols(s);
    CHECK(t->rows == 0 || cols == t->cols);
    for (int c = 0; t->rows > 0 && c < cols; c++) {
        const char *name = idl_csv_stream_name(s, c);
        CHECK((name == NULL) == (t->names == NULL));
        CHECK(!name || strcmp(name, t->names[c]) == 0);
    }
    idl_mat x = tu_alloc(batch, cols, 1);
    long long row = rank; /* read_csv's index of the next row of this shard */
    for (int pass = 0; pass < 2 && st == IDL_OK; pass++) { /* twice: rewind works */
        row = rank;
        int n;
        while ((st = idl_csv_stream_next(s, -1, &x, NULL, &n, err)) == IDL_OK && n > 0) {
            for (int r = 0; r < n; r++, row += size)
                for (int c = 0; c < cols && row < t->rows; c++) {
                    double want = t->values[row * cols + c], got = IDL_AT(&x, r, c);
                    CHECK(got == want || (got != got && want != want));
                }
        }
        CHECK(st != IDL_OK || row >= t->rows);
        if (st == IDL_OK)
            CHECK(idl_csv_stream_rewind(s, err) == IDL_OK);
    }
    free(x.data);
    idl_csv_stream_close(s);
    return st;
}

static void test_against_read_csv(void)
{
    char buf[256];
    const char *path = tu_temp_path(buf, sizeof buf, "csvstream.csv");
    static const int batches[] = {1, 2, 1000};
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        write_file(path, CASES[k]);
        idl_csv_table t;
        idl_csv_error want, got;
        idl_status st = idl_csv_read(path, ',', IDL_CSV_AUTO, &t, &want);
        for (size_t b = 0; b < 3; b++)
            for (int size = 1; size <= 3; size++)
                for (int rank = 0; rank < size; rank++) {
                    idl_status ss = stream_and_compare(path, &t, batches[b], rank, size, &got);
                    if (st == IDL_OK) {
                        CHECK(ss == IDL_OK);
                    } else if (size == 1) { /* a shard meets only its own bad numbers */
                        CHECK(ss == st);
                        if (st == IDL_EPARSE && want.column > 0)
                            CHECK(got.line == want.line && got.column == want.column);
                    }
                    if ((st == IDL_OK) != (ss == IDL_OK) && size == 1)
                        fprintf(stderr, "case %zu: read_csv %d (%s), stream %d (%s)\n", k, (int)st,
                                want.message, (int)ss, got.message);
                }
        idl_csv_free(&t);
    }
    remove(path);
}

/* The target column goes to y, the others in order to x. */
static void test_target_and_lines_past_the_buffer(void)
{
    char buf[256];
    const char *path = tu_temp_path(buf, sizeof buf, "csvstream_wide.csv");
    FILE *f = fopen(path, "wb");
    int cols = 400000; /* two lines of ~1.2 MB: past the first 1 MiB buffer */
    for (int r = 0; r < 2 && f; r++)
        for (int c = 0; c < cols; c++)
            fprintf(f, "%d%c", (r * 7 + c) % 101, c + 1 < cols ? ',' : '\n');
    CHECK(f && fclose(f) == 0);
    idl_csv_stream_opts opts = {',', IDL_CSV_AUTO, 0, 1};
    idl_csv_stream *s;
    idl_csv_error err;
    CHECK(idl_csv_stream_open(path, &opts, &s, &err) == IDL_OK);
    CHECK(idl_csv_stream_cols(s) == cols);
    idl_mat x = tu_alloc(2, cols - 1, 0), y = tu_alloc(2, 1, 0);
    int n = 0, target = 5;
    CHECK(idl_csv_stream_next(s, target, &x, &y, &n, &err) == IDL_OK && n == 2);
    int bad = 0;
    for (int r = 0; r < 2; r++) {
        bad += IDL_AT(&y, r, 0) != (double)((r * 7 + target) % 101);
        for (int c = 0; c < cols; c++)
            if (c != target)
                bad += IDL_AT(&x, r, c < target ? c : c - 1) != (double)((r * 7 + c) % 101);
    }
    CHECK(bad == 0);
    CHECK(idl_csv_stream_next(s, target, &x, &y, &n, &err) == IDL_OK && n == 0);
    idl_mat wrong = tu_alloc(2, cols, 0); /* with a target, x has one column less */
    CHECK(idl_csv_stream_next(s, target, &wrong, &y, &n, &err) == IDL_EDIM);
    free(wrong.data);
    free(x.data);
    free(y.data);
    idl_csv_stream_close(s);
    remove(path);
}

int main(void)
{
    test_against_read_csv();
    test_target_and_lines_past_the_buffer();
    printf("%d passed, %d failed\n", tu_passed, tu_failed);
    return tu_failed ? 1 : 0;
}
