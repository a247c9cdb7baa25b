/* test_file.c - the atomic writer (file.h): commit, abort, failure, names. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "testutil.h"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Number of entries of dir whose name contains ".idl-tmp.". */
static int temporaries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '[.]idl-tmp[.]'", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

int main(void)
{
    char dir[] = "/tmp/idl_test_file_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    idl_writer *w = malloc(sizeof *w);

    /* commit: the whole text, bigger than the buffer, and no temporary left */
    CHECK(idl_writer_open(w, path) == IDL_OK);
    int all_ok = 1;
    for (int i = 0; i < 20000; i++)
        all_ok &= idl_writer_printf(w, "%d\n", i) == IDL_OK;
    CHECK(all_ok);
    CHECK(idl_writer_commit(w) == IDL_OK);
    char *text = slurp(path);
    CHECK(text && strncmp(text, "0\n1\n2\n", 6) == 0 && strstr(text, "\n19999\n"));
    CHECK(temporaries(dir) == 0);

    /* abort: the old file stays, the temporary goes */
    CHECK(idl_writer_open(w, path) == IDL_OK);
    CHECK(idl_writer_write(w, "new", 3) == IDL_OK);
    CHECK(temporaries(dir) == 1);
    idl_writer_abort(w);
    text = slurp(path);
    CHECK(text && strncmp(text, "0\n1\n", 4) == 0);
    CHECK(temporaries(dir) == 0);

    /* failure: a missing directory is reported with its errno and step */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir.txt", dir);
    CHECK(idl_writer_open(w, missing) == IDL_EIO);
    CHECK(w->error == ENOENT && strcmp(w->step, "create") == 0);
    CHECK(strcmp(idl_writer_reason(w), strerror(ENOENT)) == 0);

    /* names: a final component of NAME_MAX bytes gets a shorter temporary */
    char name[NAME_MAX + 1], prefix[NAME_MAX + 1];
    memset(name, 'n', NAME_MAX);
    name[NAME_MAX] = '\0';
    size_t plen = idl_writer_tmp_prefix(name, NAME_MAX, prefix, sizeof prefix);
    CHECK(plen > 0 && plen + 37 <= NAME_MAX);
    CHECK(strncmp(prefix, ".nnn", 4) == 0 && strcmp(prefix + plen - 9, ".idl-tmp.") == 0);
    CHECK(idl_writer_tmp_prefix("a", 1, prefix, sizeof prefix) == 11 && strcmp(prefix, ".a.idl-tmp.") == 0);
    char long_path[NAME_MAX + 64];
    snprintf(long_path, sizeof long_path, "%s/%s", dir, name);
    CHECK(idl_writer_open(w, long_path) == IDL_OK);
    CHECK(idl_writer_write(w, "x", 1) == IDL_OK);
    CHECK(idl_writer_commit(w) == IDL_OK);
    text = slurp(long_path);
    CHECK(text && strcmp(text, "x") == 0);

    free(w);
    unlink(long_path);
    unlink(path);
    rmdir(dir);
    printf("%d passed, %d failed\n", tu_passed, tu_failed);
    return tu_failed != 0;
}
