/* link_idl.c - a C program built against the INSTALLED libidl (headers
 * <idl/...>, `pkg-config --cflags --libs idl`): solves the equilibrium
 * x = (D x + b)_+ for D = I/2, b = (1, -1), whose unique solution is (2, 0). */
#include <idl/equilibrium.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    double d[4] = {0.5, 0, 0, 0.5}, b[2] = {1, -1}, x[2] = {0, 0};
    idl_mat dm = idl_mat_wrap(d, 2, 2), bm = idl_mat_wrap(b, 2, 1), xm = idl_mat_wrap(x, 2, 1);
    idl_eq_opts opts = idl_eq_defaults();
    double *work = malloc((idl_eq_work_size(&opts, 2, 1) + 1) * sizeof *work);
    idl_eq_info info;
    idl_status s = work ? idl_equilibrium(&dm, &bm, &xm, &opts, work, &info) : IDL_ENOMEM;
    free(work);
    if (s != IDL_OK || !info.converged || fabs(x[0] - 2) > 1e-9 || x[1] != 0) {
        fprintf(stderr, "link_idl: %s, x = (%g, %g)\n", idl_strerror(s), x[0], x[1]);
        return 1;
    }
    printf("x = (%g, %g) after %d iterations (%s)\n", x[0], x[1], info.iterations,
           idl_eq_stop_name(info.stop));
    return 0;
}
