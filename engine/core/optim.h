/*
 * optim.h - fused elementwise parameter updates for first-order optimizers.
 *
 * Each function updates its matrices in place in one pass (no temporaries),
 * so an optimizer step costs one sweep over the parameters. All matrices of
 * one call have the same shape; none may alias another.
 */
#ifndef IDL_OPTIM_H
#define IDL_OPTIM_H

#include "mat.h"

typedef struct idl_adam_opts {
    double lr, beta1, beta2, eps, weight_decay;
    long t; /* the step number, 1 for the first step (bias correction) */
} idl_adam_opts;

/* Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW when > 0):
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * p -= lr (mhat / (sqrt(vhat) + eps) + wd p). */
idl_status idl_adam_step(idl_mat *param, const idl_mat *grad, idl_mat *m, idl_mat *v,
                         const idl_adam_opts *o);

/* SGD with (heavy-ball) momentum: buf = mu buf + g, p -= lr (buf + wd p);
 * with mu = 0, buf may be NULL. */
idl_status idl_sgd_step(idl_mat *param, const idl_mat *grad, idl_mat *buf, double lr,
                        double momentum, double weight_decay);

#endif
