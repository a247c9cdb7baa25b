#include "csv.h"

#include "file.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_error(idl_csv_error *err, int line, int column, const char *what)
{
    err->line = line;
    err->column = column;
    snprintf(err->message, sizeof err->message, "%s", what);
}

/* The whole file as a NUL-terminated string, or NULL with err set. */
static char *slurp(const char *path, idl_csv_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_error(err, 0, 0, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        set_error(err, 0, 0, buf ? "read error" : "out of memory");
        return NULL;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        set_error(err, 0, 0, "file contains a NUL byte (not a text CSV)");
        return NULL;
    }
    return buf;
}

/* Cuts the next line out of *p in place; NULL at the end. */
static char *next_line(char **p)
{
    if (!**p)
        return NULL;
    char *line = *p, *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    /* every trailing '\r' is part of the line end ("\r\r\n" too): a field
     * ending in '\r' could not be written back */
    size_t n = strlen(line);
    while (n && line[n - 1] == '\r')
        line[--n] = '\0';
    return line;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

static int count_fields(const char *line, char delim)
{
    int n = 1;
    for (; *line; line++)
        n += *line == delim;
    return n;
}

/* Parses one numeric field [s, end); true on success. */
static bool parse_number(const char *s, const char *end, double *v)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s == end)
        return false;
    char tmp[128];
    size_t n = (size_t)(end - s);
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *stop;
    errno = 0;
    *v = strtod(tmp, &stop);
    return *stop == '\0' && !(errno == ERANGE && isinf(*v));
}

static bool line_is_numeric(const char *line, char delim)
{
    const char *s = line;
    for (;;) {
        const char *e = strchr(s, delim);
        if (!e)
            e = s + strlen(s);
        double v;
        if (!parse_number(s, e, &v))
            return false;
        if (!*e)
            return true;
        s = e + 1;
    }
}

static char **split_names(const char *line, char delim, int cols)
{
    char **names = calloc((size_t)cols, sizeof *names);
    const char *s = line;
    for (int c = 0; names && c < cols; c++) {
        const char *e = strchr(s, delim);
        if (!e)
            e = s + strlen(s);
        names[c] = malloc((size_t)(e - s) + 1);
        if (!names[c]) {
            for (int k = 0; k < c; k++)
                free(names[k]);
            free(names);
            return NULL;
        }
        memcpy(names[c], s, (size_t)(e - s));
        names[c][e - s] = '\0';
        s = *e ? e + 1 : e;
    }
    return names;
}

/* Appends one data line to t; t->cols is fixed by the first data line. */
static idl_status parse_row(const char *line, int lineno, char delim, size_t *cap,
                            idl_csv_table *t, idl_csv_error *err)
{
    int nf = count_fields(line, delim);
    if (t->cols == 0)
        t->cols = nf;
    if (nf != t->cols) {
        char msg[96];
        snprintf(msg, sizeof msg, "expected %d fields, found %d", t->cols, nf);
        set_error(err, lineno, nf > t->cols ? t->cols + 1 : nf, msg);
        return IDL_EPARSE;
    }
    size_t need = ((size_t)t->rows + 1) * (size_t)t->cols;
    if (need > *cap) {
        size_t ncap = *cap ? 2 * *cap : 1024;
        while (ncap < need)
            ncap *= 2;
        double *v = realloc(t->values, ncap * sizeof *v);
        if (!v) {
            set_error(err, lineno, 0, "out of memory");
            return IDL_ENOMEM;
        }
        t->values = v;
        *cap = ncap;
    }
    double *row = t->values + (size_t)t->rows * (size_t)t->cols;
    const char *s = line;
    for (int c = 0; c < t->cols; c++) {
        const char *e = strchr(s, delim);
        if (!e)
            e = s + strlen(s);
        if (!parse_number(s, e, &row[c])) {
            set_error(err, lineno, c + 1, "not a number");
            return IDL_EPARSE;
        }
        s = e + 1;
    }
    t->rows++;
    return IDL_OK;
}

static idl_status parse_text(char *p, char delim, idl_csv_header header, idl_csv_table *t,
                             idl_csv_error *err)
{
    size_t cap = 0;
    bool first = true;
    int lineno = 1;
    for (char *line; (line = next_line(&p)); lineno++) {
        if (blank(line))
            continue;
        if (first && idl_csv_is_header(line, delim, header)) {
            t->cols = count_fields(line, delim);
            t->names = split_names(line, delim, t->cols);
            if (!t->names)
                return IDL_ENOMEM;
            first = false;
            continue;
        }
        first = false;
        idl_status st = parse_row(line, lineno, delim, &cap, t, err);
        if (st != IDL_OK)
            return st;
    }
    if (t->rows == 0) {
        set_error(err, lineno, 0, t->names ? "file has a header but no data" : "file has no data");
        return IDL_EPARSE;
    }
    return IDL_OK;
}

idl_status idl_csv_read(const char *path, char delimiter, idl_csv_header header,
                        idl_csv_table *out, idl_csv_error *err)
{
    memset(out, 0, sizeof *out);
    set_error(err, 0, 0, "");
    char *text = slurp(path, err);
    if (!text)
        return IDL_EIO;
    idl_status st = parse_text(text, delimiter, header, out, err);
    free(text);
    if (st != IDL_OK)
        idl_csv_free(out);
    return st;
}

void idl_csv_free(idl_csv_table *t)
{
    if (t->names)
        for (int c = 0; c < t->cols; c++)
            free(t->names[c]);
    free(t->names);
    free(t->values);
    memset(t, 0, sizeof *t);
}

int idl_csv_bad_name(const char *const *names, int cols, char delimiter)
{
    for (int c = 0; c < cols; c++) {
        const char *s = names[c];
        size_t n = strlen(s);
        if (strchr(s, delimiter) || strchr(s, '\n') || (c == cols - 1 && n && s[n - 1] == '\r') ||
            (cols == 1 && blank(s)))
            return c;
    }
    return -1;
}

/* The header line and the rows of m, through the writer. */
static void write_rows(idl_writer *w, const idl_mat *m, const char *const *names, char delimiter)
{
    if (names)
        for (int c = 0; c < m->cols; c++) {
            idl_writer_write(w, names[c], strlen(names[c]));
            idl_writer_write(w, c + 1 < m->cols ? &delimiter : "\n", 1);
        }
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++)
            if (idl_writer_printf(w, "%.17g%c", IDL_AT(m, r, c), c + 1 < m->cols ? delimiter : '\n') !=
                IDL_OK)
                return;
}

idl_status idl_csv_write(const char *path, const idl_mat *m, const char *const *names,
                         char delimiter, idl_csv_error *err)
{
    idl_csv_error ignored;
    if (!err)
        err = &ignored;
    set_error(err, 0, 0, "");
    if (names && idl_csv_bad_name(names, m->cols, delimiter) >= 0)
        return IDL_EINVAL;
    idl_writer *w = malloc(sizeof *w);
    if (!w)
        return IDL_ENOMEM;
    idl_status st = idl_writer_open(w, path);
    if (st == IDL_OK) {
        write_rows(w, m, names, delimiter);
        st = idl_writer_commit(w);
    }
    if (st == IDL_EIO)
        set_error(err, 0, 0, idl_writer_reason(w));
    free(w);
    return st;
}

bool idl_csv_blank(const char *line)
{
    return blank(line);
}

int idl_csv_count_fields(const char *line, char delimiter)
{
    return count_fields(line, delimiter);
}

bool idl_csv_parse_number(const char *s, const char *end, double *v)
{
    return parse_number(s, end, v);
}

bool idl_csv_is_header(const char *line, char delimiter, idl_csv_header mode)
{
    return mode == IDL_CSV_HEADER || (mode == IDL_CSV_AUTO && !line_is_numeric(line, delimiter));
}

char **idl_csv_split_names(const char *line, char delimiter, int cols)
{
    return split_names(line, delimiter, cols);
}
