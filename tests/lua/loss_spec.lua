-- Output losses: values from their definitions, gradients by finite differences.
local idl = require "idl"
local optim = require "idl.optim"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

describe("squared_loss", function()
  it("is ||Yhat - Y||^2 / (2m) with gradient (Yhat - Y)/m", function()
    local yhat, y = idl.from_table{{1, 2, 3}}, idl.from_table{{0, 2, 5}}
    local l, g = idl.squared_loss(yhat, y)
    assert.near((1 + 0 + 4) / 6, l, 1e-15)
    assert.same({{1 / 3, 0, -2 / 3}}, g:totable())
    assert.matches("squared_loss: Yhat is 1x3, Y is 3x1", err_of(idl.squared_loss, yhat, y:t()))
  end)
end)

describe("softmax_xent", function()
  it("matches its definition and finite differences, and is stable for huge logits", function()
    local rng = idl.rng(4)
    local z = idl.randn(4, 6, rng, 0, 3)
    local t = idl.zeros(4, 6)
    for j = 1, 6 do t:set(rng:integer(4), j, 1) end
    local l, g = idl.softmax_xent(z, t)
    local ref = 0
    for j = 1, 6 do
      local s = 0
      for i = 1, 4 do s = s + math.exp(z:get(i, j)) end
      for i = 1, 4 do ref = ref - t:get(i, j) * (z:get(i, j) - math.log(s)) end
    end
    assert.near(ref / 6, l, 1e-12)
    local worst = optim.check_gradient(function(p) return (idl.softmax_xent(p.Z, t)) end, {Z = z}, {Z = g},
      {floor = 1e-3}) -- entries near 0 compare absolutely: FD round-off is ~1e-10
    assert.is_true(worst < 1e-6)
    local big = idl.from_table{{1000}, {0}}
    local lb = idl.softmax_xent(big, idl.from_table{{0}, {1}})
    assert.near(1000, lb, 1e-9)
    local p = idl.softmax(big)
    assert.same({{1}, {0}}, p:totable())
  end)

  it("softmax columns sum to one", function()
    local p = idl.softmax(idl.randn(5, 7, idl.rng(1)))
    local s = p:sum(1)
    for j = 1, 7 do assert.near(1, s:get(1, j), 1e-14) end
  end)
end)
