/*
 * status.h - the error codes every libidl function returns.
 *
 * Core functions never print, exit or longjmp: they return an idl_status and
 * leave outputs untouched or unspecified on failure (each function says which).
 */
#ifndef IDL_STATUS_H
#define IDL_STATUS_H

typedef enum idl_status {
    IDL_OK = 0,
    IDL_EDIM,     /* operand shapes do not agree */
    IDL_EINVAL,   /* an argument is out of its domain (negative size, bad flag) */
    IDL_ENOMEM,   /* an allocation failed */
    IDL_ENONFINITE, /* a NaN or an infinity where finite numbers are required */
    IDL_ENOCONV,  /* an iteration stopped before reaching its tolerance */
    IDL_ELAPACK,  /* LAPACK or GSL reported a failure */
    IDL_EIO,      /* a file could not be opened, read or written */
    IDL_EPARSE,   /* a file's contents are malformed */
    IDL_EILLPOSED /* D offers no guarantee that the equilibrium is unique */
} idl_status;

/* A short static English description of a status, never NULL. */
const char *idl_strerror(idl_status s);

#endif
