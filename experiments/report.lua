--- Reproduces the report's sections 6 and 7 in one command and writes out/report/REPORT.md.
--
--     idl experiments/report.lua [--seed S] [--out DIR] [--full] [--tiny] [--jobs N]
--
-- Runs, each as its own process with the same --seed and size option:
--   experiments/sec6_linear.lua      section 6, linear regression
--   experiments/sec71_implicit.lua   section 7.1, implicit generative process
--   experiments/sec72_sin.lua        section 7.2, sin regression (noise std 0.1 and 1)
--   experiments/sec73_ablations.lua  section 7.3, ablation studies (--jobs worker processes)
-- each writing into DIR/<script name>/ (DIR defaults to out/report), then
-- writes DIR/REPORT.md: a summary table of our figures beside the report's
-- published ones, and per section its settings, its table, its notes and its
-- figures (embedded by relative paths), plus DIR/report.json (the summary and
-- the wall times). The quick default takes a minute or two on 2 cores; --full
-- runs the report's sizes (long: mostly the ablations); --tiny is for tests.
-- A section that fails is reported (its output is shown) and the others still
-- run; the exit status is then 1.
local idl = require "idl"
local ex = require "idl.experiment"
local json = require "idl.json"
local progress = require "idl.progress"

local opts = ex.parse(arg, {
  name = "report", jobs = true,
  description = "Runs the report's sections 6 and 7 (tables and figures) and writes REPORT.md.",
})

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local exe = idl.executable()
local started = idl.clock()

local SECTIONS = {
  {script = "sec6_linear", section = "6", heading = "Section 6: linear regression"},
  {script = "sec71_implicit", section = "7.1", heading = "Section 7.1: implicit generative process"},
  {script = "sec72_sin", section = "7.2", heading = "Section 7.2: regression on non-linear data (sin)"},
  {script = "sec73_ablations", section = "7.3", heading = "Section 7.3: main insights (ablations)",
   jobs = true},
}

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

ex.mkdir(opts.out)

-- The last n lines of a log, each as finally shown on a terminal (the text
-- after its last carriage return, so progress-line redraws collapse).
local function tail(path, n)
  local fh = io.open(path, "r")
  if not fh then return "" end
  local lines = {}
  for line in fh:lines() do
    line = line:match("([^\r]*)\r*$")
    if line ~= "" then lines[#lines + 1] = line end
  end
  fh:close()
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

-- Runs one section script: its standard output is echoed indented, its
-- standard error goes to ours and to <dir>/stderr.txt (so progress lines show
-- when we are on a terminal: the child is told by IDL_PROGRESS=1). Returns
-- success, the captured text (stdout and the end of stderr) and the wall time.
local function run_section(sec)
  local dir = ex.mkdir(opts.out .. "/" .. sec.script)
  local log, status_file = dir .. "/stderr.txt", dir .. "/.status"
  os.remove(status_file)
  local cmd = {sh_quote(exe), sh_quote(here .. "/" .. sec.script .. ".lua"), "--out", sh_quote(dir), "--seed",
    tostring(opts.seed)}
  if opts.size ~= "quick" then cmd[#cmd + 1] = "--" .. opts.size end
  if sec.jobs then cmd[#cmd + 1] = "--jobs " .. opts.jobs end
  local env = progress.is_terminal(2) and "IDL_PROGRESS=1 " or ""
  -- stdin from /dev/null: a section reads nothing, and a program it starts that
  -- would page on a terminal (gnuplot's `set terminal` listing) cannot stop it.
  local shell = string.format("{ { %s%s </dev/null; echo $? > %s; } 2>&1 1>&3 | tee %s >&2; } 3>&1", env,
    table.concat(cmd, " "), sh_quote(status_file), sh_quote(log))
  local t0 = idl.clock()
  local p = io.popen(shell, "r")
  local lines = {}
  for line in p:lines() do
    lines[#lines + 1] = line
    io.stdout:write("    ", line, "\n")
    io.stdout:flush()
  end
  p:close()
  local fh = io.open(status_file, "r")
  local status = fh and tonumber(fh:read("l"))
  if fh then fh:close() end
  os.remove(status_file)
  local text = table.concat(lines, "\n") .. "\n" .. tail(log, 30)
  return status == 0, text, idl.clock() - t0
end

local sections = {}
for i, sec in ipairs(SECTIONS) do
  io.stdout:write(string.format("[%d/%d] %s (experiments/%s.lua, %s) ...\n", i, #SECTIONS, sec.heading,
    sec.script, opts.size))
  io.stdout:flush()
  local ok, output, seconds = run_section(sec)
  local record = {script = sec.script, section = sec.section, heading = sec.heading, ok = ok,
    seconds = seconds}
  if ok then
    local res, err = json.read(opts.out .. "/" .. sec.script .. "/results.json")
    if res then record.results = res else record.ok, record.error = false, err end
  else
    record.error = "the script failed; its output:\n" .. output
  end
  sections[i] = record
  io.stdout:write(string.format("[%d/%d] %s %s in %.1f s (%.1f s so far)\n", i, #SECTIONS, sec.section,
    record.ok and "done" or "FAILED", seconds, idl.clock() - started))
  io.stdout:flush()
end

-- ---------------------------------------------------------------------------
-- The summary: our key figures beside the report's.

local by_section = {}
for _, s in ipairs(sections) do by_section[s.section] = s.ok and s.results or nil end

local summary = {}
local function add(section, quantity, ours, report)
  summary[#summary + 1] = {section = section, quantity = quantity, ours = ours, report = report}
end
local r6 = by_section["6"]
if r6 then
  add("6", "IDL test RMSE (h = 1)", r6.metrics.rmse_idl, "recovers y = x (fig. 4)")
  add("6", "linear regression test RMSE", r6.metrics.rmse_lr)
end
local r71 = by_section["7.1"]
if r71 then
  add("7.1", string.format("IDL test RMSE (%d samples, h = %d; report: 10,000, h = 300)", r71.settings.m,
    r71.settings.hidden_variables), r71.metrics.rmse_idl, r71.published.rmse_idl)
  add("7.1", "linear regression test RMSE", r71.metrics.rmse_lr, r71.published.rmse_lr)
  add("7.1", "IDL RMSE / linear regression RMSE", r71.metrics.rmse_idl / r71.metrics.rmse_lr,
    r71.published.rmse_idl / r71.published.rmse_lr)
end
local r72 = by_section["7.2"]
if r72 then
  for _, mt in ipairs(r72.metrics) do
    local noise = ex.fmt(mt.noise)
    add("7.2", "IDL test RMSE, good init (picard_ls), noise " .. noise, mt.picard_ls.rmse,
      "good fit (fig. 3)")
    add("7.2", "IDL test RMSE, bad init (subproblems), noise " .. noise, mt.subproblems.rmse,
      "hard to train (figs. 4, 5)")
    add("7.2", "linear regression test RMSE, noise " .. noise, mt.rmse_lr)
  end
end
local r73 = by_section["7.3"]
if r73 then
  for _, row in ipairs(r73.summary.rows) do add("7.3", row.study, row.ours, row.report) end
end

local wall = idl.clock() - started
local failed = 0
for _, s in ipairs(sections) do
  if not s.ok then failed = failed + 1 end
end

-- ---------------------------------------------------------------------------
-- REPORT.md

local md = {}
local function w(...)
  for _, s in ipairs{...} do md[#md + 1] = s end
end

local function settings_text(settings)
  local keys = {}
  for k in pairs(settings or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = settings[k]
    if type(v) == "table" then
      local items = {}
      for i, x in ipairs(v) do items[i] = ex.fmt(x) end
      v = "{" .. table.concat(items, ", ") .. "}"
    else
      v = ex.fmt(v)
    end
    parts[#parts + 1] = "`" .. k .. " = " .. v .. "`"
  end
  return table.concat(parts, ", ")
end

w("# Reproducing the IDL solver report, sections 6 and 7\n\n")
w(string.format("Generated by `idl experiments/report.lua%s` (%s mode, seed %d, %d worker processes for the "
  .. "ablations) on %s. Wall time: %.1f s.\n\n", opts.size == "quick" and "" or " --" .. opts.size, opts.size,
  opts.seed, opts.jobs, os.date("!%Y-%m-%d %H:%M UTC"), wall))
if opts.size ~= "full" then
  w("The quick mode reduces sizes where a section says so; `idl experiments/report.lua --full` runs the "
    .. "report's sizes.\n\n")
end
w("\"L2\" is the report's loss L = ||yhat - y||^2 / (2m); \"true\" or \"equilibrium X\" means the real "
  .. "model, whose hidden state solves X = (D X + E U + f 1^T)_+, as opposed to the relaxed X the trainers "
  .. "optimize. "
  .. "The report publishes numbers only for section 7.1; elsewhere its column quotes its findings.\n\n")
w("## Summary\n\n")
w(ex.markdown_table({"section", "quantity", "ours", "report"}, summary))
w("\n")
if failed > 0 then w(string.format("**%d section(s) failed; see below.**\n\n", failed)) end

for _, s in ipairs(sections) do
  w("## ", s.heading, "\n\n")
  if not s.ok then
    w("**This section failed.**\n\n```\n", s.error or "", "\n```\n\n")
  else
    local res = s.results
    w(string.format("%s. Script: `experiments/%s.lua`, outputs in `%s/`, %.1f s.\n\n", res.title, s.script,
      s.script, s.seconds))
    w("Settings: ", settings_text(res.settings), ".\n\n")
    if res.summary then
      w(ex.markdown_table(res.summary.columns, res.summary.rows, res.summary.headers), "\n")
    end
    for _, t in ipairs(res.tables or {}) do
      w(t.title, ":\n\n", ex.markdown_table(t.columns, t.rows, t.headers), "\n")
    end
    for _, n in ipairs(res.notes or {}) do w("- ", n, "\n") end
    if #(res.notes or {}) > 0 then w("\n") end
    for _, f in ipairs(res.figures or {}) do
      if f.rendered then
        w(string.format("![%s](%s/%s)\n\n*%s*\n\n", f.file, s.script, f.file, f.caption))
      else
        local why = (res.plot_message or "nothing to draw"):match("^[^\n:]*")
        w(string.format("*%s* (not rendered: %s; the data and the script are beside it, render with "
          .. "`cd %s && gnuplot %s`)\n\n", f.caption, why, s.script, (f.file:gsub("%.png$", ".gp"))))
      end
    end
  end
end

local report_path = opts.out .. "/REPORT.md"
-- atomic and checked: a full disk is an error here, never an empty REPORT.md
local written, werr = require("idl.core").write_file_atomic(report_path, table.concat(md))
if not written then error("report: " .. werr, 0) end

local timings = {}
for i, s in ipairs(sections) do
  timings[i] = {script = s.script, section = s.section, ok = s.ok, seconds = s.seconds}
end
ex.write_json(opts.out .. "/report.json", {size = opts.size, seed = opts.seed, jobs = opts.jobs,
  seconds = wall, sections = timings, summary = summary})

io.stdout:write("\n", ex.text_table({"section", "quantity", "ours", "report"}, summary))
io.stdout:write(string.format("\nwrote %s (%d sections, %d failed)\nwall time: %.1f s (%s mode)\n",
  report_path, #sections, failed, wall, opts.size))
if failed > 0 then os.exit(1) end
