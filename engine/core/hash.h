/*
 * hash.h - exact fingerprints of data: a 64-bit FNV-1a hash of a matrix's
 * shape and the bytes of its doubles, column by column (column-major order;
 * the padding between columns, ld > rows, is not part of it).
 *
 * Order-sensitive and exact: swapping two entries, two columns or two samples,
 * or changing one bit of one entry, changes the hash (up to collisions of a
 * 64-bit hash). A checkpoint stores it to refuse a resume on other data.
 */
#ifndef IDL_HASH_H
#define IDL_HASH_H

#include <stdint.h>

#include "mat.h"

/* The hash of m into *out (never fails for a valid m: IDL_OK). */
idl_status idl_mat_hash(const idl_mat *m, uint64_t *out);

#endif
