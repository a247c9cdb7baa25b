#include "optim.h"

#include <math.h>

static bool same(const idl_mat *a, const idl_mat *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

idl_status idl_adam_step(idl_mat *param, const idl_mat *grad, idl_mat *m, idl_mat *v,
                         const idl_adam_opts *o)
{
    if (!same(param, grad) || !same(param, m) || !same(param, v))
        return IDL_EDIM;
    if (o->t < 1)
        return IDL_EINVAL;
    double c1 = 1.0 - pow(o->beta1, (double)o->t), c2 = 1.0 - pow(o->beta2, (double)o->t);
    double step = o->lr / c1, vscale = 1.0 / sqrt(c2), b1 = o->beta1, b2 = o->beta2;
    double eps = o->eps, decay = o->lr * o->weight_decay;
    /* Column pointers and locals so that GCC vectorizes the column (with
     * -fno-math-errno: sqrt of v >= 0 needs no errno path). */
    for (int j = 0; j < param->cols; j++) {
        const double *gj = &IDL_AT(grad, 0, j);
        double *mj = &IDL_AT(m, 0, j), *vj = &IDL_AT(v, 0, j), *pj = &IDL_AT(param, 0, j);
        for (int i = 0; i < param->rows; i++) {
            double g = gj[i], mi = b1 * mj[i] + (1.0 - b1) * g, vi = b2 * vj[i] + (1.0 - b2) * g * g;
            mj[i] = mi;
            vj[i] = vi;
            pj[i] -= step * mi / (sqrt(vi) * vscale + eps) + decay * pj[i];
        }
    }
    return IDL_OK;
}

idl_status idl_sgd_step(idl_mat *param, const idl_mat *grad, idl_mat *buf, double lr,
                        double momentum, double weight_decay)
{
    if (!same(param, grad) || (buf && !same(param, buf)) || (momentum != 0.0 && !buf))
        return IDL_EDIM;
    for (int j = 0; j < param->cols; j++)
        for (int i = 0; i < param->rows; i++) {
            double g = IDL_AT(grad, i, j);
            if (buf) {
                double *b = &IDL_AT(buf, i, j);
                *b = momentum * *b + g;
                g = *b;
            }
            double *p = &IDL_AT(param, i, j);
            *p -= lr * (g + weight_decay * *p);
        }
    return IDL_OK;
}
