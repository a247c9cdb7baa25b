#include "status.h"

const char *idl_strerror(idl_status s)
{
    switch (s) {
    case IDL_OK: return "success";
    case IDL_EDIM: return "shapes do not agree";
    case IDL_EINVAL: return "invalid argument";
    case IDL_ENOMEM: return "out of memory";
    case IDL_ENONFINITE: return "NaN or infinite value";
    case IDL_ENOCONV: return "iteration did not converge";
    case IDL_ELAPACK: return "LAPACK/GSL failure";
    case IDL_EIO: return "input/output error";
    case IDL_EPARSE: return "malformed file";
    case IDL_EILLPOSED: return "ill-posed D";
    }
    return "unknown status";
}
