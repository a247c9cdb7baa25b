-- The trainer comparison and the digits experiment run in --tiny mode and
-- write well-formed results.
local json = require "idl.json"

local exe = os.getenv("IDL_EXE") or "build/bin/idl"

local function run(script, out)
  local cmd = string.format("%s experiments/%s --tiny --out %s >%s/stdout.txt 2>&1", exe, script, out, out)
  os.execute("mkdir -p " .. out)
  local ok = os.execute(cmd)
  local f = io.open(out .. "/stdout.txt")
  local text = f and f:read("a") or ""
  if f then f:close() end
  assert.is_true(ok == true, script .. " failed:\n" .. text)
  local r = assert(io.open(out .. "/results.json")):read("a")
  return json.decode(r), text
end

describe("experiments/compare_trainers.lua", function()
  it("compares the three trainers on both problems", function()
    local out = os.tmpname() .. "_ct"
    local res = run("compare_trainers.lua", out)
    assert.equal(6, #res.rows)
    local seen = {}
    for _, r in ipairs(res.rows) do
      seen[r.problem .. "/" .. r.trainer] = true
      assert.is_true(r.rmse_mean > 0 and r.rmse_mean < math.huge)
      assert.is_true(r.seconds >= 0)
    end
    for _, p in ipairs{"7.1", "7.2"} do
      for _, t in ipairs{"two_loops", "implicit", "hybrid"} do assert.is_true(seen[p .. "/" .. t]) end
    end
    local cols = assert(io.open(out .. "/comparison.csv")):read("l")
    assert.equal("problem,trainer,rmse_mean,rmse_std,seconds,rounds", cols)
    os.execute("rm -rf " .. out)
  end)
end)

describe("experiments/digits.lua", function()
  it("reports an accuracy and a 10x10 confusion matrix that add up", function()
    local out = os.tmpname() .. "_dg"
    local res = run("digits.lua", out)
    assert.is_true(res.accuracy.test >= 0 and res.accuracy.test <= 1)
    local total = 0
    assert.equal(10, #res.confusion)
    for _, row in ipairs(res.confusion) do
      assert.equal(10, #row)
      for _, v in ipairs(row) do total = total + v end
    end
    assert.equal(res.settings.test, total)
    os.execute("rm -rf " .. out)
  end)
end)
