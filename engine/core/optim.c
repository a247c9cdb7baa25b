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
    double step = o->lr / c1, vscale = 1.0 / sqrt(c2);
    for (int j = 0; j < param->cols; j++)
        for (int i = 0; i < param->rows; i++) {
            double g = IDL_AT(grad, i, j);
            double *mi = &IDL_AT(m, i, j), *vi = &IDL_AT(v, i, j), *p = &IDL_AT(param, i, j);
            *mi = o->beta1 * *mi + (1.0 - o->beta1) * g;
            *vi = o->beta2 * *vi + (1.0 - o->beta2) * g * g;
            *p -= step * *mi / (sqrt(*vi) * vscale + o->eps) + o->lr * o->weight_decay * *p;
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
