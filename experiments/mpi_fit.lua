--- Data-parallel fitting: each rank of an MPI job draws its own shard of a
-- regression problem and fits it with est:fit(X, y, {distributed = true}).
-- The ranks reduce every step's gradients, so they end with the same model;
-- rank 0 prints the test RMSE, the largest parameter difference between ranks
-- and a hash of the parameters (idl.hash of the six blocks).
--
--     mpirun -np 2 build/bin/idl experiments/mpi_fit.lua [--rows 1000]
--     build/bin/idl experiments/mpi_fit.lua              (alone: a job of size 1)
--
-- --checkpoint PATH writes a checkpoint every 10 rounds and at the end (rank 0
-- writes one file holding every rank's state); --resume PATH continues such a
-- run on as many ranks, up to --rounds counted from its start: the same model,
-- bit for bit, as the run that was never stopped.
local idl = require "idl"
local mpi = require "idl.mpi"

local opts = require("idl.cli").parse(arg, {name = "mpi_fit",
  description = "an IDL model fitted data-parallel on shards spread over the ranks of an MPI job",
  options = {{"rows", "integer", 1000, "samples on each rank"}, {"rounds", "integer", 50, "epochs at most"},
    {"checkpoint", "string", "", "checkpoint file to write (every 10 rounds and at the end)"},
    {"resume", "string", "", "checkpoint file to resume from"}}})

local rank, size = mpi.rank(), mpi.size()

-- y = sin(2 x1) + x2 x3 / 2 + noise (sd 0.05), x uniform on [-1.5, 1.5]^3
local function problem(m, g)
  local X = idl.rand(m, 3, g, -1.5, 1.5)
  local y = idl.zeros(m, 1)
  for i = 1, m do
    y:set(i, 1, math.sin(2 * X:get(i, 1)) + 0.5 * X:get(i, 2) * X:get(i, 3) + g:normal(0, 0.05))
  end
  return X, y
end

local X, y = problem(opts.rows, idl.rng(1000 + rank)) -- this rank's shard
local Xt, yt = problem(2000, idl.rng(1)) -- the same test set on every rank

local checkpoint = opts.checkpoint ~= "" and opts.checkpoint or nil
local est = idl.IDLModel{hidden_variables = 20, random_state = 0}
est:fit(X, y, {distributed = true, rounds_number = opts.rounds, checkpoint_path = checkpoint,
  checkpoint_every = checkpoint and 10 or nil, resume = opts.resume ~= "" and opts.resume or nil})

-- every rank holds the same parameters: the largest difference to rank 0's is 0
local worst = 0
for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
  local theta = est.model.theta[k]
  worst = math.max(worst, (theta - mpi.bcast(theta:copy(), 0)):norm("max"))
end
worst = mpi.allreduce(idl.full(1, 1, worst), "max"):get(1, 1)

local d = est:predict(Xt) - yt
local hash = {}
for i, k in ipairs{"A", "B", "c", "D", "E", "f"} do hash[i] = idl.hash(est.model.theta[k]):sub(1, 4) end
if rank == 0 then
  print(string.format("%d ranks, %d samples, %d rounds (%s): test RMSE %.4f (noise 0.05); "
    .. "largest parameter difference between ranks %g; parameters %s", size, size * opts.rows,
    #est.history - 1, est.stop_reason, math.sqrt(d:hadamard(d):sum() / yt:rows()), worst,
    table.concat(hash, "")))
end
