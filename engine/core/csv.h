/*
 * csv.h - numeric CSV files: one sample per line, fields separated by a
 * delimiter, an optional header line of names.
 *
 * Ownership: idl_csv_read allocates the table it returns; idl_csv_free releases
 * it. Values are stored row-major as in the file (values[r * cols + c]).
 */
#ifndef IDL_CSV_H
#define IDL_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "file.h"
#include "mat.h"

typedef enum idl_csv_header { IDL_CSV_NO_HEADER, IDL_CSV_HEADER, IDL_CSV_AUTO } idl_csv_header;

typedef struct idl_csv_table {
    int rows, cols;
    double *values;  /* rows * cols, row-major */
    char **names;    /* cols header names, or NULL when the file has none */
} idl_csv_table;

/* Where and why a read failed: line and column are 1-based (0 when the
 * failure is not tied to a position, e.g. a missing file). */
typedef struct idl_csv_error {
    int line, column;
    char message[160];
} idl_csv_error;

/* Reads path. A UTF-8 byte order mark at the start is skipped. With
 * IDL_CSV_AUTO the first line is a header when none of its fields is a number;
 * a first line that mixes numbers and text is an error (IDL_EPARSE at its first
 * text field), never a silently dropped row. Header names in "..." are unquoted
 * ("" is a quote), as idl_csv_write writes names that read as numbers. Blank
 * lines are skipped; every other line must have the same number of fields. On
 * failure returns IDL_EIO or IDL_EPARSE with err filled and *out left empty. */
idl_status idl_csv_read(const char *path, char delimiter, idl_csv_header header,
                        idl_csv_table *out, idl_csv_error *err);

void idl_csv_free(idl_csv_table *t);

/* The index of the first of cols header names that would not read back as
 * written (it holds the delimiter or a newline, the last one ends in '\r',
 * or it is the only one and blank: a blank line is skipped), or -1. */
int idl_csv_bad_name(const char *const *names, int cols, char delimiter);

/* Writes m (one line per row, %.17g so values round-trip) with an optional
 * header of m->cols names (a name that reads as a number, or starts with a
 * quote, is written in "..." so the header reads back as one), atomically (idl_writer, file.h): a reader never
 * sees half a file, and a failure leaves the old file. IDL_EINVAL (nothing
 * written) when a name would not read back (idl_csv_bad_name); IDL_EIO with
 * err->message the system's reason (err may be NULL). */
idl_status idl_csv_write(const char *path, const idl_mat *m, const char *const *names,
                         char delimiter, idl_csv_error *err);

/* The two halves of idl_csv_write, for a file written a part at a time
 * through an open writer (file.h; the caller commits or aborts it): a header
 * line of cols names (checked by the caller with idl_csv_bad_name), and the
 * rows of m. IDL_EIO once the writer has failed (w->error). */
idl_status idl_csv_write_names(idl_writer *w, const char *const *names, int cols, char delimiter);
idl_status idl_csv_write_matrix(idl_writer *w, const idl_mat *m, char delimiter);

/* The pieces of idl_csv_read that the streaming reader (csvstream.h) shares,
 * so that both read a file alike. Lines are NUL-terminated, without their
 * line end. */
bool idl_csv_blank(const char *line);
int idl_csv_count_fields(const char *line, char delimiter);
/* Parses the field [s, end) as a number (surrounding blanks allowed). */
bool idl_csv_parse_number(const char *s, const char *end, double *v);
/* Whether line (line number lineno), the first non-blank line of a file, is a
 * header under mode: *header set, IDL_OK; under IDL_CSV_AUTO a line that mixes
 * numbers and text is IDL_EPARSE with err at its first text field. */
idl_status idl_csv_is_header(const char *line, int lineno, char delimiter, idl_csv_header mode,
                             bool *header, idl_csv_error *err);

/* The UTF-8 byte order mark that starts a file exported by a spreadsheet. */
#define IDL_CSV_BOM "\xEF\xBB\xBF"
/* The cols fields of line as malloc'd strings (free each, then the array), or NULL. */
char **idl_csv_split_names(const char *line, char delimiter, int cols);

#endif
