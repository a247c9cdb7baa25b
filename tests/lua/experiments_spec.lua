-- The report's experiments: every script runs in --tiny mode (through experiments/report.lua, each
-- in its own process) and writes well-formed outputs (JSON that decodes, CSV files with their
-- columns, numbers that agree with each other, PNG figures (gnuplot is required: CI installs
-- gnuplot-nox), a REPORT.md whose figures are those the outputs give and whose images exist); the
-- ablations give identical numbers with 1 and 2 worker processes; and the
-- helpers of idl.experiment (CSV, tables, statistics, step traces) against independent answers.
local idl = require "idl"
local ex = require "idl.experiment"
local json = require "idl.json"

local exe = os.getenv("IDL_EXE") or idl.executable()
local source_dir = os.getenv("IDL_SOURCE_DIR") or "."
local has_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1")
local NO_GNUPLOT = "gnuplot is not installed: the figures cannot be checked "
  .. "(.ci/install-deps installs gnuplot-nox)"

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local function is_png(path)
  local data = slurp(path)
  return data ~= nil and data:sub(1, 8) == "\137PNG\r\n\26\n"
end

-- Runs an experiment script; returns success, its output and its exit status.
local function run(script, args)
  local cmd = string.format("cd %s && %s experiments/%s %s 2>&1", sh_quote(source_dir), sh_quote(exe),
    script, args)
  local p = io.popen(cmd)
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok, out, code
end

local function read_results(dir)
  local text = assert(slurp(dir .. "/results.json"), "no results.json in " .. dir)
  local value, err = json.decode(text)
  assert(value, err)
  return value
end

local function csv(path)
  local columns, rows = ex.read_csv(path)
  assert(columns, rows)
  return columns, rows
end

local function rmse_of(rows, a, b)
  assert.is_true(#rows > 0, "no rows to compute an RMSE from")
  local ss = 0
  for _, r in ipairs(rows) do ss = ss + (r[a] - r[b]) ^ 2 end
  return math.sqrt(ss / #rows)
end

local tmp
local report_ok, report_out

describe("experiments in --tiny mode", function()
  setup(function()
    tmp = os.tmpname()
    os.remove(tmp)
    ex.mkdir(tmp)
    report_ok, report_out = run("report.lua", "--tiny --jobs 2 --seed 3 --out " .. sh_quote(tmp .. "/report"))
  end)

  teardown(function()
    os.execute("rm -rf " .. sh_quote(tmp))
  end)

  it("report.lua runs every section and writes REPORT.md and report.json", function()
    assert.is_true(report_ok, report_out)
    local md = assert(slurp(tmp .. "/report/REPORT.md"))
    for _, heading in ipairs{"## Summary", "## Section 6", "## Section 7.1", "## Section 7.2",
        "## Section 7.3"} do
      assert.truthy(md:find(heading, 1, true), heading)
    end
    assert.falsy(md:find("failed", 1, true))
    local rep = assert(json.read(tmp .. "/report/report.json"))
    assert.equal("tiny", rep.size)
    assert.equal(4, #rep.sections)
    for _, s in ipairs(rep.sections) do assert.is_true(s.ok) end
    -- the summary's figures are the ones the outputs give: the RMSEs recomputed
    -- from each section's predictions, in report.json and as printed in REPORT.md
    local expected = {}
    for _, sec in ipairs{{"6", "sec6_linear"}, {"7.1", "sec71_implicit"}} do
      local _, pred = csv(tmp .. "/report/" .. sec[2] .. "/predictions.csv")
      local idl_rmse, lr_rmse = rmse_of(pred, "idl", "y"), rmse_of(pred, "lr", "y")
      expected[#expected + 1] = {sec[1], "^IDL test RMSE", idl_rmse}
      expected[#expected + 1] = {sec[1], "^linear regression test RMSE", lr_rmse}
      if sec[1] == "7.1" then expected[#expected + 1] = {"7.1", "^IDL RMSE / linear", idl_rmse / lr_rmse} end
    end
    assert.is_true(#rep.summary > 0, "report.json has no summary")
    for _, want in ipairs(expected) do
      local row
      for _, r in ipairs(rep.summary) do
        if r.section == want[1] and r.quantity:find(want[2]) then row = r end
      end
      assert.is_table(row, want[1] .. " " .. want[2] .. ": no summary row")
      assert.near(want[3], row.ours, 1e-12 * want[3])
      local cell = row.quantity:gsub("|", "\\|")
      local line = "| " .. want[1] .. " | " .. cell .. " | " .. ex.fmt(want[3]) .. " |"
      assert.truthy(md:find(line, 1, true), "REPORT.md has no line " .. line)
    end
    assert.truthy(report_out:find("wall time:", 1, true))
  end)

  it("REPORT.md embeds images that exist (relative paths)", function()
    local md = assert(slurp(tmp .. "/report/REPORT.md"))
    assert.is_true(has_gnuplot, NO_GNUPLOT)
    local count = 0
    for path in md:gmatch("!%[[^%]]*%]%(([^)]+)%)") do
      count = count + 1
      assert.falsy(path:match("^/"), path)
      assert.is_true(is_png(tmp .. "/report/" .. path), path)
    end
    assert.is_true(count >= 20, "images embedded: " .. count)
  end)

  it("every script writes results.json, summary.csv and the files and figures it lists", function()
    for _, name in ipairs{"sec6_linear", "sec71_implicit", "sec72_sin", "sec73_ablations"} do
      local dir = tmp .. "/report/" .. name
      local res = read_results(dir)
      assert.is_true(#res.files > 0, name .. ": no files listed")
      assert.equal(name, res.name)
      assert.equal("tiny", res.size)
      assert.equal(3, res.seed)
      assert.is_table(res.settings)
      assert.is_true(#res.summary.rows > 0)
      local columns, rows = csv(dir .. "/summary.csv")
      assert.same(res.summary.columns, columns)
      assert.equal(#res.summary.rows, #rows)
      for _, file in ipairs(res.files) do assert.truthy(slurp(dir .. "/" .. file), name .. "/" .. file) end
      assert.is_true(#res.figures > 0)
      for _, f in ipairs(res.figures) do
        assert.is_string(f.caption)
        -- the data and gnuplot script are written even without gnuplot
        local base = f.file:gsub("%.png$", "")
        assert.truthy(slurp(dir .. "/" .. base .. ".gp"), base .. ".gp")
        assert.is_true(has_gnuplot, NO_GNUPLOT)
        assert.is_true(f.rendered, f.file)
        assert.is_true(is_png(dir .. "/" .. f.file), name .. "/" .. f.file)
      end
    end
  end)

  it("section 6: histories per round and per step, predictions that give the reported RMSEs", function()
    local dir = tmp .. "/report/sec6_linear"
    local res = read_results(dir)
    local columns, hist = csv(dir .. "/history.csv")
    assert.same(ex.HISTORY_COLUMNS, columns)
    assert.equal(0, hist[1].round)
    local scolumns, steps = csv(dir .. "/steps.csv")
    assert.same(ex.TRACE_COLUMNS, scolumns)
    assert.is_true(#steps >= 1)
    for i, s in ipairs(steps) do
      assert.equal(i, s.step)
      assert.is_true(s.relaxed_l2 >= 0 and s.G >= s.relaxed_l2 - 1e-12)
    end
    -- the last step of the last round is the state the round's history entry measured
    local last_round = hist[#hist].round
    local last_step
    for _, s in ipairs(steps) do if s.round == last_round then last_step = s end end
    assert.is_true(last_round >= 1, "section 6 ran no round")
    assert.is_table(last_step, "no step of round " .. last_round)
    assert.equal(hist[#hist].relaxed_l2, last_step.relaxed_l2)
    local pcolumns, pred = csv(dir .. "/predictions.csv")
    assert.same({"x", "y", "idl", "lr"}, pcolumns)
    assert.equal(res.settings.test, #pred)
    assert.near(res.metrics.rmse_idl, rmse_of(pred, "idl", "y"), 1e-12)
    assert.near(res.metrics.rmse_lr, rmse_of(pred, "lr", "y"), 1e-12)
  end)

  it("section 7.1: predictions that give our RMSEs, in results.json and in summary.csv", function()
    local dir = tmp .. "/report/sec71_implicit"
    local res = read_results(dir)
    local _, pred = csv(dir .. "/predictions.csv")
    assert.equal(res.settings.test, #pred)
    assert.near(res.metrics.rmse_idl, rmse_of(pred, "idl", "y"), 1e-12)
    assert.near(res.metrics.rmse_lr, rmse_of(pred, "lr", "y"), 1e-12)
    assert.is_true(res.metrics.y_std > 0)
    local _, summary = csv(dir .. "/summary.csv")
    local idl_rmse, lr_rmse = rmse_of(pred, "idl", "y"), rmse_of(pred, "lr", "y")
    local want = {["IDL test RMSE (equilibrium X)"] = idl_rmse, ["linear regression test RMSE"] = lr_rmse,
      ["IDL RMSE / linear regression RMSE"] = idl_rmse / lr_rmse}
    local checked = 0
    for _, row in ipairs(summary) do
      local v = want[row.quantity]
      if v then
        assert.near(v, row.ours, 1e-12 * v)
        checked = checked + 1
      end
    end
    assert.equal(3, checked)
  end)

  it("section 7.2: both noise levels and both initializations", function()
    local dir = tmp .. "/report/sec72_sin"
    local res = read_results(dir)
    assert.equal(2, #res.metrics)
    for _, mt in ipairs(res.metrics) do
      local tag = "noise" .. ex.fmt(mt.noise)
      local columns, pred = csv(dir .. "/predictions_" .. tag .. ".csv")
      assert.same({"x", "y", "idl_picard_ls", "idl_subproblems", "lr"}, columns)
      assert.equal(res.settings.test, #pred)
      assert.near(mt.picard_ls.rmse, rmse_of(pred, "idl_picard_ls", "y"), 1e-12)
      assert.near(mt.subproblems.rmse, rmse_of(pred, "idl_subproblems", "y"), 1e-12)
      assert.near(mt.rmse_lr, rmse_of(pred, "lr", "y"), 1e-12)
      for _, init in ipairs{"picard_ls", "subproblems"} do
        local hcolumns, hist = csv(string.format("%s/history_%s_%s.csv", dir, init, tag))
        assert.same(ex.HISTORY_COLUMNS, hcolumns)
        assert.equal(res.settings.rounds_number + 1, #hist) -- no early stopping: every round
      end
    end
  end)

  it("section 7.3: one row per fit, means and stds that the fits give", function()
    local dir = tmp .. "/report/sec73_ablations"
    local res = read_results(dir)
    local _, fits = csv(dir .. "/fits.csv")
    assert.is_true(#fits > 0, "fits.csv has no rows")
    assert.equal(res.fits, #fits)
    local columns, values = csv(dir .. "/values.csv")
    assert.equal("study", columns[1])
    assert.is_true(#values > 0, "values.csv has no rows")
    local function key(h, a, e, l) return string.format("%d|%.17g|%.17g|%.17g", h, a, e, l) end
    local finals = {}
    for _, f in ipairs(fits) do
      local k = key(f.h, f.alpha, f.eps, f.lambda0)
      finals[k] = finals[k] or {}
      finals[k][#finals[k] + 1] = f.l2_final
    end
    for _, v in ipairs(values) do
      local xs = finals[key(v.h, v.alpha, v.eps, v.lambda0)]
      assert.equal(res.settings.initializations, #xs)
      local mean = 0
      for _, x in ipairs(xs) do mean = mean + x / #xs end
      local ss = 0
      for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
      assert.near(mean, v.l2_final_mean, 1e-12 * mean)
      assert.near(math.sqrt(ss / (#xs - 1)), v.l2_final_std, 1e-9 * mean)
    end
  end)

  it("section 7.3 gives the same numbers with --jobs 1 as with --jobs 2", function()
    local ok, out = run("sec73_ablations.lua", "--tiny --jobs 1 --seed 3 --out " .. sh_quote(tmp .. "/jobs1"))
    assert.is_true(ok, out)
    for _, file in ipairs{"fits.csv", "values.csv", "summary.csv"} do
      assert.equal(slurp(tmp .. "/report/sec73_ablations/" .. file), slurp(tmp .. "/jobs1/" .. file), file)
    end
  end)

  it("rejects --full with --tiny (exit status 2) and prints --help", function()
    local ok, out, code = run("sec6_linear.lua", "--full --tiny --out " .. sh_quote(tmp .. "/bad"))
    assert.falsy(ok)
    assert.equal(2, code)
    assert.truthy(out:find("--full and --tiny exclude each other", 1, true))
    ok, out = run("sec73_ablations.lua", "--help")
    assert.is_true(ok)
    assert.truthy(out:find("--jobs", 1, true))
  end)
end)

describe("idl.experiment", function()
  it("writes CSV that reads back: quotes, commas, NaN, infinities, missing values", function()
    local path = os.tmpname()
    local rows = {{a = 1, b = "x, \"y\"", c = 0.1}, {a = -2.5e-300, c = 0 / 0}, {a = math.huge, b = "",
      c = -math.huge}}
    ex.write_csv(path, {"a", "b", "c"}, rows)
    local columns, back = ex.read_csv(path)
    os.remove(path)
    assert.same({"a", "b", "c"}, columns)
    assert.equal(1, back[1].a)
    assert.equal("x, \"y\"", back[1].b)
    assert.equal(0.1, back[1].c)
    assert.equal(-2.5e-300, back[2].a)
    assert.is_nil(back[2].b)
    assert.is_true(back[2].c ~= back[2].c)
    assert.equal(math.huge, back[3].a)
    assert.equal(-math.huge, back[3].c)
  end)

  it("computes the mean and the sample standard deviation", function()
    local m, s, n = ex.mean_std({2, 4, 4, 4, 5, 5, 7, 9})
    assert.equal(5, m)
    assert.near(math.sqrt(32 / 7), s, 1e-15)
    assert.equal(8, n)
    m, s = ex.mean_std({3})
    assert.equal(3, m)
    assert.equal(0, s)
    assert.has_error(function() ex.mean_std({}) end, "idl.experiment.mean_std: no values")
  end)

  it("formats text and markdown tables", function()
    local rows = {{q = "a|b", v = 0.123456}, {q = "c"}}
    local md = ex.markdown_table({"q", "v"}, rows, {"quantity", "value"})
    assert.equal("| quantity | value |\n|---|---|\n| a\\|b | 0.1235 |\n| c | - |\n", md)
    local text = ex.text_table({"q", "v"}, rows)
    assert.equal("q    v\n---  ------\na|b  0.1235\nc    -\n", text)
    assert.equal("1e-06", ex.fmt(1e-6))
    assert.equal("42", ex.fmt(42))
    assert.equal("0.5 ± 0.1", ex.fmt_pm(0.5, 0.1))
  end)

  it("traces every inner step without changing the training", function()
    local X, y = idl.data.sin(60, idl.rng(5), {noise = 0.1})
    local function fit(on_step)
      local est = idl.IDLModel{preset = "report", hidden_variables = 4, random_state = 2, verbosity = false,
        early_stopping = false, dual_learning_rate = 1e-3, tol_fenchel = 1e-6}
      est:fit(X, y, {rounds_number = 3, on_step = on_step})
      return est
    end
    local plain = fit()
    local trace, on_step = ex.trace_steps(2)
    local traced = fit(on_step)
    local steps = 0
    for _, e in ipairs(traced.history) do steps = steps + (e.inner_iterations or 0) end
    assert.equal(4, #plain.history)
    assert.is_true(steps > 0, "no inner steps were run")
    assert.equal(steps, #trace)
    local again = fit() -- a fit without the hook adds no entries
    assert.equal(steps, #trace)
    for i, e in ipairs(plain.history) do
      for _, k in ipairs{"G", "relaxed_l2", "train_l2", "lambda_l1", "residual"} do
        assert.equal(e[k], traced.history[i][k], k .. " at round " .. e.round)
        assert.equal(e[k], again.history[i][k], k .. " at round " .. e.round)
      end
    end
    -- the trace's last step of a round is the state that round's entry measured (after the
    -- dual step, which changes lambda, hence G, but neither the relaxed loss nor the residual)
    local matched = 0
    for _, e in ipairs(traced.history) do
      local last
      for _, s in ipairs(trace) do if s.round == e.round then last = s end end
      if last then
        matched = matched + 1
        assert.equal(e.relaxed_l2, last.relaxed_l2)
        assert.equal(e.residual, last.residual)
      end
    end
    assert.equal(3, matched) -- rounds 1..3 (round 0, the initialization, has no steps)
    assert.is_number(trace[1].train_l2)
    assert.is_nil(trace[2] and trace[2].train_l2)
  end)
end)
