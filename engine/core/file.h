/*
 * file.h - files written atomically: the one writer behind every file the
 * project writes (models, checkpoints, CSV, JSON, text, figures' data).
 *
 * The bytes go to a temporary file beside the target, named
 * ".<name>.idl-tmp.<pid>.<random>" (name shortened when the target's name is
 * near NAME_MAX), created exclusively. Every write and the close are checked;
 * the file is fsync'ed, then renamed over the target, so a reader sees the old
 * file or the whole new one, never a part. On any failure the temporary is
 * removed and the old file is left as it was; the errno of the first failure
 * and the step that failed are kept for the message. Opening removes the
 * temporaries that dead processes left for the same target.
 *
 * Ownership: the caller owns the idl_writer (it is large: allocate it);
 * idl_writer_open fills it, and exactly one of idl_writer_commit or
 * idl_writer_abort must follow a successful open; both release what open took.
 */
#ifndef IDL_FILE_H
#define IDL_FILE_H

#include <stddef.h>

#include "status.h"

#define IDL_WRITER_BUFFER 65536

typedef struct idl_writer {
    int fd;           /* the temporary file, -1 when closed */
    char *path;       /* the target (a copy) */
    char *tmp;        /* the temporary's path */
    size_t len;       /* bytes waiting in buf */
    int error;        /* errno of the first failure, 0 while all went well */
    const char *step; /* what failed: "create", "write", "sync", "close", "rename" */
    char buf[IDL_WRITER_BUFFER];
} idl_writer;

/* Creates the temporary for path. IDL_EIO with w->error, w->step set (nothing
 * to release) when it cannot; IDL_ENOMEM. */
idl_status idl_writer_open(idl_writer *w, const char *path);

/* Appends n bytes. After a failure, later writes do nothing and return IDL_EIO. */
idl_status idl_writer_write(idl_writer *w, const void *data, size_t n);

/* Appends printf-formatted text (the format is the caller's own, never data). */
idl_status idl_writer_printf(idl_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Flushes, fsyncs, closes and renames over the target; on any failure (now
 * or earlier) removes the temporary and returns IDL_EIO with w->error set. */
idl_status idl_writer_commit(idl_writer *w);

/* Gives up: closes and removes the temporary; the target is untouched. */
void idl_writer_abort(idl_writer *w);

/* The system's reason for the failure (strerror of w->error). */
const char *idl_writer_reason(const idl_writer *w);

/* The temporary-name prefix for path's final component `name` of length n:
 * writes ".<name, shortened>.idl-tmp." into out (size cap) and returns its
 * length, or 0 when cap is too small. Exposed for tests. */
size_t idl_writer_tmp_prefix(const char *name, size_t n, char *out, size_t cap);

#endif
