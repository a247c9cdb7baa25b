-- idl.plot: data and script files beside each image, the images gnuplot draws from them,
-- argument checks, and what happens when gnuplot is missing or fails.
local idl = require "idl"
local plot = require "idl.plot"

local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")
local has_gnuplot = support.has_gnuplot
local function it_renders(name, f) it(name, support.rendering(f)) end

local sh_quote, slurp, exists = support.sh_quote, support.slurp, support.exists

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

-- Width and height from a PNG's IHDR chunk (nil if the file is not a PNG).
local function png_size(path)
  local data = slurp(path)
  if not data or data:sub(1, 8) ~= "\137PNG\r\n\26\n" or data:sub(13, 16) ~= "IHDR" then return nil end
  local width, height = string.unpack(">I4I4", data, 17)
  return width, height
end

-- The blocks of a .dat file (separated by blank lines) as arrays of columns of numbers.
local function read_blocks(path)
  local blocks, block = {}, nil
  for line in slurp(path):gmatch("([^\n]*)\n") do
    if line == "" then
      block = nil
    elseif not line:match("^#") then
      if not block then
        block = {}
        blocks[#blocks + 1] = block
      end
      local c = 0
      for word in line:gmatch("%S+") do
        c = c + 1
        block[c] = block[c] or {}
        block[c][#block[c] + 1] = word == "NaN" and 0 / 0 or assert(tonumber(word))
      end
    end
  end
  return blocks
end

local function same_numbers(expected, got)
  assert.equal(#expected, #got)
  for i = 1, #expected do
    local e, g = expected[i], got[i]
    if e ~= e or e == math.huge or e == -math.huge then
      assert.is_true(g ~= g, "value " .. i .. " should be NaN")
    else
      assert.equal(e, g)
    end
  end
end

local dir
setup(function()
  dir = os.tmpname()
  os.remove(dir)
  dir = dir .. " plots" -- a space, to check the quoting of paths
end)
teardown(function()
  os.execute("rm -rf " .. sh_quote(dir))
end)

describe("plot.lines", function()
  local x, a, b = {}, {}, {}
  for i = 1, 30 do x[i], a[i], b[i] = i, 1 / i, 0.1 + 1 / math.sqrt(i) end

  it_renders("writes the image, its data and its script, creating the directory", function()
    local path = dir .. "/sub/loss.png"
    local image, all = plot.lines{path = path, title = "loss", xlabel = "round", ylabel = "L2", logy = true,
                                  width = 640, height = 400,
                                  series = {{x = x, y = a, label = "train"}, {x = x, y = b, label = "eval",
                                                                                style = "linespoints"}}}
    assert.equal(path, image)
    assert.same({path}, all)
    assert.same({640, 400}, {png_size(path)})
    local blocks = read_blocks(dir .. "/sub/loss.dat")
    assert.equal(2, #blocks)
    same_numbers(x, blocks[1][1])
    same_numbers(a, blocks[1][2])
    same_numbers(b, blocks[2][2])
    local gp = slurp(dir .. "/sub/loss.gp")
    assert.is_truthy(gp:find("set logscale y", 1, true))
    assert.is_falsy(gp:find("set logscale x", 1, true))
    assert.is_truthy(gp:find('set output "./loss.png"', 1, true))
    assert.is_truthy(gp:find('index 1 using 1:2 with linespoints', 1, true))
    assert.is_truthy(gp:find('title "eval"', 1, true))
  end)

  it_renders("writes PNG and SVG with formats, returning the path's own format first", function()
    local image, all = plot.lines{path = dir .. "/both.svg", formats = {"png", "svg"}, series = {{y = a}}}
    assert.equal(dir .. "/both.svg", image)
    assert.same({dir .. "/both.png", dir .. "/both.svg"}, all)
    assert.same({800, 500}, {png_size(all[1])})
    assert.matches("<svg", slurp(all[2]))
    local first = plot.lines{path = dir .. "/noext", formats = {"svg"}, series = {{y = a}}}
    assert.equal(dir .. "/noext.svg", first)
  end)

  it_renders("takes idl vectors (row or column) and numbers x from 1 when it is omitted", function()
    local row, column = idl.from_table{{1, 2, 3}}, idl.from_table{4, 5, 6}
    plot.lines{path = dir .. "/vec.png", series = {{x = row, y = column}, {y = {7, 8}}}}
    local blocks = read_blocks(dir .. "/vec.dat")
    same_numbers({1, 2, 3}, blocks[1][1])
    same_numbers({4, 5, 6}, blocks[1][2])
    same_numbers({1, 2}, blocks[2][1])
  end)

  it_renders("writes NaN and infinities as NaN and still draws the rest", function()
    local y = {1, 0 / 0, 3, math.huge, -math.huge, 6}
    assert.is_truthy(plot.lines{path = dir .. "/nan.png", series = {{y = y}}})
    same_numbers(y, read_blocks(dir .. "/nan.dat")[1][2])
    assert.is_truthy(png_size(dir .. "/nan.png"))
  end)

  it_renders("writes quotes, backslashes and other punctuation as octal escapes, newlines as \\n", function()
    local title = 'say "hi" \\ it\'s\nline 2'
    assert.is_truthy(plot.lines{path = dir .. "/text.png", title = title, xlabel = "a_b^c",
                                series = {{y = {1, 2}, label = '"quoted"'}}})
    local gp = slurp(dir .. "/text.gp")
    -- octal: " is 042, \\ is 134, ' is 047, ^ is 136, 2 is 062 (a digit after an escape would
    -- otherwise be read as a fourth octal digit)
    assert.is_truthy(gp:find([[set title "say \042hi\042 \134 it\047s\nline \062"]], 1, true))
    assert.is_truthy(gp:find([[set xlabel "a_b\136c"]], 1, true))
    assert.is_truthy(gp:find([[title "\042quoted\042"]], 1, true))
    assert.is_truthy(gp:find("noenhanced", 1, true))
  end)
end)

describe("plot.scatter", function()
  it_renders("draws the points as given and each curve sorted by x", function()
    local rng = idl.rng(4)
    local u, y, fit = {}, {}, {}
    for i = 1, 100 do
      u[i] = 6 * rng:uniform() - 3
      y[i] = math.sin(u[i]) + 0.1 * rng:normal()
      fit[i] = math.sin(u[i])
    end
    assert.is_truthy(plot.scatter{path = dir .. "/sin.png", points = {x = u, y = y, label = "test"},
                                  curves = {{x = u, y = fit, label = "fit"}}})
    local blocks = read_blocks(dir .. "/sin.dat")
    same_numbers(u, blocks[1][1])
    same_numbers(y, blocks[1][2])
    local cx, cy = blocks[2][1], blocks[2][2]
    assert.equal(100, #cx)
    for k = 1, #cx do
      if k > 1 then assert.is_true(cx[k - 1] <= cx[k]) end
      assert.equal(math.sin(cx[k]), cy[k]) -- pairs stay together
    end
    assert.is_truthy(png_size(dir .. "/sin.png"))
  end)
end)

describe("plot.errorbars", function()
  it_renders("writes x, mean and error columns and draws them on a log x axis", function()
    local h, mean, sd = {5, 10, 20, 50}, {0.5, 0.3, 0.2, 0.15}, {0.1, 0.05, 0.04, 0.0}
    assert.is_truthy(plot.errorbars{path = dir .. "/err.png", logx = true, xlabel = "h",
                                    series = {{x = h, y = mean, err = sd, label = "trained"}}})
    local block = read_blocks(dir .. "/err.dat")[1]
    same_numbers(h, block[1])
    same_numbers(mean, block[2])
    same_numbers(sd, block[3])
    local gp = slurp(dir .. "/err.gp")
    assert.is_truthy(gp:find("set logscale x", 1, true))
    assert.is_truthy(gp:find("using 1:2:3 with yerrorlines", 1, true))
  end)
end)

describe("plot.heatmap", function()
  it_renders("writes the matrix row by row with its labels", function()
    local m = {{50, 2, 0}, {3, 40, 7}}
    assert.is_truthy(plot.heatmap{path = dir .. "/confusion.png", matrix = idl.from_table(m),
                                  xlabels = {"a", "b", "c"}, ylabels = {"A", "B"}})
    local block = read_blocks(dir .. "/confusion.dat")[1]
    for j = 1, 3 do same_numbers({m[1][j], m[2][j]}, block[j]) end
    local gp = slurp(dir .. "/confusion.gp")
    assert.is_truthy(gp:find('set xtics ("a" 0, "b" 1, "c" 2)', 1, true))
    assert.is_truthy(gp:find('set ytics ("A" 0, "B" 1)', 1, true))
    assert.is_truthy(gp:find("set yrange [1.5:-0.5]", 1, true)) -- row 1 at the top
    assert.is_truthy(gp:find("with labels", 1, true))
    assert.is_truthy(png_size(dir .. "/confusion.png"))
  end)
end)

describe("without a working gnuplot", function()
  after_each(function() plot.gnuplot = "gnuplot" end)

  it("still writes the data and the script, and says how to render them", function()
    plot.gnuplot = "idl-test-no-such-gnuplot"
    local path = dir .. "/later/fig.png"
    local image, msg = plot.lines{path = path, series = {{y = {1, 4, 9}, label = "squares"}}}
    assert.is_nil(image)
    assert.matches("^gnuplot not found: render with `cd .* && gnuplot %./fig.gp`$", msg)
    assert.is_true(exists(dir .. "/later/fig.dat"))
    assert.is_true(exists(dir .. "/later/fig.gp"))
    assert.is_false(exists(path))
    -- the command in the message renders the figure
    assert.is_true(has_gnuplot, "gnuplot is not installed: install gnuplot-nox (.ci/install-deps)")
    assert.is_true(os.execute(msg:match("`(.*)`") .. " 2>/dev/null"))
    assert.same({800, 500}, {png_size(path)})
  end)

  it_renders("returns gnuplot's error and leaves no image when gnuplot fails", function()
    local path = dir .. "/bad.png"
    local image, msg = plot.lines{path = path, logy = true, series = {{y = {-1, -2}}}}
    assert.is_nil(image)
    assert.matches("^gnuplot failed %(exit status 1%) on .*/bad.gp:\n", msg)
    assert.matches("all points y value undefined", msg)
    assert.is_false(exists(path))
    assert.is_true(exists(dir .. "/bad.gp"))
  end)

  it("does not die when gnuplot exits without reading its script", function()
    plot.gnuplot = "true"
    local image = plot.lines{path = dir .. "/true.png", series = {{y = {1, 2}}}}
    assert.equal(dir .. "/true.png", image) -- `true` succeeds and draws nothing: not our concern
    plot.gnuplot = "false"
    local none, msg = plot.lines{path = dir .. "/false.png", series = {{y = {1, 2}}}}
    assert.is_nil(none)
    assert.matches("^gnuplot failed %(exit status 1%)", msg)
  end)
end)

describe("argument checks", function()
  local ten, nine = {}, {}
  for i = 1, 10 do ten[i] = i end
  for i = 1, 9 do nine[i] = i end
  local ok_series = {{y = {1, 2}}}

  it("name the function and the problem", function()
    local p = dir .. "/x.png"
    local cases = {
      {plot.lines, {series = ok_series}, "plot.lines: opts.path (the image file) is missing"},
      {plot.lines, {path = dir .. "/x.jpg", series = ok_series},
       "plot.lines: path '" .. dir .. "/x.jpg' must end in .png or .svg (or give formats)"},
      {plot.lines, {path = p, formats = {"pdf"}, series = ok_series}, "plot.lines: unknown format 'pdf'"},
      {plot.lines, {path = p, series = {{y = {1}}, {x = ten, y = nine}}},
       "plot.lines: series 2 has 10 x values and 9 y values"},
      {plot.lines, {path = p, series = {{y = {1, "2"}}}},
       "plot.lines: series 1 y[2] is a string, expected a number"},
      {plot.lines, {path = p, series = {{x = {1, nil, 3}, y = {1, 2, 3}}}},
       "plot.lines: series 1 x[2] is nil, expected a number"},
      {plot.lines, {path = p, series = {{y = idl.zeros(2, 3)}}},
       "plot.lines: series 1 y is a 2x3 matrix, expected a vector"},
      {plot.lines, {path = p, series = {{y = {}}}}, "plot.lines: series 1 is empty"},
      {plot.lines, {path = p, series = {{x = {1}}}}, "plot.lines: series 1 has no y"},
      {plot.lines, {path = p, series = {}}, "plot.lines: opts.series must be a non-empty array"},
      {plot.lines, {path = p, series = {{y = {1}, style = "bars"}}},
       "plot.lines: series 1 style 'bars' is not lines, points or linespoints"},
      {plot.lines, {path = p, series = ok_series, ylable = "oops"}, "plot.lines: unknown option 'ylable'"},
      {plot.lines, {path = p, series = {{y = {1}, lable = "a"}}},
       "plot.lines: unknown field of series 1 'lable'"},
      {plot.lines, {path = p, series = ok_series, xrange = {0, "1"}},
       "plot.lines: opts.xrange must be {low, high} (numbers or nil)"},
      {plot.lines, {path = p, series = ok_series, legend = "top; system('x')"},
       "plot.lines: opts.legend must be words"},
      {plot.lines, "out.png", "plot.lines: expected a table of options, got string"},
      {plot.scatter, {path = p, curves = {}}, "plot.scatter: points is missing"},
      {plot.scatter, {path = p, points = {x = {1, 2}, y = {1, 2}}, curves = {{x = {1}, y = {1, 2}}}},
       "plot.scatter: curve 1 has 1 x values and 2 y values"},
      {plot.errorbars, {path = p, series = {{y = {1, 2}, err = {1}}}},
       "plot.errorbars: series 1 has 2 y values and 1 err values"},
      {plot.errorbars, {path = p, series = {{y = {1, 2}, err = {1, -1}}}},
       "plot.errorbars: series 1 err[2] is -1, expected >= 0"},
      {plot.errorbars, {path = p, series = {{y = {1, 2}}}}, "plot.errorbars: series 1 has no err"},
      {plot.heatmap, {path = p, matrix = {{1, 2}, {3}}},
       "plot.heatmap: matrix row 2 has 1 values, row 1 has 2"},
      {plot.heatmap, {path = p, matrix = {{1, 2}}, xlabels = {"a"}},
       "plot.heatmap: opts.xlabels must be an array of 2 labels"},
      {plot.heatmap, {path = p, matrix = {}}, "plot.heatmap: opts.matrix must be a non-empty table of rows"},
      {plot.heatmap, {path = p, matrix = {{1}}, value_format = "%s"},
       "plot.heatmap: opts.value_format must be one printf number format"},
    }
    for _, case in ipairs(cases) do
      local msg = err_of(case[1], case[2])
      assert.is_truthy(msg:find(case[3], 1, true), "'" .. msg .. "' lacks '" .. case[3] .. "'")
    end
  end)

  it("blame the caller's line", function()
    local msg = err_of(function() plot.lines{series = ok_series} end)
    assert.matches("plot_spec.lua:%d+: idl%.plot%.lines: opts%.path", msg)
  end)

  it("write nothing when the arguments are wrong", function()
    err_of(plot.lines, {path = dir .. "/never.png", series = {{x = ten, y = nine}}})
    assert.is_false(exists(dir .. "/never.dat"))
    assert.is_false(exists(dir .. "/never.gp"))
  end)
end)
