#include "hash.h"

static const uint64_t FNV_OFFSET = 14695981039346656037ULL;
static const uint64_t FNV_PRIME = 1099511628211ULL;

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

idl_status idl_mat_hash(const idl_mat *m, uint64_t *out)
{
    /* the shape first: a 2x3 and a 3x2 of the same bytes differ */
    int64_t shape[2] = {m->rows, m->cols};
    uint64_t h = fnv1a(FNV_OFFSET, shape, sizeof shape);
    for (int j = 0; m->rows > 0 && j < m->cols; j++)
        h = fnv1a(h, &IDL_AT(m, 0, j), (size_t)m->rows * sizeof(double));
    *out = h;
    return IDL_OK;
}
