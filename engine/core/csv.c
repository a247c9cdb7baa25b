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

typedef enum field_kind { FIELD_NUMBER, FIELD_RANGE, FIELD_TEXT } field_kind;

/* Parses one numeric field [s, end): FIELD_NUMBER with *v set, FIELD_RANGE for
 * a number beyond the doubles (1e999), FIELD_TEXT for anything else. */
static field_kind parse_field(const char *s, const char *end, double *v)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s == end)
        return FIELD_TEXT;
    char tmp[128];
    size_t n = (size_t)(end - s);
    if (n >= sizeof tmp)
        return FIELD_TEXT;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *stop;
    errno = 0;
    *v = strtod(tmp, &stop);
    if (*stop != '\0')
        return FIELD_TEXT;
    return errno == ERANGE && isinf(*v) ? FIELD_RANGE : FIELD_NUMBER;
}

static bool parse_number(const char *s, const char *end, double *v)
{
    return parse_field(s, end, v) == FIELD_NUMBER;
}

/* "not a number: '<field>'" (or "out of the range of doubles: '<field>'") for
 * the field [s, end), shortened to fit the message. */
static void field_error(idl_csv_error *err, int line, int column, const char *s, const char *end,
                        const char *hint)
{
    double v;
    field_kind kind = parse_field(s, end, &v);
    char msg[sizeof err->message];
    int n = (int)(end - s) > 40 ? 40 : (int)(end - s);
    snprintf(msg, sizeof msg, "%s: '%.*s%s'%s",
             kind == FIELD_RANGE ? "out of the range of doubles" : "not a number", n, s,
             (int)(end - s) > 40 ? "..." : "", hint);
    set_error(err, line, column, msg);
}

/* Whether the first line of a file is a header (header = "auto"): when none of
 * its fields is a number. A line that mixes numbers and text is neither a
 * header nor data: IDL_EPARSE at its first text field. */
static idl_status is_header_line(const char *line, int lineno, char delim, bool *header,
                                 idl_csv_error *err)
{
    int numbers = 0, first_text = 0;
    const char *text_s = NULL, *text_e = NULL;
    const char *s = line;
    for (int c = 1;; c++) {
        const char *e = strchr(s, delim);
        if (!e)
            e = s + strlen(s);
        double v;
        if (parse_field(s, e, &v) == FIELD_TEXT) {
            if (!first_text) {
                first_text = c;
                text_s = s;
                text_e = e;
            }
        } else {
            numbers++;
        }
        if (!*e)
            break;
        s = e + 1;
    }
    *header = numbers == 0;
    if (numbers > 0 && first_text) {
        field_error(err, lineno, first_text, text_s, text_e,
                    "; a header holds no numbers, data only numbers (header = true reads line 1 "
                    "as names)");
        return IDL_EPARSE;
    }
    return IDL_OK;
}

/* A header name as written: "..." quotes (a name that reads as a number, or
 * starts with a quote, is written quoted) are removed and "" becomes ". */
static char *unquote_name(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        size_t k = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            out[k++] = s[i];
            if (s[i] == '"' && s[i + 1] == '"' && i + 2 < n)
                i++;
        }
        out[k] = '\0';
        return out;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static char **split_names(const char *line, char delim, int cols)
{
    char **names = calloc((size_t)cols, sizeof *names);
    const char *s = line;
    for (int c = 0; names && c < cols; c++) {
        const char *e = strchr(s, delim);
        if (!e)
            e = s + strlen(s);
        names[c] = unquote_name(s, (size_t)(e - s));
        if (!names[c]) {
            for (int k = 0; k < c; k++)
                free(names[k]);
            free(names);
            return NULL;
        }
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
            field_error(err, lineno, c + 1, s, e, "");
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
    if (strncmp(p, IDL_CSV_BOM, 3) == 0)
        p += 3; /* a UTF-8 byte order mark (spreadsheet exports) is no part of the data */
    for (char *line; (line = next_line(&p)); lineno++) {
        if (blank(line))
            continue;
        bool is_header = false;
        if (first) {
            idl_status st = idl_csv_is_header(line, lineno, delim, header, &is_header, err);
            if (st != IDL_OK)
                return st;
        }
        if (first && is_header) {
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
        if (strchr(s, delimiter) || strchr(s, '\n') || (c == cols - 1 && n && s[n - 1] == '\r'))
            return c;
    }
    return -1;
}

/* One header name: quoted ("" for a quote) when it would read as a number
 * (a year, a wavelength: the header must hold no number to be told from data),
 * starts with a quote, starts with a byte order mark (at the start of the
 * file the reader would take it for the file's own and drop it) or is blank
 * (a header of one blank name would be a blank line, skipped); as it is
 * otherwise. */
static void write_name(idl_writer *w, const char *name)
{
    size_t n = strlen(name);
    double v;
    if (parse_field(name, name + n, &v) == FIELD_TEXT && name[0] != '"' &&
        strncmp(name, IDL_CSV_BOM, 3) != 0 && !blank(name)) {
        idl_writer_write(w, name, n);
        return;
    }
    idl_writer_write(w, "\"", 1);
    for (const char *q = name; *q; q++)
        idl_writer_write(w, *q == '"' ? "\"\"" : q, *q == '"' ? 2 : 1);
    idl_writer_write(w, "\"", 1);
}

idl_status idl_csv_write_names(idl_writer *w, const char *const *names, int cols, char delimiter)
{
    for (int c = 0; c < cols; c++) {
        write_name(w, names[c]);
        idl_writer_write(w, c + 1 < cols ? &delimiter : "\n", 1);
    }
    return w->error ? IDL_EIO : IDL_OK;
}

idl_status idl_csv_write_matrix(idl_writer *w, const idl_mat *m, char delimiter)
{
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++)
            if (idl_writer_printf(w, "%.17g%c", IDL_AT(m, r, c), c + 1 < m->cols ? delimiter : '\n') !=
                IDL_OK)
                return IDL_EIO;
    return IDL_OK;
}

/* The header line and the rows of m, through the writer. */
static void write_rows(idl_writer *w, const idl_mat *m, const char *const *names, char delimiter)
{
    if (names && idl_csv_write_names(w, names, m->cols, delimiter) != IDL_OK)
        return;
    idl_csv_write_matrix(w, m, delimiter);
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

idl_status idl_csv_is_header(const char *line, int lineno, char delimiter, idl_csv_header mode,
                             bool *header, idl_csv_error *err)
{
    *header = mode == IDL_CSV_HEADER;
    return mode == IDL_CSV_AUTO ? is_header_line(line, lineno, delimiter, header, err) : IDL_OK;
}

char **idl_csv_split_names(const char *line, char delimiter, int cols)
{
    return split_names(line, delimiter, cols);
}
