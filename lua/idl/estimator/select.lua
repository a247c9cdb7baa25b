--- Which model a fit keeps when it drew its own hold-out: the trained one
-- only when the hold-out shows it better than the start (the linear model
-- for the default "linear" initialization) by more than one standard error
-- of the per-sample difference of their losses. A trained round that won by
-- less won by the noise of a small hold-out, and on near-linear tables the
-- start, refitted on all the training samples, is the better bet (the
-- "one standard error" rule of model selection).
-- @module idl.estimator.select

local core = require "idl.core"

local select_model = {}

-- The loss of each column of U, Y under model m (predictions solved to tol),
-- as an array: the columns copied into two reused p x 1 buffers (no view or
-- matrix per sample: a hold-out of thousands made as many garbage userdata).
local function per_sample_losses(m, U, Y, tol, spec)
  local Yhat = m:predict_u(U, {tol = tol})
  local p, out = Y:rows(), {}
  local yhat_j, y_j = core.zeros(p, 1), core.zeros(p, 1)
  for j = 1, Y:cols() do
    for i = 1, p do
      yhat_j:set(i, 1, Yhat:get(i, j))
      y_j:set(i, 1, Y:get(i, j))
    end
    out[j] = spec.value(yhat_j, y_j)
  end
  return out
end

--- select_model.trained_wins(trained, start, eval, tol, spec) -> whether the
-- trained model's mean loss on eval = {U =, Y =} is below the start's by
-- more than one standard error of the per-sample differences; and that
-- mean difference and its standard error (both nil with fewer than 2
-- samples, when the trained model wins: no rule can be read off one sample).
function select_model.trained_wins(trained, start, eval, tol, spec)
  local n = eval.Y:cols()
  if n < 2 then return true end
  local a = per_sample_losses(trained, eval.U, eval.Y, tol, spec)
  local b = per_sample_losses(start, eval.U, eval.Y, tol, spec)
  local mean = 0
  for j = 1, n do mean = mean + (a[j] - b[j]) end
  mean = mean / n
  local ss = 0
  for j = 1, n do ss = ss + (a[j] - b[j] - mean) ^ 2 end
  local se = math.sqrt(ss / (n - 1) / n)
  return mean < -se, mean, se
end

return select_model
