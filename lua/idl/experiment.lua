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
-- @module idl.experiment

local cli = require "idl.cli"
local json = require "idl.json"
local core = require "idl.core"
local util = require "idl._util"

local experiment = {}

-- ---------------------------------------------------------------------------
-- Argument checks shared by the functions below (errors blame the caller of
-- the public function that calls them).

-- rows: an array of tables (keyed by column name, for a table of results).
local function check_rows(fname, rows, what, level)
  level = level or 3
  util.check_table(rows, fname, what, level)
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then
      util.fail(fname, string.format("%s[%d] must be a table, got %s", what, i,
        util.describe(row)), level)
    end
  end
  return rows
end

-- A table's columns (an array of names) and rows.
local function check_columns_rows(fname, columns, rows)
  util.check_table(columns, fname, "columns", 3)
  check_rows(fname, rows, "rows", 4)
end

-- res: a results record of experiment.results.
local function check_results(fname, res)
  util.check_table(res, fname, "res (a record from experiment.results)", 3)
  util.check_string(res.out, fname, "res.out", 3)
  for _, k in ipairs{"figures", "notes", "files"} do util.check_table(res[k], fname, "res." .. k, 3) end
  return res
end

-- JSON text of value (json.encode's errors name fname).
local function json_text(fname, value)
  return util.relabel(fname, 3, json.encode, value, {indent = true}) .. "\n"
end

-- ---------------------------------------------------------------------------
-- Command line and sizes

--- experiment.parse(args, spec) -> opts: idl.cli.parse with the options every
-- experiment takes added before spec.options: --seed N (0), --out DIR
-- (out/<spec.name>), --full (the report's sizes), --tiny (for tests), and
-- --jobs N (worker processes, default the number of cores) when spec.jobs is
-- true. opts.size is "tiny", "quick" (the default) or "full"; --full with
-- --tiny is a command-line error (exit status 2).
function experiment.parse(args, spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then
    error("experiment.parse: spec must be a table with a name", 2)
  end
  util.check_table(args, "experiment.parse", "args (the script's arg)")
  if spec.options ~= nil then util.check_table(spec.options, "experiment.parse", "spec.options") end
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
end

--- experiment.pick(size, t) -> t[size] ("tiny", "quick" or "full"); raises
-- when t has no entry for it.
function experiment.pick(size, t)
  util.check_table(t, "experiment.pick", "t (settings by size)")
  local v = t[size]
  if v == nil then error("experiment.pick: no settings for size '" .. tostring(size) .. "'", 2) end
  return v
end

-- ---------------------------------------------------------------------------
-- Files

local sh_quote = util.sh_quote

--- experiment.mkdir(dir) -> dir, creating it and its parents; raises on failure.
function experiment.mkdir(dir)
  util.check_string(dir, "experiment.mkdir", "dir")
  if not os.execute("mkdir -p " .. sh_quote(dir)) then
    error("experiment.mkdir: cannot create the directory " .. dir, 2)
  end
  return dir
end

-- Writes text to path atomically (util.write_file: no half files, every write checked).
local function write_text(path, text, fname)
  util.write_file(path, text, fname, 3)
end

-- One CSV field: numbers round-trip exactly (shortest of %.15g..%.17g), NaN
-- and infinities as nan/inf/-inf, strings quoted when they need it.
local function csv_field(v)
  if v == nil or v == json.null then return "" end
  if type(v) == "number" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    if math.type(v) == "integer" then return string.format("%d", v) end
    local s
    for digits = 15, 17 do
      s = string.format("%." .. digits .. "g", v)
      if tonumber(s) == v then break end
    end
    return s
  end
  local s = tostring(v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- experiment.csv_text(columns, rows) -> the CSV text: a header line with the
-- column names, then one line per row (a table keyed by column name).
function experiment.csv_text(columns, rows)
  check_columns_rows("experiment.csv_text", columns, rows)
  local lines = {}
  local head = {}
  for i, c in ipairs(columns) do head[i] = csv_field(c) end
  lines[1] = table.concat(head, ",")
  for r, row in ipairs(rows) do
    local fields = {}
    for i, c in ipairs(columns) do fields[i] = csv_field(row[c]) end
    lines[r + 1] = table.concat(fields, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

--- experiment.write_csv(path, columns, rows) -> path (see csv_text).
function experiment.write_csv(path, columns, rows)
  util.check_string(path, "experiment.write_csv", "path")
  check_columns_rows("experiment.write_csv", columns, rows)
  write_text(path, experiment.csv_text(columns, rows), "experiment.write_csv")
  return path
end

-- Splits one CSV line into fields (quoted fields may hold commas and "").
local function split_csv_line(line)
  local fields, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "unterminated quote" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      if i <= n and line:sub(i, i) ~= "," then return nil, "text after a closing quote" end
      i = i + 1
    else
      local c = line:find(",", i, true) or n + 1
      fields[#fields + 1] = line:sub(i, c - 1)
      i = c + 1
    end
  end
  return fields
end

--- experiment.read_csv(path) -> columns, rows, or nil and a message. Rows are
-- keyed by column name; fields that read as numbers (nan and inf included)
-- become numbers, empty fields are absent. Quoted fields may not hold newlines.
function experiment.read_csv(path)
  util.check_string(path, "experiment.read_csv", "path")
  local f, err = io.open(path, "rb")
  if not f then return nil, "experiment.read_csv: " .. err end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, "experiment.read_csv: " .. path .. ": " .. tostring(rerr) end
  if text ~= "" and text:sub(-1) ~= "\n" then text = text .. "\n" end
  local columns, rows, line_no = nil, {}, 0
  for line in text:gmatch("(.-)\n") do
    line_no = line_no + 1
    line = line:gsub("\r$", "")
    local fields, msg = split_csv_line(line)
    if not fields then
      return nil, string.format("experiment.read_csv: %s:%d: %s", path, line_no, msg)
    end
    if not columns then
      columns = fields
    else
      if #fields ~= #columns then
        return nil, string.format("experiment.read_csv: %s:%d: %d fields, the header has %d",
          path, line_no, #fields, #columns)
      end
      local row = {}
      for i, c in ipairs(columns) do
        local v = fields[i]
        if v ~= "" then
          local lower = v:lower()
          row[c] = tonumber(v) or (lower == "nan" and 0 / 0) or (lower == "inf" and math.huge)
            or (lower == "-inf" and -math.huge) or v
        end
      end
      rows[#rows + 1] = row
    end
  end
  if not columns then return nil, "experiment.read_csv: " .. path .. " is empty" end
  return columns, rows
end

--- experiment.write_json(path, value) -> path: strict JSON (NaN and infinities
-- as null), keys sorted, two-space indent.
function experiment.write_json(path, value)
  util.check_string(path, "experiment.write_json", "path")
  write_text(path, json_text("experiment.write_json", value), "experiment.write_json")
  return path
end

-- ---------------------------------------------------------------------------
-- Numbers and tables

--- experiment.mean_std(values) -> mean, standard deviation (the sample one,
-- divided by n - 1; 0 for a single value), n. NaN values count as NaN.
function experiment.mean_std(values)
  util.check_table(values, "experiment.mean_std", "values")
  local n = #values
  if n < 1 then error("experiment.mean_std: no values", 2) end
  for i = 1, n do
    if type(values[i]) ~= "number" then
      util.fail("experiment.mean_std", string.format("values[%d] must be a number, got %s", i,
        util.describe(values[i])))
    end
  end
  local sum = 0
  for i = 1, n do sum = sum + values[i] end
  local mean = sum / n
  if n == 1 then return mean, 0, 1 end
  local ss = 0
  for i = 1, n do ss = ss + (values[i] - mean) ^ 2 end
  return mean, math.sqrt(ss / (n - 1)), n
end

--- experiment.fmt(v [, digits = 4]) -> text: numbers with `digits` significant
-- digits (integers as they are), strings as they are, nil as "-".
function experiment.fmt(v, digits)
  if digits ~= nil then
    util.check_number(digits, "experiment.fmt", "digits", {integer = true, min = 0, max = 99})
  end
  if v == nil or v == json.null then return "-" end
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  return string.format("%." .. (digits or 4) .. "g", v)
end

--- experiment.fmt_pm(mean, std [, digits = 3]) -> "mean ± std".
function experiment.fmt_pm(mean, std, digits)
  if digits ~= nil then
    util.check_number(digits, "experiment.fmt_pm", "digits", {integer = true, min = 0, max = 99})
  end
  return experiment.fmt(mean, digits or 3) .. " ± " .. experiment.fmt(std, digits or 2)
end

-- The cells of a table as text.
local function cells(columns, rows)
  local out = {}
  for r, row in ipairs(rows) do
    local line = {}
    for i, c in ipairs(columns) do line[i] = experiment.fmt(row[c]) end
    out[r] = line
  end
  return out
end

-- The titles of a printed table, one string per column: headers (default
-- the column names), strings or numbers.
local function titles(fname, columns, headers)
  local given = headers ~= nil
  if given then util.check_table(headers, fname, "headers", 3) end
  local source, t = headers or columns, {}
  for i in ipairs(columns) do
    local h = source[i]
    if type(h) ~= "string" and type(h) ~= "number" then
      util.fail(fname, string.format("%s[%d] must be a string (a column title), got %s",
        given and "headers" or "columns", i, util.describe(h)), 3)
    end
    t[i] = tostring(h)
  end
  return t
end

-- The display width of a UTF-8 string (its number of code points).
local function width(s)
  return utf8.len(s) or #s
end

--- experiment.text_table(columns, rows [, headers]) -> an aligned plain-text
-- table (headers: the column titles, default the column names).
function experiment.text_table(columns, rows, headers)
  check_columns_rows("experiment.text_table", columns, rows)
  headers = titles("experiment.text_table", columns, headers)
  local body = cells(columns, rows)
  local w = {}
  for i, h in ipairs(headers) do
    w[i] = width(h)
    for _, line in ipairs(body) do w[i] = math.max(w[i], width(line[i])) end
  end
  local function render(line)
    local parts = {}
    for i, s in ipairs(line) do parts[i] = s .. string.rep(" ", w[i] - width(s)) end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local lines = {render(headers)}
  local rule = {}
  for i = 1, #headers do rule[i] = string.rep("-", w[i]) end
  lines[2] = table.concat(rule, "  ")
  for _, line in ipairs(body) do lines[#lines + 1] = render(line) end
  return table.concat(lines, "\n") .. "\n"
end

--- experiment.markdown_table(columns, rows [, headers]) -> a GitHub markdown
-- table (pipes in cells escaped).
function experiment.markdown_table(columns, rows, headers)
  check_columns_rows("experiment.markdown_table", columns, rows)
  headers = titles("experiment.markdown_table", columns, headers)
  local function render(line)
    local parts = {}
    for i, s in ipairs(line) do parts[i] = (s:gsub("|", "\\|")) end
    return "| " .. table.concat(parts, " | ") .. " |"
  end
  local lines = {render(headers)}
  local rule = {}
  for i = 1, #headers do rule[i] = "---" end
  lines[2] = "|" .. table.concat(rule, "|") .. "|"
  for _, line in ipairs(cells(columns, rows)) do lines[#lines + 1] = render(line) end
  return table.concat(lines, "\n") .. "\n"
end

-- ---------------------------------------------------------------------------
-- Training histories

--- The columns of a history CSV: the fields of idl.trainers.measure entries
-- (G and relaxed_l2 use the relaxed X, train_l2 and eval_l2 the equilibrium X).
experiment.HISTORY_COLUMNS = {"round", "G", "relaxed_l2", "train_l2", "eval_l2", "train_rmse", "eval_rmse",
  "lambda_l1", "residual", "inner_iterations", "seconds"}

--- experiment.series(history, key) -> x (rounds), y: the entries of history
-- that have a finite number at key, for plotting.
function experiment.series(history, key)
  check_rows("experiment.series", history, "history")
  local x, y = {}, {}
  for _, e in ipairs(history) do
    local v = e[key]
    if type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge then
      x[#x + 1], y[#y + 1] = e.round, v
    end
  end
  return x, y
end

--- experiment.positive_series(history, key) -> x, y as series() but only
-- values > 0 (for log axes).
function experiment.positive_series(history, key)
  check_rows("experiment.positive_series", history, "history")
  local x, y = {}, {}
  local sx, sy = experiment.series(history, key)
  for i = 1, #sx do
    if sy[i] > 0 then x[#x + 1], y[#y + 1] = sx[i], sy[i] end
  end
  return x, y
end

--- The columns of a step trace CSV (experiment.trace_steps).
experiment.TRACE_COLUMNS = {"step", "round", "G", "relaxed_l2", "train_l2", "eval_l2", "lambda_l1",
  "residual"}

--- experiment.trace_steps([every = 1]) -> trace, stop: records the relaxed
-- trainers' progress after every inner step, as the report's code did (its
-- training curves append to evals_result at each gradient step, not only at
-- each dual update). It wraps idl.trainers.x_step (which two_loops, one_loop
-- and bcd call once per step) until stop() is called; the wrapper only reads
-- the state, so training is bit-for-bit the same as without it. Each entry of
-- the array trace: step (1, 2, ...), round (the round it belongs to), G,
-- relaxed_l2 (L with the relaxed X), residual ||X - (D X + E U + f 1^T)_+||_F,
-- lambda_l1, and every `every` steps train_l2 and eval_l2, the losses of the
-- real model (X from the equilibrium, tolerance 1e-6, warm-started).
function experiment.trace_steps(every)
  every = every == nil and 1 or util.check_count(every, "experiment.trace_steps", "every", 1)
  local trainers = require "idl.trainers"
  local losses = require "idl.losses"
  local original = trainers.x_step
  local trace, warm = {}, {}
  local function true_loss(s, U, Y, key)
    local Yhat, info = s.model:predict_u(U, {x0 = warm[key], tol = 1e-6, max_iter = 1000})
    warm[key] = info.x
    return losses.get(s.model.loss).value(Yhat, Y)
  end
  trainers.x_step = function(s)
    original(s)
    local G, L, _, residual = trainers.objective(s)
    local lam = s.model.lambda
    local e = {step = #trace + 1, round = s.round, G = G, relaxed_l2 = L, residual = residual,
      lambda_l1 = lam:relu():sum() + (-lam):relu():sum()}
    if (e.step - 1) % every == 0 then
      e.train_l2 = true_loss(s, s.U, s.Y, "train")
      if s.eval then e.eval_l2 = true_loss(s, s.eval.U, s.eval.Y, "eval") end
    end
    trace[#trace + 1] = e
    return s
  end
  local function stop() trainers.x_step = original end
  return trace, stop
end

--- experiment.step_series(trace, key) -> x (steps), y: the entries of a step
-- trace with a finite positive value at key (for log axes).
function experiment.step_series(trace, key)
  check_rows("experiment.step_series", trace, "trace")
  local x, y = {}, {}
  for _, e in ipairs(trace) do
    local v = e[key]
    if type(v) == "number" and v > 0 and v < math.huge then x[#x + 1], y[#y + 1] = e.step, v end
  end
  return x, y
end

-- ---------------------------------------------------------------------------
-- Results

--- experiment.results(opts, meta) -> res: the results record of one run, with
-- res.out (opts.out, created), res.size, res.seed, the fields of meta (name,
-- section, title, ...), empty res.figures, res.notes and res.files, and the
-- start time. Fill res.settings and res.summary = {columns =, rows =
-- [, headers =]} (and optionally res.tables, an array of {title =, columns =,
-- rows =, headers =}); experiment.finish writes it.
function experiment.results(opts, meta)
  util.check_table(opts, "experiment.results", "opts (from experiment.parse)")
  if type(meta) ~= "table" or type(meta.name) ~= "string" then
    error("experiment.results: meta must be a table with a name", 2)
  end
  local res = {size = opts.size, seed = opts.seed, out = opts.out,
    figures = {}, notes = {}, files = {}, settings = {}, started = core.clock()}
  for k, v in pairs(meta) do res[k] = v end
  util.check_string(res.out, "experiment.results", "opts.out (the output directory)")
  if not os.execute("mkdir -p " .. sh_quote(res.out)) then
    error("experiment.results: cannot create the directory " .. res.out, 2)
  end
  return res
end

--- experiment.file(res, name) -> the path of an output file of res, recorded
-- in res.files (so results.json lists what the run wrote).
function experiment.file(res, name)
  check_results("experiment.file", res)
  util.check_string(name, "experiment.file", "name")
  res.files[#res.files + 1] = name
  return res.out .. "/" .. name
end

--- experiment.figure(res, kind, file, caption, opts) -> the image path or nil:
-- draws idl.plot[kind](opts) into res.out/file and records {file, caption} in
-- res.figures. When gnuplot is missing or fails, the data and script are
-- still written (idl.plot's behaviour), the figure is recorded with
-- rendered = false, and the first message is kept in res.plot_message and
-- printed once to stderr.
function experiment.figure(res, kind, file, caption, opts)
  local fname = "experiment.figure"
  local plot = require "idl.plot"
  check_results(fname, res)
  if type(kind) ~= "string" or type(plot[kind]) ~= "function" then
    util.fail(fname, "kind must name an idl.plot function (lines, scatter, errorbars, heatmap), got "
      .. util.describe(kind))
  end
  util.check_string(file, fname, "file")
  util.check_string(caption, fname, "caption")
  util.check_table(opts, fname, "opts (idl.plot's options)")
  opts.path = res.out .. "/" .. file
  if opts.series ~= nil then
    -- A series with nothing to draw (e.g. no positive value on a log axis) is
    -- left out and named in the caption; with none left there is no figure.
    check_rows(fname, opts.series, "opts.series")
    local kept, dropped = {}, {}
    for i, s in ipairs(opts.series) do
      local n = 0
      if type(s.y) == "table" then
        n = #s.y
      elseif core.is_matrix(s.y) then
        n = s.y:rows() * s.y:cols()
      elseif s.y ~= nil then
        util.fail(fname, string.format("opts.series[%d].y must be a table or a matrix, got %s", i,
          util.describe(s.y)))
      end
      if n > 0 then kept[#kept + 1] = s else dropped[#dropped + 1] = tostring(s.label or "?") end
    end
    if #dropped > 0 then
      caption = caption .. " (not drawn, no values" .. (opts.logy and " > 0" or "") .. ": "
        .. table.concat(dropped, ", ") .. ")"
    end
    if #kept == 0 then
      res.figures[#res.figures + 1] = {file = file, caption = caption, rendered = false}
      experiment.note(res, file .. " not drawn: no series has values to draw")
      return nil
    end
    opts.series = kept
  end
  local path, msg = util.relabel(fname, 2, plot[kind], opts)
  res.figures[#res.figures + 1] = {file = file, caption = caption, rendered = path ~= nil}
  if not path then
    res.plot_message = res.plot_message or msg
    if not res.warned then
      io.stderr:write(res.name, ": figure ", file, " not rendered: ", tostring(msg), "\n")
      res.warned = true
    end
  end
  return path
end

--- experiment.note(res, text): a remark for the report (printed by finish).
function experiment.note(res, text)
  check_results("experiment.note", res)
  util.check_string(text, "experiment.note", "text")
  res.notes[#res.notes + 1] = text
end

--- experiment.finish(res) -> res: writes results.json and summary.csv into
-- res.out and prints the summary table, the notes and the wall time.
function experiment.finish(res)
  local fname = "experiment.finish"
  check_results(fname, res)
  util.check_number(res.started, fname, "res.started")
  local summary = res.summary
  if summary ~= nil then
    util.check_table(summary, fname, "res.summary")
    check_columns_rows(fname, summary.columns, summary.rows)
    titles(fname, summary.columns, summary.headers)
  end
  res.seconds = core.clock() - res.started
  local record = {}
  for k, v in pairs(res) do
    if k ~= "started" and k ~= "warned" and k ~= "out" then record[k] = v end
  end
  if summary then
    res.files[#res.files + 1] = "summary.csv"
    write_text(res.out .. "/summary.csv", experiment.csv_text(summary.columns, summary.rows), fname)
  end
  res.files[#res.files + 1] = "results.json"
  write_text(res.out .. "/results.json", json_text(fname, record), fname)
  local out = io.stdout
  out:write(string.format("%s (section %s, %s): %s\n", res.name, tostring(res.section), res.size,
    res.title))
  if summary then out:write(experiment.text_table(summary.columns, summary.rows, summary.headers)) end
  for _, n in ipairs(res.notes) do out:write("note: ", n, "\n") end
  out:write(string.format("wrote %d files and %d figures into %s in %.1f s\n", #res.files, #res.figures,
    res.out, res.seconds))
  return res
end

return experiment
