--- A short tour of the matrix API: what `idl` scripts are made of.
--
--     idl experiments/matrix_tour.lua
local idl = require "idl"

local rng = idl.rng(2019)                    -- every random draw takes a generator
local U = idl.randn(3, 5, rng)               -- 3 features, 5 samples (columns)
local D = idl.rand(4, 4, rng, -1, 1)
D = D / D:norm("inf") * 0.5                  -- ||D||_inf = 0.5: a contraction
local E, f = idl.randn(4, 3, rng), idl.full(4, 1, 0.1)

print("U =")
print(U)
print(string.format("||D||_inf = %.3f, ||D||_2 = %.3f", D:norm("inf"), D:norm("2")))

-- Picard iteration for X = (D X + E U + f 1^T)_+, written with the kernels
-- that trainers use: they write into preallocated matrices.
local B0 = idl.add_col(E * U, 1, f)
local X, DX = idl.zeros(4, 5), idl.zeros(4, 5)
for k = 1, 100 do
  idl.gemm(DX, D, X)                          -- DX = D X
  idl.axpy(DX, 1, B0)                         -- DX = D X + B0
  idl.relu(DX)                                -- (.)_+
  local change = (DX - X):norm("max")
  idl.copy(X, DX)
  if change < 1e-12 then
    print(string.format("Picard converged in %d iterations", k))
    break
  end
end
print("X =")
print(X)
print(string.format("residual ||X - (D X + B0)_+||_max = %.2e", (X - (D * X + B0):relu()):norm("max")))

-- Views write through to their parent.
local first_two = X:sub(1, 4, 1, 2)
print("first two samples (a view):")
print(first_two)

-- Files: CSV in and out.
local path = os.tmpname()
idl.write_csv(path, X:t(), {"x1", "x2", "x3", "x4"})
local back, names = idl.read_csv(path)
print(string.format("CSV round trip: %dx%d, header %s, exact: %s", back:rows(), back:cols(),
  table.concat(names, ","), tostring(idl.equal(back, X:t()))))
os.remove(path)
