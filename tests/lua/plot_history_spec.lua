-- plot_history_spec.lua: est:plot_history draws the history's train and
-- validation losses against the round, and plot labels reach gnuplot intact.
local idl = require "idl"
local plot = require "idl.plot"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function has_gnuplot()
  return os.execute("command -v " .. plot.gnuplot .. " >/dev/null 2>&1") == true
end

-- The blocks of a plot's .dat file: arrays of {x, y}.
local function read_blocks(path)
  local blocks, current = {}, nil
  for line in io.lines(path) do
    if line:match("^# series") then
      current = {}
      blocks[#blocks + 1] = current
    elseif line:match("%S") then
      local x, y = line:match("^(%S+) (%S+)$")
      current[#current + 1] = {tonumber(x), tonumber(y)}
    end
  end
  return blocks
end

describe("IDLModel:plot_history", function()
  local X, y = idl.data.sin(40, idl.rng(1))
  local Xtr, Xte, ytr, yte = idl.data.train_test_split(X, y)
  local est = idl.IDLModel{hidden_variables = 3, verbosity = false, early_stopping = false,
    monitor_train_every = 1} -- a train loss every round to draw
  est:fit(Xtr, ytr, {type_of_training = "implicit", rounds_number = 3, eval_set = {Xte, yte}})

  it("draws train and validation loss from round 0 (the initialization)", function()
    local path = dir .. "/history.png"
    local image, err = est:plot_history(path, {title = "run 1"})
    if has_gnuplot() then
      assert.are.equal(path, image, err)
    end
    local blocks = read_blocks(dir .. "/history.dat")
    assert.are.equal(2, #blocks)
    for b, key in ipairs{"train_l2", "eval_l2"} do
      assert.are.equal(#est.history, #blocks[b])
      for i, e in ipairs(est.history) do
        assert.are.equal(i - 1, blocks[b][i][1])
        assert.is_true(math.abs(blocks[b][i][2] - e[key]) <= 1e-15 * e[key])
      end
    end
    local f = assert(io.open(dir .. "/history.gp"))
    local script = f:read("a")
    f:close()
    assert.matches("set logscale y", script, 1, true)
  end)

  it("checks its arguments", function()
    assert.has_error(function() idl.IDLModel{}:plot_history(dir .. "/x.png") end,
      "idl.IDLModel:plot_history: the model is not fitted: call fit(X, y) first")
    assert.has_error(function() est:plot_history(3) end,
      "idl.IDLModel:plot_history: path must be a string, got 3")
    assert.has_error(function() est:plot_history(dir .. "/x.png", {logy = 1}) end,
      "idl.IDLModel:plot_history: logy must be a boolean, got 1")
    assert.has_error(function() est.plot_history({}, "x.png") end,
      "idl.IDLModel:plot_history: self must be a IDLModel (call it with ':'), got "
        .. "table")
  end)
end)

describe("idl.plot labels", function()
  it("read back as written by gnuplot, digits after an escape included", function()
    if not has_gnuplot() then return end
    local label = "round (0 = initialization) [1e-3] 'x' $5 @m"
    plot.lines{path = dir .. "/label.png", xlabel = label, series = {{y = {1, 2}}}}
    local f = assert(io.open(dir .. "/label.gp"))
    local quoted = f:read("a"):match('set xlabel (%b"")')
    f:close()
    local p = io.popen("cd " .. dir .. " && " .. plot.gnuplot .. " -e 'print " .. quoted .. "' 2>&1")
    local printed = p:read("a")
    p:close()
    assert.are.equal(label .. "\n", printed)
  end)
end)

describe("idl.plot.errorbars with low and high", function()
  it("writes x, y, low, high and draws them as asymmetric bars", function()
    local x, y, low, high = {10, 50}, {0.08, 0.012}, {0.02, 0.006}, {0.3, 0.035}
    plot.errorbars{path = dir .. "/range.png", logy = true,
      series = {{x = x, y = y, low = low, high = high, label = "min-max"}, {x = x, y = y, err = {0, 0}}}}
    local f = assert(io.open(dir .. "/range.dat"))
    local first = {}
    for line in f:lines() do
      if line == "" then break end
      if not line:match("^#") then
        local row = {}
        for v in line:gmatch("%S+") do row[#row + 1] = tonumber(v) end
        first[#first + 1] = row
      end
    end
    f:close()
    assert.are.same({{10, 0.08, 0.02, 0.3}, {50, 0.012, 0.006, 0.035}}, first)
    f = assert(io.open(dir .. "/range.gp"))
    local script = f:read("a")
    f:close()
    assert.matches("index 0 using 1:2:3:4 with yerrorlines", script, 1, true)
    assert.matches("index 1 using 1:2:3 with yerrorlines", script, 1, true)
  end)

  it("checks that low <= y <= high", function()
    assert.has_error(function()
      plot.errorbars{path = dir .. "/bad.png", series = {{y = {1, 2}, low = {0, 3}, high = {2, 4}}}}
    end, "idl.plot.errorbars: series 1 point 2: low 3 <= y 2 <= high 4 does not hold")
    assert.has_error(function()
      plot.errorbars{path = dir .. "/bad.png", series = {{y = {1}, low = {0}, high = {2}, err = {1}}}}
    end, "idl.plot.errorbars: series 1 gives err and low/high: give one of them")
    assert.has_error(function()
      plot.errorbars{path = dir .. "/bad.png", series = {{y = {1, 2}, low = {0}, high = {2, 3}}}}
    end, "idl.plot.errorbars: series 1 has 2 y values, 1 low and 2 high values")
  end)
end)
