--- idl.mpi in a few lines: a least-squares fit whose data is split over the
-- ranks of an MPI job. Each rank draws its own shard (its own seed), sums its
-- normal equations X^T X and X^T y, and one allreduce adds every rank's sums,
-- so every rank solves the same system and holds the same weights.
--
--     mpirun -np 2 build/bin/idl experiments/mpi_hello.lua [--rows 1000]
--     build/bin/idl experiments/mpi_hello.lua            (alone: a job of size 1)
--
-- (As root, OpenMPI also wants OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;
-- on a machine with fewer cores than ranks, mpirun --oversubscribe.)
local idl = require "idl"
local mpi = require "idl.mpi"

local opts = require("idl.cli").parse(arg, {name = "mpi_hello",
  description = "a least-squares fit on data split over the ranks of an MPI job",
  options = {{"rows", "integer", 1000, "samples on each rank"}}})

local rank, size = mpi.rank(), mpi.size()
local w_true = idl.from_table{{2}, {-1}, {0.5}}

-- this rank's shard: y = X w_true + noise
local g = idl.rng(1000 + rank)
local X = idl.randn(opts.rows, 3, g)
local y = X * w_true + idl.randn(opts.rows, 1, g, 0, 0.1)

-- the normal equations of the union of the shards: one fused buffer [X^T X, X^T y]
local sums = (X:t() * X):hcat(X:t() * y)
mpi.allreduce(sums)
local w = idl.solve(sums:sub(1, 3, 1, 3), sums:sub(1, 3, 4, 4))

-- every rank must hold the same weights: the largest difference to rank 0's is 0
local diff = w - mpi.bcast(w:copy(), 0)
local worst = mpi.allreduce(idl.full(1, 1, diff:norm("max")), "max"):get(1, 1)
if rank == 0 then
  print(string.format("%d ranks, %d samples: w = (%.4f, %.4f, %.4f), true (2, -1, 0.5); "
    .. "largest difference between ranks %g", size, size * opts.rows, w:get(1), w:get(2), w:get(3), worst))
end
