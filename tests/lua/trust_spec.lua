-- Trust (issue 12): hostile text never runs a command, writes never lose data
-- silently, and inputs that would give silently wrong numbers are refused.
local plot = require "idl.plot"
local parallel = require "idl.parallel"

local has_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1")
-- gnuplot is required (.ci/install-deps installs gnuplot-nox): without it the
-- tests that render fail rather than go pending.
local function it_renders(name, f)
  it(name, function()
    assert.is_true(has_gnuplot, "gnuplot is not installed: install gnuplot-nox (.ci/install-deps)")
    f()
  end)
end
local source_dir = os.getenv("IDL_SOURCE_DIR") or "."

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local function exists(path)
  return slurp(path) ~= nil
end

-- A fresh empty directory (removed by the caller with remove_tree).
local function temp_dir()
  local path = os.tmpname()
  os.remove(path)
  assert(os.execute("mkdir -p " .. sh_quote(path)))
  return path
end

local function remove_tree(path)
  os.execute("rm -rf " .. sh_quote(path))
end

-- Every file name under dir (recursively) that starts with "MARK".
local function markers_under(dir)
  local p = io.popen("find " .. sh_quote(dir) .. " -name 'MARK*' -print")
  local found = p:read("a")
  p:close()
  return found
end

describe("plot text and paths", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  -- Commands written as gnuplot and the shell would run them: backquotes (both
  -- quote forms), $( ), a closing quote then system(), a newline then "!cmd"
  -- (gnuplot's shell escape), a macro.
  local function hostile(marker)
    local touch = "touch " .. marker
    return {"`" .. touch .. "`", "'`" .. touch .. "`'", "$(" .. touch .. ")",
            '"; system("' .. touch .. '"); print "', "\n!" .. touch .. "\n", "@x `" .. touch .. "`",
            "a\\\"`" .. touch .. "`\\"}
  end

  it_renders("runs nothing when idl renders or when the .gp file is rendered by hand", function()
    local marker = base .. "/MARK_label"
    local texts = hostile(marker)
    -- directory and file names: backquotes, $( ), a newline then !cmd, '|cmd' (set
    -- output pipes into a command) and '<cmd' (plot reads a command's output)
    local paths = {
      base .. "/d`touch MARK_dir`/f$(touch MARK_file).svg",
      base .. "/n\n!touch MARK_newline\nx.svg",
      base .. "/|touch MARK_pipe.svg",
      base .. "/<touch MARK_read.svg",
    }
    for i, path in ipairs(paths) do
      local title = texts[(i - 1) % #texts + 1]
      local image, msg = plot.lines{path = path, title = title, xlabel = texts[2], ylabel = texts[3],
        series = {{y = {1, 2, 3}, label = texts[4]}, {y = {3, 2, 1}, label = texts[5]}}}
      assert.equal("", markers_under(base))
      assert.equal(path, image, msg)
      local svg = assert(slurp(image))
      assert.truthy(svg:find("touch", 1, true), "the hostile text is drawn as text")
      assert.equal("", markers_under(base))
      -- rendered again by hand, as the comment in the script says
      local dir, file = path:match("^(.*)/([^/]*)%.svg$")
      os.remove(image)
      local ok, how, code = os.execute(string.format("cd %s && gnuplot %s", sh_quote(dir),
        sh_quote("./" .. file .. ".gp")))
      assert.truthy(ok, path .. ": " .. tostring(how) .. " " .. tostring(code))
      assert.truthy(exists(image))
      assert.equal("", markers_under(base))
    end
    local image, msg = plot.heatmap{path = base .. "/h.svg", matrix = {{1, 2}, {3, 4}},
      xlabels = {texts[1], texts[6]}, ylabels = {texts[5], texts[7]}, title = texts[4],
      font = "sans,10" .. texts[1]}
    assert.equal("", markers_under(base))
    assert.truthy(image and exists(image), msg)
  end)

  it_renders("keeps the text of titles and labels as given", function()
    local title = "50% of `x` in $y @z \\n \"q\" 'p' \195\169"
    local image = assert(plot.lines{path = base .. "/t.svg", title = title, series = {{y = {1, 2}}}})
    local svg = assert(slurp(image))
    -- gnuplot's SVG escapes & < > " as entities
    local escaped = title:gsub("&", "&amp;"):gsub('"', "&quot;")
    assert.truthy(svg:find(escaped, 1, true) or svg:find(title, 1, true), "title drawn literally")
  end)
end)

describe("parallel.map and the shell", function()
  local worker = source_dir .. "/tests/lua/fixtures/parallel_worker.lua"
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  it("refuses an environment variable name that is not an identifier", function()
    local marker = base .. "/MARK_env"
    local ok, msg = pcall(parallel.map, worker, {{seed = 1, n = 2}},
      {env = {["X=1; touch " .. marker .. "; Y"] = "v"}})
    assert.is_false(ok)
    assert.matches("parallel.map: opts.env: .* is not a variable name", msg)
    assert.equal("", markers_under(base))
  end)

  it("removes its own temporary directory when TMPDIR holds a newline", function()
    -- TMPDIR = "<base>/victim\n<base>": a reader of mktemp's first line would
    -- take "<base>/victim" for the temporary directory and rm -rf it
    local victim = base .. "/victim"
    local tmpdir = victim .. "\n" .. base
    assert(os.execute("mkdir -p " .. sh_quote(tmpdir) .. " " .. sh_quote(victim)
      .. " && touch " .. sh_quote(victim .. "/keep")))
    local script = base .. "/run.lua"
    local f = assert(io.open(script, "w"))
    f:write(string.format([[
local parallel = require "idl.parallel"
local r = parallel.map(%q, {{seed = 1, n = 2}}, {jobs = 1})
assert(r[1].index == 1)
]], worker))
    f:close()
    local exe = os.getenv("IDL_EXE") or "idl"
    assert(os.execute(string.format("TMPDIR=%s %s %s", sh_quote(tmpdir), sh_quote(exe), sh_quote(script))))
    assert.truthy(exists(victim .. "/keep"), "the directory TMPDIR's first line names is intact")
    local p = io.popen("ls -A " .. sh_quote(tmpdir))
    assert.equal("", p:read("a"), "the temporary directory is removed")
    p:close()
  end)
end)
