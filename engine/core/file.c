#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

static const char TMP_TAG[] = ".idl-tmp.";
/* "<pid>.<16 hex digits>" after the prefix: at most 20 + 1 + 16 bytes */
#define TMP_SUFFIX_MAX 37

static idl_status fail(idl_writer *w, const char *step)
{
    if (w->error == 0) {
        w->error = errno ? errno : EIO;
        w->step = step;
    }
    return IDL_EIO;
}

size_t idl_writer_tmp_prefix(const char *name, size_t n, char *out, size_t cap)
{
    size_t room = NAME_MAX - 1 - (sizeof TMP_TAG - 1) - TMP_SUFFIX_MAX;
    if (n > room)
        n = room; /* the temporary's name is shortened, never the target's */
    size_t len = 1 + n + sizeof TMP_TAG - 1;
    if (len + 1 > cap)
        return 0;
    out[0] = '.';
    memcpy(out + 1, name, n);
    memcpy(out + 1 + n, TMP_TAG, sizeof TMP_TAG);
    return len;
}

/* 64 random bits: /dev/urandom, else the clock mixed with a counter. */
static uint64_t random_bits(void)
{
    static uint64_t counter;
    uint64_t r = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, &r, sizeof r);
        close(fd);
        if (got == (ssize_t)sizeof r)
            return r;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ (++counter << 40);
    return r * 0x9E3779B97F4A7C15u;
}

/* Whether process pid is alive (or not ours to signal, which means it is). */
static int pid_alive(long pid)
{
    if (pid <= 0 || (pid_t)pid != pid)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Removes "<dir>/<prefix><pid>.<hex>" entries whose process is dead: the
 * temporaries of writers killed before they could clean up. Best effort. */
static void remove_stale(const char *dir, const char *prefix, size_t plen)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    int saved = errno;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (end == e->d_name + plen || *end != '.' || strspn(end + 1, "0123456789abcdef") != 16 ||
            end[17] != '\0' || pid_alive(pid))
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (p) {
            snprintf(p, n, "%s/%s", dir, e->d_name);
            unlink(p);
            free(p);
        }
    }
    closedir(d);
    errno = saved;
}

/* Fills w->tmp with a fresh name beside path and creates it exclusively. */
static idl_status create_tmp(idl_writer *w, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(dlen + 2);
    size_t cap = dlen + NAME_MAX + 2;
    w->tmp = malloc(cap);
    if (!dir || !w->tmp) {
        free(dir);
        return IDL_ENOMEM;
    }
    memcpy(dir, slash ? path : ".", dlen);
    dir[dlen] = '\0';
    if (slash && dlen == 0)
        strcpy(dir, "/");
    char prefix[NAME_MAX + 1];
    size_t plen = idl_writer_tmp_prefix(name, strlen(name), prefix, sizeof prefix);
    if (*name == '\0') {
        free(dir);
        errno = EISDIR;
        return fail(w, "create");
    }
    remove_stale(dir, prefix, plen);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(w->tmp, cap, "%s/%s%ld.%016llx", dir, prefix, (long)getpid(),
                 (unsigned long long)random_bits());
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd >= 0 || errno != EEXIST)
            break;
    }
    free(dir);
    return w->fd >= 0 ? IDL_OK : fail(w, "create");
}

idl_status idl_writer_open(idl_writer *w, const char *path)
{
    w->fd = -1;
    w->len = 0;
    w->error = 0;
    w->step = NULL;
    w->tmp = NULL;
    w->path = malloc(strlen(path) + 1);
    if (!w->path)
        return IDL_ENOMEM;
    strcpy(w->path, path);
    idl_status st = create_tmp(w, path);
    if (st != IDL_OK) {
        free(w->path);
        free(w->tmp);
        w->path = w->tmp = NULL;
    }
    return st;
}

/* Writes the buffer out, through short writes and interruptions. */
static idl_status flush(idl_writer *w)
{
    size_t done = 0;
    while (done < w->len) {
        ssize_t k = write(w->fd, w->buf + done, w->len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return fail(w, "write");
        }
        done += (size_t)k;
    }
    w->len = 0;
    return IDL_OK;
}

idl_status idl_writer_write(idl_writer *w, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        if (w->error)
            return IDL_EIO;
        if (w->len == sizeof w->buf && flush(w) != IDL_OK)
            return IDL_EIO;
        size_t k = sizeof w->buf - w->len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        p += k;
        n -= k;
    }
    return w->error ? IDL_EIO : IDL_OK;
}

idl_status idl_writer_printf(idl_writer *w, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof text) {
        errno = EOVERFLOW;
        return fail(w, "write");
    }
    return idl_writer_write(w, text, (size_t)n);
}

static void release(idl_writer *w)
{
    free(w->path);
    free(w->tmp);
    w->path = w->tmp = NULL;
}

void idl_writer_abort(idl_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp)
        unlink(w->tmp);
    release(w);
}

/* fsync of the directory, so the rename itself survives a crash; best effort
 * (some file systems refuse to sync a directory, and the data is in place). */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash)
        strcpy(dir, ".");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

idl_status idl_writer_commit(idl_writer *w)
{
    if (!w->error && w->len)
        flush(w);
    if (!w->error && fsync(w->fd) != 0)
        fail(w, "sync");
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && !w->error)
        fail(w, "close");
    if (!w->error && rename(w->tmp, w->path) != 0)
        fail(w, "rename");
    if (w->error) {
        unlink(w->tmp);
        release(w);
        return IDL_EIO;
    }
    sync_dir(w->path);
    release(w);
    return IDL_OK;
}

const char *idl_writer_reason(const idl_writer *w)
{
    return strerror(w->error ? w->error : EIO);
}
