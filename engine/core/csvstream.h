/*
 * csvstream.h - a numeric CSV file read a batch of rows at a time, in memory
 * that does not grow with the file (one read buffer, as long as the longest
 * line, at most IDL_CSV_STREAM_MAX_LINE bytes).
 *
 * The file is read as idl_csv_read reads it (csv.h): the same header rule,
 * blank lines skipped, the same number parser, every data line with as many
 * fields as the first line. Lines are numbered from 1 as in the file.
 *
 * Sharding: with shard {rank, size}, the stream yields the data rows whose
 * 0-based index i (counting data rows only) has i % size == rank. Every shard
 * reads the whole file (reading is cheap beside parsing) and checks the field
 * count of every line, but parses the numbers of its own rows only; error
 * line numbers are exact.
 *
 * Ownership: idl_csv_stream_open allocates the stream (its FILE, buffer and
 * header names); idl_csv_stream_close frees it. Batches go into matrices the
 * caller owns.
 */
#ifndef IDL_CSVSTREAM_H
#define IDL_CSVSTREAM_H

#include "csv.h"
#include "mat.h"

#define IDL_CSV_STREAM_MAX_LINE ((size_t)1 << 26) /* 64 MiB */

typedef struct idl_csv_stream idl_csv_stream;

typedef struct idl_csv_stream_opts {
    char delimiter;
    idl_csv_header header;
    int shard_rank, shard_size; /* 0 <= rank < size */
} idl_csv_stream_opts;

/* Opens path, reads its header (if any) and checks that a data line follows.
 * IDL_EIO (cannot open or read), IDL_EPARSE (no data, a NUL byte, a line too
 * long), IDL_EINVAL (bad opts) or IDL_ENOMEM, with err filled and *out NULL. */
idl_status idl_csv_stream_open(const char *path, const idl_csv_stream_opts *opts,
                               idl_csv_stream **out, idl_csv_error *err);

void idl_csv_stream_close(idl_csv_stream *s);

/* The number of fields of every line. */
int idl_csv_stream_cols(const idl_csv_stream *s);

/* Header name c (0-based), or NULL when the file has no header. */
const char *idl_csv_stream_name(const idl_csv_stream *s, int c);

/* Back to the first data row. */
idl_status idl_csv_stream_rewind(idl_csv_stream *s, idl_csv_error *err);

/* Reads up to x->rows rows of this shard: field `target` (0-based; -1: none)
 * of row r goes to y(r, 0), the other fields in order to x(r, :). x has
 * cols - 1 columns with a target, cols without; y is NULL without a target
 * and x->rows x 1 with one (IDL_EDIM otherwise). *nread is the number of rows
 * written: fewer than x->rows only at the end of the file (0 once it is
 * reached). On IDL_EPARSE (a line with another field count, a field that is
 * not a number, a NUL byte, a line too long) or IDL_EIO, err gives the line
 * (and column), *nread counts the rows written before it, and the stream must
 * be rewound before it is read again. */
idl_status idl_csv_stream_next(idl_csv_stream *s, int target, idl_mat *x, idl_mat *y, int *nread,
                               idl_csv_error *err);

#endif
