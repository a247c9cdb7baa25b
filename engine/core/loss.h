/*
 * loss.h - training losses of the output layer and their gradients with
 * respect to the predictions. Columns are samples: Yhat and Y are p x m.
 * Both losses are averaged over the m samples; the gradient is written into a
 * caller-owned p x m matrix (it may be NULL when only the value is wanted).
 */
#ifndef IDL_LOSS_H
#define IDL_LOSS_H

#include "mat.h"

/* loss = ||Yhat - Y||_F^2 / (2m); grad = (Yhat - Y) / m. */
idl_status idl_squared_loss(const idl_mat *yhat, const idl_mat *y, idl_mat *grad, double *loss);

/* Softmax cross-entropy with targets Y (each column a probability vector,
 * usually one-hot): loss = -(1/m) sum_j Y_j . log softmax(Yhat_j);
 * grad = (softmax(Yhat) - Y) / m. Stable for large logits (max subtracted). */
idl_status idl_softmax_xent(const idl_mat *yhat, const idl_mat *y, idl_mat *grad, double *loss);

/* P = softmax of each column of Z (P may be Z). */
idl_status idl_softmax(const idl_mat *z, idl_mat *p);

#endif
