--- idl.plot: figures as PNG and SVG, drawn by gnuplot through a pipe.
--
--     local plot = require "idl.plot"
--     plot.lines{path = "out/sin/loss.png", title = "Training", xlabel = "round", ylabel = "loss",
--                logy = true, series = {{y = train, label = "train L2"}, {y = test, label = "test L2"}}}
--
-- Every call writes, beside the image, the data (`<base>.dat`) and the gnuplot
-- script (`<base>.gp`, which refers to files by their names only), so a figure
-- can be re-rendered or restyled by hand with `cd <dir> && gnuplot ./<base>.gp`.
-- The format follows the extension of `path` (.png or .svg); `formats = {"png", "svg"}`
-- writes both. On success a function returns the image path (the one of `path`'s
-- format, else of the first format) and the array of all paths. When gnuplot is
-- missing or fails it returns nil and a message saying how to render by hand; it
-- never raises for that. Misuse (a missing path, series of different lengths, a
-- value that is not a number) raises "plot.<fn>: ...".
--
-- Numbers: x and y are Lua arrays or idl matrices with one row or one column; if x
-- is omitted it is 1..n. NaN and +-Inf are written as NaN, which gnuplot treats as
-- undefined: such points are not drawn, and lines break there. Text (titles, labels) and file names are
-- printed literally and never run anything (gnuplot expands `cmd` in strings: see idl.plot.gnuplot.string),
-- unless `enhanced = true` turns on gnuplot's enhanced text (x_1, x^2, {/Symbol l}).
-- @module idl.plot

local core = require "idl.core"
local api = require "idl._api"
local gnuplot = require "idl.plot.gnuplot"

local plot = {}

--- The gnuplot command (a name on PATH or a path); change it to use another gnuplot.
plot.gnuplot = "gnuplot"

local styles = {lines = "lines lw 2", points = "points pt 7 ps 0.7",
                linespoints = "linespoints lw 2 pt 7 ps 0.7"}
local common_keys = {"path", "formats", "title", "xlabel", "ylabel", "width", "height", "legend",
                     "xrange", "yrange", "enhanced", "font"}

local data_block, number_text = gnuplot.data_block, gnuplot.number

-- Misuse raises through api.failf (idl._api), which blames the caller's line
-- and names the public function called (idl.plot.<name>, or the function of
-- another module that called plot, e.g. idl.IDLModel:plot_history).
local function public(name, impl)
  return api.public("idl.plot." .. name, impl)
end

-- Writes and renders a figure with the gnuplot command set in plot.gnuplot
-- (idl.plot.gnuplot.finish).
local function finish(kind, opts, data, build)
  return gnuplot.finish(kind, opts, data, build, plot.gnuplot)
end

-- Checking what to draw ---------------------------------------------------------

-- Raises on keys of t that are not in the allowed list.
local function check_keys(t, allowed, what)
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  for k in pairs(t) do
    if not set[k] then api.failf("unknown %s '%s'", what, tostring(k)) end
  end
end

-- A Lua array of numbers from a Lua array or a vector matrix; `what` names it in errors.
local function to_vector(v, what)
  if core.is_matrix(v) then
    local r, c = v:size()
    if r ~= 1 and c ~= 1 then api.failf("%s is a %dx%d matrix, expected a vector", what, r, c) end
    local out = {}
    for i = 1, r * c do out[i] = r == 1 and v:get(1, i) or v:get(i, 1) end
    return out
  end
  if type(v) ~= "table" then api.failf("%s is a %s, expected an array or a vector", what, type(v)) end
  for i = 1, #v do
    if type(v[i]) ~= "number" then
      api.failf("%s[%d] is %s, expected a number", what, i, v[i] == nil and "nil" or "a " .. type(v[i]))
    end
  end
  return v
end

-- Checks series s (number i): returns x, y (and err when wanted) as Lua arrays of one length.
local function series_data(s, i, keys, with_err, name)
  name = name or "series " .. i
  if s == nil then api.failf("%s is missing", name) end
  if type(s) ~= "table" then api.failf("%s is a %s, expected a table", name, type(s)) end
  check_keys(s, keys, "field of " .. name)
  if s.y == nil then api.failf("%s has no y", name) end
  local y = to_vector(s.y, name .. " y")
  local x = s.x ~= nil and to_vector(s.x, name .. " x")
  if not x then
    x = {}
    for k = 1, #y do x[k] = k end
  end
  if #x ~= #y then api.failf("%s has %d x values and %d y values", name, #x, #y) end
  if #y == 0 then api.failf("%s is empty", name) end
  if s.label ~= nil and type(s.label) ~= "string" then api.failf("%s label must be a string", name) end
  if not with_err then return x, y end
  if s.err == nil then api.failf("%s has no err", name) end
  local err = to_vector(s.err, name .. " err")
  if #err ~= #y then api.failf("%s has %d y values and %d err values", name, #y, #err) end
  for k = 1, #err do
    if err[k] < 0 then api.failf("%s err[%d] is %g, expected >= 0", name, k, err[k]) end
  end
  return x, y, err
end

local function check_opts(opts, keys)
  if type(opts) ~= "table" then api.failf("expected a table of options, got %s", type(opts)) end
  local allowed = {table.unpack(common_keys)}
  for _, k in ipairs(keys) do allowed[#allowed + 1] = k end
  check_keys(opts, allowed, "option")
end

-- Public functions ---------------------------------------------------------------

--- Line plot of several series, with a legend and optional log scales.
-- @tparam table opts `path` (.png or .svg), `series` = array of
--   `{x =, y =, label =, style = "lines"|"points"|"linespoints"}` (x optional: 1..n);
--   optional `formats`, `title`, `xlabel`, `ylabel`, `logx`, `logy`, `xrange`/`yrange` = {low, high},
--   `legend` (gnuplot key position such as "bottom left", or "off"), `width`, `height` (pixels),
--   `font`, `enhanced`
-- @return the image path and the array of all paths, or nil and a message
-- @function lines
plot.lines = public("lines", function(opts)
  check_opts(opts, {"series", "logx", "logy"})
  if type(opts.series) ~= "table" or #opts.series == 0 then
    api.failf("opts.series must be a non-empty array")
  end
  local blocks, clauses = {}, {}
  for i, s in ipairs(opts.series) do
    local x, y = series_data(s, i, {"x", "y", "label", "style"})
    local style = styles[s.style or "lines"]
    if not style then
      api.failf("series %d style '%s' is not lines, points or linespoints", i, tostring(s.style))
    end
    blocks[i] = data_block(string.format("series %d: %s (x y)", i, s.label or ""), {x, y})
    clauses[i] = {i - 1, style, gnuplot.title(s.label)}
  end
  return finish("lines", opts, table.concat(blocks, "\n\n\n") .. "\n", function(base, make)
    local parts = {}
    for i, c in ipairs(clauses) do
      local file = i == 1 and gnuplot.file(base .. ".dat") or '""'
      parts[i] = string.format('%s index %d using 1:2 with %s %s', file, c[1], c[2], c[3])
    end
    return make(gnuplot.header("lines", opts, base), "plot " .. table.concat(parts, ", \\\n     "))
  end)
end)

-- Sorts the pairs (x[k], y[k]) by x, so that a curve evaluated at random points draws as a curve.
local function sorted_by_x(x, y)
  local order = {}
  for k = 1, #x do order[k] = k end
  table.sort(order, function(a, b)
    if x[a] ~= x[b] then return x[a] < x[b] end
    return a < b
  end)
  local sx, sy = {}, {}
  for k, o in ipairs(order) do sx[k], sy[k] = x[o], y[o] end
  return sx, sy
end

--- Scatter plot of points with fitted curves drawn over them.
-- @tparam table opts `path`, `points` = `{x =, y =, label =}`, optional `curves` = array of
--   `{x =, y =, label =}` (drawn as lines in increasing x, so they may be given in any order),
--   and the common options of `lines` (`logx`, `logy` included)
-- @return the image path and the array of all paths, or nil and a message
-- @function scatter
plot.scatter = public("scatter", function(opts)
  check_opts(opts, {"points", "curves", "logx", "logy"})
  local px, py = series_data(opts.points, 0, {"x", "y", "label"}, false, "points")
  local blocks = {data_block("points: " .. (opts.points.label or "") .. " (x y)", {px, py})}
  local curves = opts.curves or {}
  if type(curves) ~= "table" then api.failf("opts.curves must be an array") end
  for i, c in ipairs(curves) do
    local x, y = series_data(c, i, {"x", "y", "label"}, false, "curve " .. i)
    x, y = sorted_by_x(x, y)
    blocks[i + 1] = data_block(string.format("curve %d: %s (x y, sorted by x)", i, c.label or ""), {x, y})
  end
  return finish("scatter", opts, table.concat(blocks, "\n\n\n") .. "\n", function(base, make)
    local parts = {string.format("%s index 0 using 1:2 with points pt 7 ps 0.5 lc rgb '#7f7f7f' %s",
                                 gnuplot.file(base .. ".dat"), gnuplot.title(opts.points.label))}
    for i, c in ipairs(curves) do
      parts[i + 1] = string.format('"" index %d using 1:2 with lines lw 2.5 %s', i, gnuplot.title(c.label))
    end
    return make(gnuplot.header("scatter", opts, base), "plot " .. table.concat(parts, ", \\\n     "))
  end)
end)

-- The bars of an error-bar series given by low and high (low <= y <= high):
-- the data block and its gnuplot columns.
local function range_bars(s, i)
  local name = "series " .. i
  if s.err ~= nil then api.failf("%s gives err and low/high: give one of them", name) end
  local x, y = series_data(s, i, {"x", "y", "low", "high", "label"})
  local low = to_vector(s.low, name .. " low")
  local high = to_vector(s.high, name .. " high")
  if #low ~= #y or #high ~= #y then
    api.failf("%s has %d y values, %d low and %d high values", name, #y, #low, #high)
  end
  for k = 1, #y do
    if low[k] > y[k] or y[k] > high[k] then
      api.failf("%s point %d: low %g <= y %g <= high %g does not hold", name, k, low[k], y[k],
        high[k])
    end
  end
  return data_block(string.format("series %d: %s (x y low high)", i, s.label or ""), {x, y, low, high}),
    "1:2:3:4"
end

--- Error-bar plot: mean +- err, or a bar from low to high, for each series, joined by lines.
-- @tparam table opts `path`, `series` = array of `{x =, y =, err =, label =}` (err >= 0, e.g. a
--   standard deviation) or `{x =, y =, low =, high =, label =}` (low <= y <= high, e.g. the
--   minimum and maximum over runs: such bars stay positive on a log y axis), and the common
--   options of `lines` (`logx`, `logy` included)
-- @return the image path and the array of all paths, or nil and a message
-- @function errorbars
plot.errorbars = public("errorbars", function(opts)
  check_opts(opts, {"series", "logx", "logy"})
  if type(opts.series) ~= "table" or #opts.series == 0 then
    api.failf("opts.series must be a non-empty array")
  end
  local blocks, columns = {}, {}
  for i, s in ipairs(opts.series) do
    if type(s) == "table" and (s.low ~= nil or s.high ~= nil) then
      blocks[i], columns[i] = range_bars(s, i)
    else
      local x, y, err = series_data(s, i, {"x", "y", "err", "low", "high", "label"}, true)
      blocks[i] = data_block(string.format("series %d: %s (x y err)", i, s.label or ""), {x, y, err})
      columns[i] = "1:2:3"
    end
  end
  return finish("errorbars", opts, table.concat(blocks, "\n\n\n") .. "\n", function(base, make)
    local parts = {}
    for i, s in ipairs(opts.series) do
      parts[i] = string.format("%s index %d using %s with yerrorlines lw 2 pt 7 ps 0.7 %s",
                               i == 1 and gnuplot.file(base .. ".dat") or '""', i - 1, columns[i],
                               gnuplot.title(s.label))
    end
    return make(gnuplot.header("errorbars", opts, base), "plot " .. table.concat(parts, ", \\\n     "))
  end)
end)

-- The rows of a heatmap's matrix as Lua arrays, checked rectangular and numeric.
local function matrix_rows(m)
  local rows = core.is_matrix(m) and m:totable() or m
  if type(rows) ~= "table" or #rows < 1 then
    api.failf("opts.matrix must be a non-empty table of rows or a matrix")
  end
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then api.failf("matrix row %d is a %s, expected a table", i, type(row)) end
    if #row ~= #rows[1] then
      api.failf("matrix row %d has %d values, row 1 has %d", i, #row, #rows[1])
    end
    to_vector(row, "matrix row " .. i)
  end
  if #rows[1] == 0 then api.failf("opts.matrix has empty rows") end
  return rows
end

local function tics(axis, labels, n)
  if labels == nil then return string.format("set %stics 1", axis) end
  if type(labels) ~= "table" or #labels ~= n then
    api.failf("opts.%slabels must be an array of %d labels", axis, n)
  end
  local parts = {}
  for i, l in ipairs(labels) do parts[i] = gnuplot.string(l) .. " " .. (i - 1) end
  return string.format("set %stics (%s)", axis, table.concat(parts, ", "))
end

--- Heatmap of a matrix, row 1 at the top, each cell labelled with its value (e.g. a
-- confusion matrix: rows = true class, columns = predicted class).
-- @tparam table opts `path`, `matrix` (a table of rows or an idl matrix), optional `xlabels`
--   (one per column), `ylabels` (one per row), `values` (print the values: default when at
--   most 400 cells), `value_format` (default "%g"), and the common options
-- @return the image path and the array of all paths, or nil and a message
-- @function heatmap
plot.heatmap = public("heatmap", function(opts)
  check_opts(opts, {"matrix", "xlabels", "ylabels", "values", "value_format"})
  local rows = matrix_rows(opts.matrix)
  local nr, nc = #rows, #rows[1]
  local lo, hi = math.huge, -math.huge
  local lines = {"# matrix: " .. nr .. " rows of " .. nc .. " values"}
  for i, row in ipairs(rows) do
    local cells = {}
    for j, v in ipairs(row) do
      cells[j] = number_text(v)
      if v == v and math.abs(v) < math.huge then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
    lines[i + 1] = table.concat(cells, " ")
  end
  local fmt = opts.value_format or "%g"
  if type(fmt) ~= "string" or not fmt:match("^%%[-+ #0]*%d*%.?%d*[dfgeE]$") then
    api.failf("opts.value_format must be one printf number format such as %%.2f")
  end
  local show = opts.values
  if show == nil then show = nr * nc <= 400 end
  return finish("heatmap", opts, table.concat(lines, "\n") .. "\n", function(base, make)
    local h = gnuplot.header("heatmap", opts, base)
    h[#h + 1] = string.format("set xrange [-0.5:%g]\nset yrange [%g:-0.5]", nc - 0.5, nr - 0.5)
    h[#h + 1] = tics("x", opts.xlabels, nc) .. "\n" .. tics("y", opts.ylabels, nr)
    h[#h + 1] = "unset grid\nunset key\nset tics scale 0\nset palette defined (0 'white', 1 '#2166ac')"
    if hi >= lo then
      h[#h + 1] = string.format("set cbrange [%s:%s]", number_text(lo), number_text(hi > lo and hi or lo + 1))
    end
    local data = gnuplot.file(base .. ".dat")
    local command = "plot " .. data .. " matrix with image notitle"
    if show then
      -- Dark cells get white text, light cells black text.
      local mid = hi >= lo and (lo + hi) / 2 or 0
      local label = string.format("(sprintf(%s, $3))", gnuplot.string(fmt))
      command = command .. string.format(
        ", \\\n     %s matrix using 1:2:($3 > %s ? %s : \"\") with labels tc rgb 'white' notitle"
        .. ", \\\n     %s matrix using 1:2:($3 <= %s ? %s : \"\") with labels tc rgb 'black' notitle",
        data, number_text(mid), label, data, number_text(mid), label)
    end
    return make(h, command)
  end)
end)

return plot
