/*
 * rng.h - seeded random numbers (GSL's mt19937), so that a seed reproduces a
 * run bit for bit.
 *
 * Ownership: idl_rng_new allocates, idl_rng_free releases; every other function
 * borrows the generator. Fills write into caller-owned matrices.
 */
#ifndef IDL_RNG_H
#define IDL_RNG_H

#include <stddef.h>

#include "mat.h"

typedef struct idl_rng idl_rng;

/* A new generator seeded with seed, or NULL when memory runs out. */
idl_rng *idl_rng_new(unsigned long seed);
void idl_rng_free(idl_rng *r);

/* A generator in caller-owned memory of idl_rng_bytes() bytes (aligned for
 * any type), seeded with seed; it needs no idl_rng_free. The Lua binding keeps
 * it inside a userdata, so the collector counts its ~5 KB of state. */
size_t idl_rng_bytes(void);
idl_rng *idl_rng_init(void *mem, unsigned long seed);

/* Uniform on [0, 1). */
double idl_rng_uniform(idl_rng *r);

/* Standard normal (ziggurat). */
double idl_rng_normal(idl_rng *r);

/* Uniform integer on [0, n), n >= 1. */
unsigned long idl_rng_below(idl_rng *r, unsigned long n);

/* X filled with independent draws: uniform on [lo, hi) or normal(mean, sd). */
void idl_rng_fill_uniform(idl_rng *r, idl_mat *x, double lo, double hi);
void idl_rng_fill_normal(idl_rng *r, idl_mat *x, double mean, double sd);

/* perm[0..n-1] becomes a uniformly random permutation of 0..n-1. */
void idl_rng_permutation(idl_rng *r, size_t *perm, size_t n);

/* The generator's full state as bytes (to checkpoint a run) and back.
 * idl_rng_state_size gives the byte count; set_state fails with IDL_EINVAL
 * when the size does not match and with IDL_EPARSE when the bytes are not a
 * state of this generator (a corrupted checkpoint); the generator is then
 * unchanged. */
size_t idl_rng_state_size(const idl_rng *r);
void idl_rng_get_state(const idl_rng *r, void *bytes);
idl_status idl_rng_set_state(idl_rng *r, const void *bytes, size_t size);

#endif
