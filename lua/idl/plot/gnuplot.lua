--- How idl.plot drives gnuplot: strings and file names gnuplot never
-- expands, the data blocks, the script (settings shared by every figure, a
-- terminal and output per format), and writing the data and script beside the
-- image before rendering them through a pipe. idl.plot decides what to draw.
-- @module idl.plot.gnuplot

local core = require "idl.core"
local api = require "idl._api"
local util = require "idl._util"

local gnuplot = {}

local sh_quote = util.sh_quote

--- gnuplot.string(s) -> a gnuplot double-quoted string that gnuplot never expands. gnuplot runs `cmd`
-- found on a line (inside double quotes too) and expands @macros before it reads
-- a string, so every byte but letters, space and , . _ - + : / = is written as
-- an octal escape: the line then holds no backquote, @, $, quote or newline, and
-- the string still reads back as the same bytes. Digits are escaped too: gnuplot
-- reads a digit right after "\050" as a fourth octal digit ("(0" became "@").
function gnuplot.string(s)
  s = tostring(s):gsub("[^%a ,%._%-+:/=]", function(c)
    return c == "\n" and "\\n" or string.format("\\%03o", c:byte())
  end)
  return '"' .. s .. '"'
end

--- gnuplot.file(name) -> a file name for gnuplot: "./" first, since a name starting with '|' or '<' is
-- a command to gnuplot (set output "|cmd", plot "<cmd"), and "-" or "" are special.
function gnuplot.file(name)
  return gnuplot.string("./" .. name)
end

--- gnuplot.number(x) -> x as gnuplot reads it back exactly (NaN for NaN and +-Inf).
function gnuplot.number(x)
  if x ~= x or x == math.huge or x == -math.huge then return "NaN" end
  return math.type(x) == "integer" and string.format("%d", x) or string.format("%.17g", x)
end

-- Output: directory, base name (no extension) and formats of opts.path/opts.formats.
local function outputs(opts)
  if type(opts.path) ~= "string" or opts.path == "" then
    api.failf("opts.path (the image file) is missing")
  end
  local dir, file = opts.path:match("^(.*)/([^/]*)$")
  if not dir then dir, file = ".", opts.path end
  if dir == "" then dir = "/" end
  local base, ext = file:match("^(.+)%.(%a+)$")
  ext = ext and ext:lower()
  local formats = opts.formats
  if formats == nil then
    if ext ~= "png" and ext ~= "svg" then
      api.failf("path '%s' must end in .png or .svg (or give formats)", opts.path)
    end
    formats = {ext}
  else
    if type(formats) ~= "table" or #formats == 0 then api.failf("opts.formats must be an array") end
    for _, f in ipairs(formats) do
      if f ~= "png" and f ~= "svg" then api.failf("unknown format '%s' (png or svg)", tostring(f)) end
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

-- Whether the command cmd runs, and whether it has the cairo PNG terminal (both cached).
local function gnuplot_info(cmd)
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
  local font = gnuplot.string(opts.font or "sans,11")
  local size = string.format("size %d,%d", opts.width or 800, opts.height or 500)
  if format == "svg" then
    return string.format('set terminal svg %s %s font %s background rgb "white"', size, text, font)
  end
  return string.format("set terminal %s %s %s font %s", info and info.cairo and "pngcairo" or "png",
                       size, text, font)
end

local function range_text(r, which)
  if r == nil then return nil end
  local function bound(v)
    if v == nil then return "*" end
    if type(v) ~= "number" then api.failf("opts.%s must be {low, high} (numbers or nil)", which) end
    return gnuplot.number(v)
  end
  if type(r) ~= "table" then api.failf("opts.%s must be {low, high} (numbers or nil)", which) end
  return string.format("set %s [%s:%s]", which, bound(r[1]), bound(r[2]))
end

--- gnuplot.header(kind, opts, base) -> the script lines shared by every kind
-- of figure (title, labels, scales, ranges, legend) for a figure of `kind`
-- ("lines", "errorbars", ...) written to <base>.gp.
function gnuplot.header(kind, opts, base)
  -- a name with other bytes is not put into the comment: a newline would end it
  local name = base:match("^[%w ,%._%-+=]+$") and "./" .. base .. ".gp" or "./<this file>"
  local lines = {"# Written by idl.plot; render with: gnuplot " .. name .. " (from this directory)",
                 "set grid"}
  local function add(line) if line then lines[#lines + 1] = line end end
  if opts.title then add("set title " .. gnuplot.string(opts.title)) end
  if opts.xlabel then add("set xlabel " .. gnuplot.string(opts.xlabel)) end
  if opts.ylabel then add("set ylabel " .. gnuplot.string(opts.ylabel)) end
  if opts.logx then add("set logscale x") end
  if opts.logy then add("set logscale y") end
  if kind == "errorbars" then -- keep the bars at both ends inside the frame
    add("set autoscale fix\nset offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08")
  end
  add(range_text(opts.xrange, "xrange"))
  add(range_text(opts.yrange, "yrange"))
  local legend = opts.legend or "top right"
  if type(legend) ~= "string" or not legend:match("^[%a ]+$") then
    api.failf("opts.legend must be words such as 'top left' or 'off'")
  end
  add(legend == "off" and "unset key" or "set key " .. legend .. " opaque box")
  return lines
end

-- The complete script: header, then for each format its terminal, output and plot command.
local function script_text(opts, lines, base, formats, plot_command, info)
  local out = {table.concat(lines, "\n")}
  for _, f in ipairs(formats) do
    out[#out + 1] = terminal_line(f, opts, info)
    out[#out + 1] = "set output " .. gnuplot.file(base .. "." .. f)
    out[#out + 1] = plot_command
    out[#out + 1] = "unset output"
  end
  return table.concat(out, "\n") .. "\n"
end

-- Pipes the script into gnuplot run in dir; returns true or nil, message. After gnuplot
-- ends, `cat` drains the pipe, so a gnuplot that dies early cannot kill us with SIGPIPE.
local function run_gnuplot(command, dir, script)
  local errfile = os.tmpname()
  local p = io.popen(string.format("cd %s && { %s 2>%s; status=$?; cat >/dev/null; exit $status; }",
                                   sh_quote(dir), sh_quote(command), sh_quote(errfile)), "w")
  p:write(script)
  local ok, _, code = p:close()
  local f = io.open(errfile)
  local err = f and f:read("a") or ""
  if f then f:close() end
  os.remove(errfile)
  if ok then return true end
  return nil, string.format("exit status %s", tostring(code)), err:gsub("^%s+", ""):gsub("%s+$", "")
end

--- gnuplot.finish(kind, opts, data, build, command) -> the image path and all
-- paths, or nil and a message: writes the data and the script build(base,
-- make) returns (make(header_lines, plot_command) gives the whole script)
-- beside the image opts.path, then renders them with the gnuplot `command`.
function gnuplot.finish(kind, opts, data, build, command)
  local dir, base, formats, ext = outputs(opts)
  local ok, err = mkdir_p(dir)
  if not ok then return nil, "idl.plot." .. kind .. ": " .. err end
  local info = gnuplot_info(command)
  local script = build(base, function(lines, plot_command)
    return script_text(opts, lines, base, formats, plot_command, info)
  end)
  local prefix = dir .. "/" .. base
  ok, err = write_file(prefix .. ".dat", data)
  if ok then ok, err = write_file(prefix .. ".gp", script) end
  if not ok then return nil, "idl.plot." .. kind .. ": " .. err end
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
  ok, status, output = run_gnuplot(command, dir, script)
  if not ok then
    for _, path in ipairs(paths) do os.remove(path) end -- no half-drawn images
    return nil, string.format("gnuplot failed (%s) on %s.gp:\n%s", status, prefix, output)
  end
  return primary or paths[1], paths
end

--- gnuplot.data_block(comment, columns) -> a data block: columns separated
-- by spaces (blocks are separated by two blank lines: gnuplot's `index`).
function gnuplot.data_block(comment, columns)
  local rows = {"# " .. comment:gsub("\n", " ")}
  for k = 1, #columns[1] do
    local row = {}
    for c = 1, #columns do row[c] = gnuplot.number(columns[c][k]) end
    rows[#rows + 1] = table.concat(row, " ")
  end
  return table.concat(rows, "\n")
end

--- gnuplot.title(label) -> a plot clause's title (notitle without a label).
function gnuplot.title(label)
  return label and "title " .. gnuplot.string(label) or "notitle"
end

return gnuplot
