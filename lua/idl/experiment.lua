--- idl.experiment: the plumbing shared by the experiment scripts
-- (experiments/sec*.lua and experiments/report.lua): the common command line,
-- run sizes, the output directory, results as CSV and JSON, text and markdown
-- tables, mean and standard deviation, figures with captions.
--
--     local ex = require "idl.experiment"
--     local opts = ex.parse(arg, {name = "sec6_linear", description = "..."})
--     local cfg = ex.pick(opts.size, {tiny = {m = 200}, quick = {m = 1000}, full = {m = 1000}})
--     local res = ex.results(opts, {section = "6", title = "Linear regression"})
--     ex.write_csv(res.out .. "/history.csv", ex.HISTORY_COLUMNS, est.history)
--     ex.figure(res, "lines", "curves.png", "Training curves", {series = {...}})
--     res.summary = {columns = {"quantity", "ours", "report"}, rows = {{quantity = "RMSE", ours = 0.08}}}
--     ex.finish(res)   -- results.json + summary.csv into res.out, prints the summary
--
-- Every script writes into its --out directory (default out/<name>): results.json
-- (settings, summary table, figures with captions, notes, wall time), summary.csv
-- (the summary table) and its own CSV files and PNG figures. Tables are lists of
-- rows keyed by column name; a missing value is written as an empty CSV field,
-- left out of the JSON row, and shown as "-" in printed tables.
--
-- This file holds the command line, the run sizes and the results record;
-- the rest lives in idl.experiment.tables (results tables), .output (CSV and
-- JSON files), .history (history series and the step trace) and .figures, and
-- is re-exported here under the same names.
-- @module idl.experiment

local cli = require "idl.cli"
local core = require "idl.core"
local api = require "idl._api"
local checks = require "idl.experiment.checks"
local tables = require "idl.experiment.tables"
local output = require "idl.experiment.output"
local history = require "idl.experiment.history"
local figures = require "idl.experiment.figures"

local experiment = {}

-- The parts, under the names the scripts know (idl.experiment.write_csv, ...):
-- results tables, CSV/JSON output, history series, figures.
for _, part in ipairs{tables, output, history, figures} do
  for k, v in pairs(part) do
    if type(v) ~= "function" or api.name_of(v) then experiment[k] = v end
  end
end

-- ---------------------------------------------------------------------------
-- Command line and sizes

--- experiment.parse(args, spec) -> opts: idl.cli.parse with the options every
-- experiment takes added before spec.options: --seed N (0), --out DIR
-- (out/<spec.name>), --full (the report's sizes), --tiny (for tests), and
-- --jobs N (worker processes, default the number of cores) when spec.jobs is
-- true. opts.size is "tiny", "quick" (the default) or "full"; --full with
-- --tiny is a command-line error (exit status 2).
experiment.parse = api.public("idl.experiment.parse", function(args, spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then
    api.fail("spec must be a table with a name")
  end
  api.check(args, "table", "args (the script's arg)")
  api.check(spec.options, {"table", optional = true}, "spec.options")
  local options = {
    {"seed", "integer", 0, "random seed (data and initializations)"},
    {"out", "string", "out/" .. spec.name, "output directory"},
    {"full", "flag", false, "the report's exact sizes (slow)"},
    {"tiny", "flag", false, "tiny sizes (for tests)"},
  }
  if spec.jobs then
    options[#options + 1] = {"jobs", "integer", cli.cores(), "worker processes"}
  end
  for _, o in ipairs(spec.options or {}) do options[#options + 1] = o end
  local full_spec = {name = spec.name, description = spec.description, options = options}
  local opts = cli.parse(args, full_spec)
  if opts.full and opts.tiny then cli.exit("--full and --tiny exclude each other", 2, full_spec) end
  if opts.seed < 0 then cli.exit("--seed must be >= 0", 2, full_spec) end
  if opts.jobs ~= nil and opts.jobs < 1 then cli.exit("--jobs must be >= 1", 2, full_spec) end
  opts.size = opts.full and "full" or opts.tiny and "tiny" or "quick"
  return opts
end)

--- experiment.pick(size, t) -> t[size] ("tiny", "quick" or "full"); raises
-- when t has no entry for it.
experiment.pick = api.public("idl.experiment.pick", function(size, t)
  api.check(t, "table", "t (settings by size)")
  local v = t[size]
  if v == nil then api.fail("no settings for size '" .. tostring(size) .. "'") end
  return v
end)

-- ---------------------------------------------------------------------------
-- Results

--- experiment.results(opts, meta) -> res: the results record of one run, with
-- res.out (opts.out, created), res.size, res.seed, the fields of meta (name,
-- section, title, ...), empty res.figures, res.notes and res.files, and the
-- start time. Fill res.settings and res.summary = {columns =, rows =
-- [, headers =]} (and optionally res.tables, an array of {title =, columns =,
-- rows =, headers =}); experiment.finish writes it.
experiment.results = api.public("idl.experiment.results", function(opts, meta)
  api.check(opts, "table", "opts (from experiment.parse)")
  if type(meta) ~= "table" or type(meta.name) ~= "string" then
    api.fail("meta must be a table with a name")
  end
  local res = {size = opts.size, seed = opts.seed, out = opts.out,
    figures = {}, notes = {}, files = {}, settings = {}, started = core.clock()}
  for k, v in pairs(meta) do res[k] = v end
  api.check(res.out, "string", "opts.out (the output directory)")
  output.mkdir(res.out)
  return res
end)

--- experiment.file(res, name) -> the path of an output file of res, recorded
-- in res.files (so results.json lists what the run wrote).
experiment.file = api.public("idl.experiment.file", function(res, name)
  checks.results(res)
  api.check(name, "string", "name")
  res.files[#res.files + 1] = name
  return res.out .. "/" .. name
end)

--- experiment.note(res, text): a remark for the report (printed by finish).
experiment.note = api.public("idl.experiment.note", function(res, text)
  checks.results(res)
  api.check(text, "string", "text")
  res.notes[#res.notes + 1] = text
end)

--- experiment.finish(res) -> res: writes results.json and summary.csv into
-- res.out and prints the summary table, the notes and the wall time.
experiment.finish = api.public("idl.experiment.finish", function(res)
  checks.results(res)
  api.check(res.started, "number", "res.started")
  local summary = res.summary
  if summary ~= nil then
    api.check(summary, "table", "res.summary")
    checks.columns_rows(summary.columns, summary.rows)
    checks.titles(summary.columns, summary.headers)
  end
  res.seconds = core.clock() - res.started
  local record = {}
  for k, v in pairs(res) do
    if k ~= "started" and k ~= "warned" and k ~= "out" then record[k] = v end
  end
  if summary then
    res.files[#res.files + 1] = "summary.csv"
    output.write_text(res.out .. "/summary.csv", output.csv_text(summary.columns, summary.rows))
  end
  res.files[#res.files + 1] = "results.json"
  output.write_text(res.out .. "/results.json", output.json_text(record))
  local out = io.stdout
  out:write(string.format("%s (section %s, %s): %s\n", res.name, tostring(res.section), res.size,
    res.title))
  if summary then out:write(tables.text_table(summary.columns, summary.rows, summary.headers)) end
  for _, n in ipairs(res.notes) do out:write("note: ", n, "\n") end
  out:write(string.format("wrote %d files and %d figures into %s in %.1f s\n", #res.files, #res.figures,
    res.out, res.seconds))
  return res
end)

return experiment
