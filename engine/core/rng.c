#include "rng.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

struct idl_rng {
    gsl_rng *g;  /* GSL's allocation (idl_rng_new), or &own (idl_rng_init) */
    gsl_rng own; /* for idl_rng_init: its state follows this struct */
};

size_t idl_rng_bytes(void)
{
    return sizeof(idl_rng) + gsl_rng_mt19937->size;
}

idl_rng *idl_rng_init(void *mem, unsigned long seed)
{
    /* gsl_rng is a public struct {type, state}; GSL's functions only read
     * those two fields, so a generator can live in memory GSL did not allocate. */
    idl_rng *r = mem;
    /* zeroed, padding included: rng:state() exports every byte, and a
     * checkpoint must not carry (or compare) garbage */
    memset(mem, 0, idl_rng_bytes());
    r->own.type = gsl_rng_mt19937;
    r->own.state = r + 1;
    r->g = &r->own;
    gsl_rng_set(r->g, seed);
    return r;
}

idl_rng *idl_rng_new(unsigned long seed)
{
    idl_rng *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->g = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r->g) {
        free(r);
        return NULL;
    }
    gsl_rng_set(r->g, seed);
    return r;
}

void idl_rng_free(idl_rng *r)
{
    if (r) {
        gsl_rng_free(r->g);
        free(r);
    }
}

double idl_rng_uniform(idl_rng *r)
{
    return gsl_rng_uniform(r->g);
}

double idl_rng_normal(idl_rng *r)
{
    return gsl_ran_gaussian_ziggurat(r->g, 1.0);
}

unsigned long idl_rng_below(idl_rng *r, unsigned long n)
{
    return gsl_rng_uniform_int(r->g, n);
}

void idl_rng_fill_uniform(idl_rng *r, idl_mat *x, double lo, double hi)
{
    for (int j = 0; j < x->cols; j++)
        for (int i = 0; i < x->rows; i++)
            IDL_AT(x, i, j) = lo + (hi - lo) * gsl_rng_uniform(r->g);
}

void idl_rng_fill_normal(idl_rng *r, idl_mat *x, double mean, double sd)
{
    for (int j = 0; j < x->cols; j++)
        for (int i = 0; i < x->rows; i++)
            IDL_AT(x, i, j) = mean + sd * gsl_ran_gaussian_ziggurat(r->g, 1.0);
}

void idl_rng_permutation(idl_rng *r, size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    /* Fisher-Yates from the top, one draw per position. */
    for (size_t i = n; i > 1; i--) {
        size_t j = gsl_rng_uniform_int(r->g, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

size_t idl_rng_state_size(const idl_rng *r)
{
    return gsl_rng_size(r->g);
}

void idl_rng_get_state(const idl_rng *r, void *bytes)
{
    memcpy(bytes, gsl_rng_state(r->g), gsl_rng_size(r->g));
}

/* The layout of GSL's mt19937 state (gsl/rng/mt.c). Its generator reads
 * mt[mti] unchecked, so a state read back from a corrupted file must have
 * 0 <= mti <= MT_N (a negative mti read outside the state and crashed), and
 * 32-bit words (larger ones would give draws outside [0, 1)). */
enum { MT_N = 624 };
typedef struct mt_state {
    unsigned long mt[MT_N];
    int mti;
} mt_state;

idl_status idl_rng_set_state(idl_rng *r, const void *bytes, size_t size)
{
    if (size != gsl_rng_size(r->g) || size != sizeof(mt_state))
        return IDL_EINVAL;
    mt_state s;
    memcpy(&s, bytes, sizeof s);
    if (s.mti < 0 || s.mti > MT_N)
        return IDL_EPARSE;
    for (int i = 0; i < MT_N; i++)
        if (s.mt[i] > 0xffffffffUL)
            return IDL_EPARSE;
    memcpy(gsl_rng_state(r->g), bytes, size);
    return IDL_OK;
}
