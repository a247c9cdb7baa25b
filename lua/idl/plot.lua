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
-- printed literally and never run anything (gnuplot expands `cmd` in strings: see gp_string),
-- unless `enhanced = true` turns on gnuplot's enhanced text (x_1, x^2, {/Symbol l}).
-- @module idl.plot

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"

local plot = {}

--- The gnuplot command (a name on PATH or a path); change it to use another gnuplot.
plot.gnuplot = "gnuplot"

local styles = {lines = "lines lw 2", points = "points pt 7 ps 0.7",
                linespoints = "linespoints lw 2 pt 7 ps 0.7"}
local common_keys = {"path", "formats", "title", "xlabel", "ylabel", "width", "height", "legend",
                     "xrange", "yrange", "enhanced", "font"}

-- Helpers ---------------------------------------------------------------------

local sh_quote = util.sh_quote

-- A gnuplot double-quoted string that gnuplot never expands. gnuplot runs `cmd`
-- found on a line (inside double quotes too) and expands @macros before it reads
-- a string, so every byte but letters, space and , . _ - + : / = is written as
-- an octal escape: the line then holds no backquote, @, $, quote or newline, and
-- the string still reads back as the same bytes. Digits are escaped too: gnuplot
-- reads a digit right after "\050" as a fourth octal digit ("(0" became "@").
local function gp_string(s)
  s = tostring(s):gsub("[^%a ,%._%-+:/=]", function(c)
    return c == "\n" and "\\n" or string.format("\\%03o", c:byte())
  end)
  return '"' .. s .. '"'
end

-- A file name for gnuplot: "./" first, since a name starting with '|' or '<' is
-- a command to gnuplot (set output "|cmd", plot "<cmd"), and "-" or "" are special.
local function gp_file(name)
  return gp_string("./" .. name)
end

local function is_matrix(v)
  local mt = type(v) == "userdata" and getmetatable(v)
  return mt and mt.__name == "idl.matrix" or false
end

-- Misuse: raised through idl._api, which blames the caller's line and names
-- the public function called (idl.plot.<fname>, or the function of another
-- module that called plot, e.g. idl.IDLModel:plot_history).
local function fail(fname, fmt, ...)
  api.fail(string.format(fmt, ...), "idl.plot." .. fname)
end

-- A public function of the module, idl.plot.<name> (errors: see fail).
local function public(name, impl)
  return api.public("idl.plot." .. name, impl)
end

local function number_text(x)
  if x ~= x or x == math.huge or x == -math.huge then return "NaN" end
  return math.type(x) == "integer" and string.format("%d", x) or string.format("%.17g", x)
end

-- Raises on keys of t that are not in the allowed list.
local function check_keys(fname, t, allowed, what)
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  for k in pairs(t) do
    if not set[k] then fail(fname, "unknown %s '%s'", what, tostring(k)) end
  end
end

-- A Lua array of numbers from a Lua array or a vector matrix; `what` names it in errors.
local function to_vector(fname, v, what)
  if is_matrix(v) then
    local r, c = v:size()
    if r ~= 1 and c ~= 1 then fail(fname, "%s is a %dx%d matrix, expected a vector", what, r, c) end
    local out = {}
    for i = 1, r * c do out[i] = r == 1 and v:get(1, i) or v:get(i, 1) end
    return out
  end
  if type(v) ~= "table" then fail(fname, "%s is a %s, expected an array or a vector", what, type(v)) end
  for i = 1, #v do
    if type(v[i]) ~= "number" then
      fail(fname, "%s[%d] is %s, expected a number", what, i, v[i] == nil and "nil" or "a " .. type(v[i]))
    end
  end
  return v
end

-- Checks series s (number i): returns x, y (and err when wanted) as Lua arrays of one length.
local function series_data(fname, s, i, keys, with_err, name)
  name = name or "series " .. i
  if s == nil then fail(fname, "%s is missing", name) end
  if type(s) ~= "table" then fail(fname, "%s is a %s, expected a table", name, type(s)) end
  check_keys(fname, s, keys, "field of " .. name)
  if s.y == nil then fail(fname, "%s has no y", name) end
  local y = to_vector(fname, s.y, name .. " y")
  local x = s.x ~= nil and to_vector(fname, s.x, name .. " x")
  if not x then
    x = {}
    for k = 1, #y do x[k] = k end
  end
  if #x ~= #y then fail(fname, "%s has %d x values and %d y values", name, #x, #y) end
  if #y == 0 then fail(fname, "%s is empty", name) end
  if s.label ~= nil and type(s.label) ~= "string" then fail(fname, "%s label must be a string", name) end
  if not with_err then return x, y end
  if s.err == nil then fail(fname, "%s has no err", name) end
  local err = to_vector(fname, s.err, name .. " err")
  if #err ~= #y then fail(fname, "%s has %d y values and %d err values", name, #y, #err) end
  for k = 1, #err do
    if err[k] < 0 then fail(fname, "%s err[%d] is %g, expected >= 0", name, k, err[k]) end
  end
  return x, y, err
end

-- Output: directory, base name (no extension) and formats of opts.path/opts.formats.
local function outputs(fname, opts)
  if type(opts.path) ~= "string" or opts.path == "" then
    fail(fname, "opts.path (the image file) is missing")
  end
  local dir, file = opts.path:match("^(.*)/([^/]*)$")
  if not dir then dir, file = ".", opts.path end
  if dir == "" then dir = "/" end
  local base, ext = file:match("^(.+)%.(%a+)$")
  ext = ext and ext:lower()
  local formats = opts.formats
  if formats == nil then
    if ext ~= "png" and ext ~= "svg" then
      fail(fname, "path '%s' must end in .png or .svg (or give formats)", opts.path)
    end
    formats = {ext}
  else
    if type(formats) ~= "table" or #formats == 0 then fail(fname, "opts.formats must be an array") end
    for _, f in ipairs(formats) do
      if f ~= "png" and f ~= "svg" then fail(fname, "unknown format '%s' (png or svg)", tostring(f)) end
    end
    if ext ~= "png" and ext ~= "svg" then base = file end
  end
  return dir, base, formats, ext
end

local function mkdir_p(dir)
  if dir ~= "." and not os.execute("mkdir -p " .. sh_quote(dir)) then
    return nil, "cannot create the directory " .. dir
  end
  return true
end

-- Atomic and checked (idl.write_file_atomic): true, or nil and "cannot write '<path>': <reason>".
local write_file = core.write_file_atomic

-- Gnuplot: detection, script and rendering ---------------------------------------

local found = {}

-- Whether plot.gnuplot runs, and whether it has the cairo PNG terminal (both cached).
local function gnuplot_info()
  local cmd = plot.gnuplot
  if found[cmd] == nil then
    local p = os.execute("command -v " .. sh_quote(cmd) .. " >/dev/null 2>&1") and
              io.popen(sh_quote(cmd) .. " -e 'set terminal' </dev/null 2>&1")
    local terms = p and p:read("a") or ""
    if p then p:close() end
    found[cmd] = p and {cairo = terms:find("pngcairo", 1, true) ~= nil} or false
  end
  return found[cmd]
end

local function terminal_line(format, opts, info)
  local text = opts.enhanced and "enhanced" or "noenhanced"
  local font = gp_string(opts.font or "sans,11")
  local size = string.format("size %d,%d", opts.width or 800, opts.height or 500)
  if format == "svg" then
    return string.format('set terminal svg %s %s font %s background rgb "white"', size, text, font)
  end
  return string.format("set terminal %s %s %s font %s", info and info.cairo and "pngcairo" or "png",
                       size, text, font)
end

local function range_text(fname, r, which)
  if r == nil then return nil end
  local function bound(v)
    if v == nil then return "*" end
    if type(v) ~= "number" then fail(fname, "opts.%s must be {low, high} (numbers or nil)", which) end
    return number_text(v)
  end
  if type(r) ~= "table" then fail(fname, "opts.%s must be {low, high} (numbers or nil)", which) end
  return string.format("set %s [%s:%s]", which, bound(r[1]), bound(r[2]))
end

-- The settings shared by every kind of figure.
local function header(fname, opts, base)
  -- a name with other bytes is not put into the comment: a newline would end it
  local name = base:match("^[%w ,%._%-+=]+$") and "./" .. base .. ".gp" or "./<this file>"
  local lines = {"# Written by idl.plot; render with: gnuplot " .. name .. " (from this directory)",
                 "set grid"}
  local function add(line) if line then lines[#lines + 1] = line end end
  if opts.title then add("set title " .. gp_string(opts.title)) end
  if opts.xlabel then add("set xlabel " .. gp_string(opts.xlabel)) end
  if opts.ylabel then add("set ylabel " .. gp_string(opts.ylabel)) end
  if opts.logx then add("set logscale x") end
  if opts.logy then add("set logscale y") end
  if fname == "errorbars" then -- keep the bars at both ends inside the frame
    add("set autoscale fix\nset offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08")
  end
  add(range_text(fname, opts.xrange, "xrange"))
  add(range_text(fname, opts.yrange, "yrange"))
  local legend = opts.legend or "top right"
  if type(legend) ~= "string" or not legend:match("^[%a ]+$") then
    fail(fname, "opts.legend must be words such as 'top left' or 'off'")
  end
  add(legend == "off" and "unset key" or "set key " .. legend .. " opaque box")
  return lines
end

-- The complete script: header, then for each format its terminal, output and plot command.
local function script_text(opts, lines, base, formats, plot_command, info)
  local out = {table.concat(lines, "\n")}
  for _, f in ipairs(formats) do
    out[#out + 1] = terminal_line(f, opts, info)
    out[#out + 1] = "set output " .. gp_file(base .. "." .. f)
    out[#out + 1] = plot_command
    out[#out + 1] = "unset output"
  end
  return table.concat(out, "\n") .. "\n"
end

-- Pipes the script into gnuplot run in dir; returns true or nil, message. After gnuplot
-- ends, `cat` drains the pipe, so a gnuplot that dies early cannot kill us with SIGPIPE.
local function run_gnuplot(dir, script)
  local errfile = os.tmpname()
  local p = io.popen(string.format("cd %s && { %s 2>%s; status=$?; cat >/dev/null; exit $status; }",
                                   sh_quote(dir), sh_quote(plot.gnuplot), sh_quote(errfile)), "w")
  p:write(script)
  local ok, _, code = p:close()
  local f = io.open(errfile)
  local err = f and f:read("a") or ""
  if f then f:close() end
  os.remove(errfile)
  if ok then return true end
  return nil, string.format("exit status %s", tostring(code)), err:gsub("^%s+", ""):gsub("%s+$", "")
end

-- Writes the data and script beside the image, then renders; returns the path(s) or nil, message.
local function finish(fname, opts, data, build)
  local dir, base, formats, ext = outputs(fname, opts)
  local ok, err = mkdir_p(dir)
  if not ok then return nil, "plot." .. fname .. ": " .. err end
  local info = gnuplot_info()
  local script = build(base, function(lines, command)
    return script_text(opts, lines, base, formats, command, info)
  end)
  local prefix = dir .. "/" .. base
  ok, err = write_file(prefix .. ".dat", data)
  if ok then ok, err = write_file(prefix .. ".gp", script) end
  if not ok then return nil, "plot." .. fname .. ": " .. err end
  -- "./": gnuplot runs a file argument that starts with '<' as a command
  local how = string.format("render with `cd %s && gnuplot %s`", sh_quote(dir),
                            sh_quote("./" .. base .. ".gp"))
  if not info then return nil, "gnuplot not found: " .. how end
  local paths, primary = {}, nil
  for i, f in ipairs(formats) do
    paths[i] = prefix .. "." .. f
    if f == ext then primary = paths[i] end
  end
  local status, output
  ok, status, output = run_gnuplot(dir, script)
  if not ok then
    for _, path in ipairs(paths) do os.remove(path) end -- no half-drawn images
    return nil, string.format("gnuplot failed (%s) on %s.gp:\n%s", status, prefix, output)
  end
  return primary or paths[1], paths
end

local function check_opts(fname, opts, keys)
  if type(opts) ~= "table" then fail(fname, "expected a table of options, got %s", type(opts)) end
  local allowed = {table.unpack(common_keys)}
  for _, k in ipairs(keys) do allowed[#allowed + 1] = k end
  check_keys(fname, opts, allowed, "option")
end

-- Data blocks: columns separated by spaces, blocks by two blank lines (gnuplot's `index`).
local function data_block(comment, columns)
  local rows = {"# " .. comment:gsub("\n", " ")}
  for k = 1, #columns[1] do
    local row = {}
    for c = 1, #columns do row[c] = number_text(columns[c][k]) end
    rows[#rows + 1] = table.concat(row, " ")
  end
  return table.concat(rows, "\n")
end

local function title_of(label)
  return label and "title " .. gp_string(label) or "notitle"
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
  check_opts("lines", opts, {"series", "logx", "logy"})
  if type(opts.series) ~= "table" or #opts.series == 0 then
    fail("lines", "opts.series must be a non-empty array")
  end
  local blocks, clauses = {}, {}
  for i, s in ipairs(opts.series) do
    local x, y = series_data("lines", s, i, {"x", "y", "label", "style"})
    local style = styles[s.style or "lines"]
    if not style then
      fail("lines", "series %d style '%s' is not lines, points or linespoints", i, tostring(s.style))
    end
    blocks[i] = data_block(string.format("series %d: %s (x y)", i, s.label or ""), {x, y})
    clauses[i] = {i - 1, style, title_of(s.label)}
  end
  return finish("lines", opts, table.concat(blocks, "\n\n\n") .. "\n", function(base, make)
    local parts = {}
    for i, c in ipairs(clauses) do
      local file = i == 1 and gp_file(base .. ".dat") or '""'
      parts[i] = string.format('%s index %d using 1:2 with %s %s', file, c[1], c[2], c[3])
    end
    return make(header("lines", opts, base), "plot " .. table.concat(parts, ", \\\n     "))
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
  check_opts("scatter", opts, {"points", "curves", "logx", "logy"})
  local px, py = series_data("scatter", opts.points, 0, {"x", "y", "label"}, false, "points")
  local blocks = {data_block("points: " .. (opts.points.label or "") .. " (x y)", {px, py})}
  local curves = opts.curves or {}
  if type(curves) ~= "table" then fail("scatter", "opts.curves must be an array") end
  for i, c in ipairs(curves) do
    local x, y = series_data("scatter", c, i, {"x", "y", "label"}, false, "curve " .. i)
    x, y = sorted_by_x(x, y)
    blocks[i + 1] = data_block(string.format("curve %d: %s (x y, sorted by x)", i, c.label or ""), {x, y})
  end
  return finish("scatter", opts, table.concat(blocks, "\n\n\n") .. "\n", function(base, make)
    local parts = {string.format("%s index 0 using 1:2 with points pt 7 ps 0.5 lc rgb '#7f7f7f' %s",
                                 gp_file(base .. ".dat"), title_of(opts.points.label))}
    for i, c in ipairs(curves) do
      parts[i + 1] = string.format('"" index %d using 1:2 with lines lw 2.5 %s', i, title_of(c.label))
    end
    return make(header("scatter", opts, base), "plot " .. table.concat(parts, ", \\\n     "))
  end)
end)

-- The bars of an error-bar series given by low and high (low <= y <= high):
-- the data block and its gnuplot columns.
local function range_bars(s, i)
  local name = "series " .. i
  if s.err ~= nil then fail("errorbars", "%s gives err and low/high: give one of them", name) end
  local x, y = series_data("errorbars", s, i, {"x", "y", "low", "high", "label"})
  local low = to_vector("errorbars", s.low, name .. " low")
  local high = to_vector("errorbars", s.high, name .. " high")
  if #low ~= #y or #high ~= #y then
    fail("errorbars", "%s has %d y values, %d low and %d high values", name, #y, #low, #high)
  end
  for k = 1, #y do
    if low[k] > y[k] or y[k] > high[k] then
      fail("errorbars", "%s point %d: low %g <= y %g <= high %g does not hold", name, k, low[k], y[k],
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
  check_opts("errorbars", opts, {"series", "logx", "logy"})
  if type(opts.series) ~= "table" or #opts.series == 0 then
    fail("errorbars", "opts.series must be a non-empty array")
  end
  local blocks, columns = {}, {}
  for i, s in ipairs(opts.series) do
    if type(s) == "table" and (s.low ~= nil or s.high ~= nil) then
      blocks[i], columns[i] = range_bars(s, i)
    else
      local x, y, err = series_data("errorbars", s, i, {"x", "y", "err", "low", "high", "label"}, true)
      blocks[i] = data_block(string.format("series %d: %s (x y err)", i, s.label or ""), {x, y, err})
      columns[i] = "1:2:3"
    end
  end
  return finish("errorbars", opts, table.concat(blocks, "\n\n\n") .. "\n", function(base, make)
    local parts = {}
    for i, s in ipairs(opts.series) do
      parts[i] = string.format("%s index %d using %s with yerrorlines lw 2 pt 7 ps 0.7 %s",
                               i == 1 and gp_file(base .. ".dat") or '""', i - 1, columns[i],
                               title_of(s.label))
    end
    return make(header("errorbars", opts, base), "plot " .. table.concat(parts, ", \\\n     "))
  end)
end)

-- The rows of a heatmap's matrix as Lua arrays, checked rectangular and numeric.
local function matrix_rows(m)
  local rows = is_matrix(m) and m:totable() or m
  if type(rows) ~= "table" or #rows < 1 then
    fail("heatmap", "opts.matrix must be a non-empty table of rows or a matrix")
  end
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then fail("heatmap", "matrix row %d is a %s, expected a table", i, type(row)) end
    if #row ~= #rows[1] then
      fail("heatmap", "matrix row %d has %d values, row 1 has %d", i, #row, #rows[1])
    end
    to_vector("heatmap", row, "matrix row " .. i)
  end
  if #rows[1] == 0 then fail("heatmap", "opts.matrix has empty rows") end
  return rows
end

local function tics(axis, labels, n)
  if labels == nil then return string.format("set %stics 1", axis) end
  if type(labels) ~= "table" or #labels ~= n then
    fail("heatmap", "opts.%slabels must be an array of %d labels", axis, n)
  end
  local parts = {}
  for i, l in ipairs(labels) do parts[i] = gp_string(l) .. " " .. (i - 1) end
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
  check_opts("heatmap", opts, {"matrix", "xlabels", "ylabels", "values", "value_format"})
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
    fail("heatmap", "opts.value_format must be one printf number format such as %%.2f")
  end
  local show = opts.values
  if show == nil then show = nr * nc <= 400 end
  return finish("heatmap", opts, table.concat(lines, "\n") .. "\n", function(base, make)
    local h = header("heatmap", opts, base)
    h[#h + 1] = string.format("set xrange [-0.5:%g]\nset yrange [%g:-0.5]", nc - 0.5, nr - 0.5)
    h[#h + 1] = tics("x", opts.xlabels, nc) .. "\n" .. tics("y", opts.ylabels, nr)
    h[#h + 1] = "unset grid\nunset key\nset tics scale 0\nset palette defined (0 'white', 1 '#2166ac')"
    if hi >= lo then
      h[#h + 1] = string.format("set cbrange [%s:%s]", number_text(lo), number_text(hi > lo and hi or lo + 1))
    end
    local data = gp_file(base .. ".dat")
    local command = "plot " .. data .. " matrix with image notitle"
    if show then
      -- Dark cells get white text, light cells black text.
      local mid = hi >= lo and (lo + hi) / 2 or 0
      local label = string.format("(sprintf(%s, $3))", gp_string(fmt))
      command = command .. string.format(
        ", \\\n     %s matrix using 1:2:($3 > %s ? %s : \"\") with labels tc rgb 'white' notitle"
        .. ", \\\n     %s matrix using 1:2:($3 <= %s ? %s : \"\") with labels tc rgb 'black' notitle",
        data, number_text(mid), label, data, number_text(mid), label)
    end
    return make(h, command)
  end)
end)

return plot
