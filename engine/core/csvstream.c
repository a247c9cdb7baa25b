#include "csvstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define FIRST_BUFFER ((size_t)1 << 20)

struct idl_csv_stream {
    FILE *f;
    idl_csv_stream_opts opts;
    int cols;
    char **names;     /* cols names, or NULL without a header */
    char *buf;        /* buf[start, end) is read but not yet consumed */
    size_t cap, start, end;
    off_t buf_offset; /* the file offset of buf[0] */
    bool eof;
    int lineno;       /* of the last line taken */
    long long row;    /* data rows taken since the first one */
    off_t data_offset;
    int data_lineno;  /* the line before the first data line */
};

static void set_error(idl_csv_error *err, int line, int column, const char *what)
{
    err->line = line;
    err->column = column;
    snprintf(err->message, sizeof err->message, "%s", what);
}

/* Moves the unconsumed bytes to the front and reads more after them, growing
 * the buffer when a line fills it. */
static idl_status refill(idl_csv_stream *s, idl_csv_error *err)
{
    size_t keep = s->end - s->start;
    memmove(s->buf, s->buf + s->start, keep);
    s->buf_offset += (off_t)s->start;
    s->start = 0;
    s->end = keep;
    if (keep + 1 >= s->cap) {
        if (s->cap >= IDL_CSV_STREAM_MAX_LINE) {
            set_error(err, s->lineno + 1, 0, "line longer than 64 MiB");
            return IDL_EPARSE;
        }
        char *bigger = realloc(s->buf, 2 * s->cap);
        if (!bigger) {
            set_error(err, s->lineno + 1, 0, "out of memory");
            return IDL_ENOMEM;
        }
        s->buf = bigger;
        s->cap *= 2;
    }
    size_t got = fread(s->buf + s->end, 1, s->cap - 1 - s->end, s->f);
    s->end += got;
    if (got == 0) {
        if (ferror(s->f)) {
            set_error(err, s->lineno + 1, 0, strerror(errno ? errno : EIO));
            return IDL_EIO;
        }
        s->eof = true;
    }
    return IDL_OK;
}

/* The next line, NUL-terminated without its line end ('\n' and every '\r'
 * before it, as csv.c), in *line; NULL at the end of the file. */
static idl_status take_line(idl_csv_stream *s, char **line, idl_csv_error *err)
{
    char *nl;
    while (!(nl = memchr(s->buf + s->start, '\n', s->end - s->start))) {
        if (s->eof) {
            if (s->start == s->end) {
                *line = NULL;
                return IDL_OK;
            }
            nl = s->buf + s->end; /* a last line without '\n' (cap > end: room for the NUL) */
            s->end++;
            break;
        }
        idl_status st = refill(s, err);
        if (st != IDL_OK)
            return st;
    }
    char *l = s->buf + s->start;
    size_t n = (size_t)(nl - l);
    s->start += n + 1;
    s->lineno++;
    if (memchr(l, '\0', n)) {
        set_error(err, s->lineno, 0, "line contains a NUL byte (not a text CSV)");
        return IDL_EPARSE;
    }
    while (n && l[n - 1] == '\r')
        n--;
    l[n] = '\0';
    *line = l;
    return IDL_OK;
}

/* The next non-blank line, or NULL at the end; *offset is where it starts. */
static idl_status take_nonblank(idl_csv_stream *s, char **line, off_t *offset,
                                idl_csv_error *err)
{
    for (;;) {
        *offset = s->buf_offset + (off_t)s->start;
        idl_status st = take_line(s, line, err);
        if (st != IDL_OK || !*line || !idl_csv_blank(*line))
            return st;
    }
}

static idl_status seek_to(idl_csv_stream *s, off_t offset, int lineno, idl_csv_error *err)
{
    if (fseeko(s->f, offset, SEEK_SET) != 0) {
        set_error(err, 0, 0, strerror(errno));
        return IDL_EIO;
    }
    s->start = s->end = 0;
    s->buf_offset = offset;
    s->eof = false;
    s->lineno = lineno;
    return IDL_OK;
}

/* Reads the header (if any), sets cols, and finds the first data line. */
static idl_status read_head(idl_csv_stream *s, idl_csv_error *err)
{
    char *line;
    off_t at;
    idl_status st = take_nonblank(s, &line, &at, err);
    if (st != IDL_OK)
        return st;
    if (!line) {
        set_error(err, s->lineno, 0, "file has no data");
        return IDL_EPARSE;
    }
    if (strncmp(line, IDL_CSV_BOM, 3) == 0) { /* as idl_csv_read: no part of the data */
        line += 3;
        at += 3;
    }
    s->cols = idl_csv_count_fields(line, s->opts.delimiter);
    bool header;
    st = idl_csv_is_header(line, s->lineno, s->opts.delimiter, s->opts.header, &header, err);
    if (st != IDL_OK)
        return st;
    if (header) {
        s->names = idl_csv_split_names(line, s->opts.delimiter, s->cols);
        if (!s->names)
            return IDL_ENOMEM;
        st = take_nonblank(s, &line, &at, err);
        if (st != IDL_OK)
            return st;
        if (!line) {
            set_error(err, s->lineno, 0, "file has a header but no data");
            return IDL_EPARSE;
        }
    }
    s->data_offset = at;
    s->data_lineno = s->lineno - 1;
    return IDL_OK;
}

idl_status idl_csv_stream_open(const char *path, const idl_csv_stream_opts *opts,
                               idl_csv_stream **out, idl_csv_error *err)
{
    *out = NULL;
    set_error(err, 0, 0, "");
    if (opts->shard_size < 1 || opts->shard_rank < 0 || opts->shard_rank >= opts->shard_size) {
        set_error(err, 0, 0, "shard rank must be in [0, size - 1]");
        return IDL_EINVAL;
    }
    idl_csv_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->buf = malloc(FIRST_BUFFER))) {
        free(s);
        return IDL_ENOMEM;
    }
    s->cap = FIRST_BUFFER;
    s->opts = *opts;
    s->f = fopen(path, "rb");
    if (!s->f) {
        set_error(err, 0, 0, strerror(errno));
        idl_csv_stream_close(s);
        return IDL_EIO;
    }
    idl_status st = read_head(s, err);
    if (st == IDL_OK)
        st = idl_csv_stream_rewind(s, err);
    if (st != IDL_OK) {
        idl_csv_stream_close(s);
        return st;
    }
    *out = s;
    return IDL_OK;
}

void idl_csv_stream_close(idl_csv_stream *s)
{
    if (!s)
        return;
    if (s->f)
        fclose(s->f);
    if (s->names)
        for (int c = 0; c < s->cols; c++)
            free(s->names[c]);
    free(s->names);
    free(s->buf);
    free(s);
}

int idl_csv_stream_cols(const idl_csv_stream *s)
{
    return s->cols;
}

const char *idl_csv_stream_name(const idl_csv_stream *s, int c)
{
    return s->names && c >= 0 && c < s->cols ? s->names[c] : NULL;
}

idl_status idl_csv_stream_rewind(idl_csv_stream *s, idl_csv_error *err)
{
    s->row = 0;
    return seek_to(s, s->data_offset, s->data_lineno, err);
}

/* Parses the data line into row r of x and y (see idl_csv_stream_next). */
static idl_status parse_into(const idl_csv_stream *s, const char *line, int target, idl_mat *x,
                             idl_mat *y, int r, idl_csv_error *err)
{
    const char *p = line;
    for (int c = 0, j = 0; c < s->cols; c++) {
        const char *e = strchr(p, s->opts.delimiter);
        if (!e)
            e = p + strlen(p);
        double v;
        if (!idl_csv_parse_number(p, e, &v)) {
            set_error(err, s->lineno, c + 1, "not a number");
            return IDL_EPARSE;
        }
        if (c == target)
            IDL_AT(y, r, 0) = v;
        else
            IDL_AT(x, r, j++) = v;
        p = e + 1;
    }
    return IDL_OK;
}

static idl_status check_fields(const idl_csv_stream *s, const char *line, idl_csv_error *err)
{
    int nf = idl_csv_count_fields(line, s->opts.delimiter);
    if (nf == s->cols)
        return IDL_OK;
    char msg[96];
    snprintf(msg, sizeof msg, "expected %d fields, found %d", s->cols, nf);
    set_error(err, s->lineno, nf > s->cols ? s->cols + 1 : nf, msg);
    return IDL_EPARSE;
}

idl_status idl_csv_stream_next(idl_csv_stream *s, int target, idl_mat *x, idl_mat *y, int *nread,
                               idl_csv_error *err)
{
    *nread = 0;
    if (target < -1 || target >= s->cols || x->cols != s->cols - (target >= 0) ||
        (target >= 0) != (y != NULL) || (y && (y->rows != x->rows || y->cols != 1)))
        return IDL_EDIM;
    while (*nread < x->rows) {
        char *line = NULL;
        off_t at;
        idl_status st = take_nonblank(s, &line, &at, err);
        if (st == IDL_OK && line)
            st = check_fields(s, line, err);
        bool mine = line && s->row % s->opts.shard_size == s->opts.shard_rank;
        if (st == IDL_OK && mine)
            st = parse_into(s, line, target, x, y, *nread, err);
        if (st != IDL_OK || !line)
            return st;
        s->row++;
        *nread += mine;
    }
    return IDL_OK;
}
