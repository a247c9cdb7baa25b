#include "loss.h"

#include <math.h>

static bool same(const idl_mat *a, const idl_mat *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

idl_status idl_squared_loss(const idl_mat *yhat, const idl_mat *y, idl_mat *grad, double *loss)
{
    if (!same(yhat, y) || (grad && !same(yhat, grad)))
        return IDL_EDIM;
    if (yhat->cols == 0)
        return IDL_EINVAL;
    double m = (double)yhat->cols, s = 0.0;
    for (int j = 0; j < yhat->cols; j++)
        for (int i = 0; i < yhat->rows; i++) {
            double r = IDL_AT(yhat, i, j) - IDL_AT(y, i, j);
            s += r * r;
            if (grad)
                IDL_AT(grad, i, j) = r / m;
        }
    *loss = s / (2.0 * m);
    return IDL_OK;
}

/* log(sum(exp(z))) of one column, shifted by its maximum for stability. */
static double log_sum_exp(const double *z, int n)
{
    double mx = z[0];
    for (int i = 1; i < n; i++)
        if (z[i] > mx)
            mx = z[i];
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += exp(z[i] - mx);
    return mx + log(s);
}

idl_status idl_softmax_xent(const idl_mat *yhat, const idl_mat *y, idl_mat *grad, double *loss)
{
    if (!same(yhat, y) || (grad && !same(yhat, grad)))
        return IDL_EDIM;
    if (yhat->cols == 0 || yhat->rows == 0)
        return IDL_EINVAL;
    double m = (double)yhat->cols, total = 0.0;
    for (int j = 0; j < yhat->cols; j++) {
        const double *z = &IDL_AT(yhat, 0, j), *t = &IDL_AT(y, 0, j);
        double lse = log_sum_exp(z, yhat->rows);
        for (int i = 0; i < yhat->rows; i++) {
            total -= t[i] * (z[i] - lse);
            if (grad)
                IDL_AT(grad, i, j) = (exp(z[i] - lse) - t[i]) / m;
        }
    }
    *loss = total / m;
    return IDL_OK;
}

idl_status idl_softmax(const idl_mat *z, idl_mat *p)
{
    if (!same(z, p))
        return IDL_EDIM;
    if (z->rows == 0)
        return IDL_OK;
    for (int j = 0; j < z->cols; j++) {
        double lse = log_sum_exp(&IDL_AT(z, 0, j), z->rows);
        for (int i = 0; i < z->rows; i++)
            IDL_AT(p, i, j) = exp(IDL_AT(z, i, j) - lse);
    }
    return IDL_OK;
}
