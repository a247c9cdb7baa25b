-- Trust (issue 12): hostile text never runs a command, writes never lose data
-- silently, and inputs that would give silently wrong numbers are refused.
local plot = require "idl.plot"
local parallel = require "idl.parallel"

local support = dofile((os.getenv("IDL_SOURCE_DIR") or ".") .. "/tests/lua/support.lua")
local function it_renders(name, f) it(name, support.rendering(f)) end
local source_dir = os.getenv("IDL_SOURCE_DIR") or "."

local sh_quote, slurp, exists = support.sh_quote, support.slurp, support.exists

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
    local exe = os.getenv("IDL_EXE") or require("idl.core").executable()
    assert(os.execute(string.format("TMPDIR=%s %s %s", sh_quote(tmpdir), sh_quote(exe), sh_quote(script))))
    assert.truthy(exists(victim .. "/keep"), "the directory TMPDIR's first line names is intact")
    local p = io.popen("ls -A " .. sh_quote(tmpdir))
    assert.equal("", p:read("a"), "the temporary directory is removed")
    p:close()
  end)
end)

-- ---------------------------------------------------------------------------
-- Item 2 and 6: one atomic writer for every file

local idl = require "idl"

local exe = os.getenv("IDL_EXE") or require("idl.core").executable()

-- A model with h hidden units (its file grows as h^2).
local function model_of(h, seed)
  local g = idl.rng(seed or 1)
  return idl.model.new{theta = {A = idl.randn(1, h, g), B = idl.randn(1, 2, g), c = idl.randn(1, 1, g),
    D = idl.randn(h, h, g) * (0.1 / h), E = idl.randn(h, 2, g), f = idl.randn(h, 1, g)}}
end

local function same_model(a, b)
  for _, k in ipairs{"A", "B", "c", "D", "E", "f"} do
    if not idl.equal(a.theta[k], b.theta[k], 0) then return false end
  end
  return true
end

-- The names in dir (ls -A), sorted, one per line.
local function listing(dir)
  local p = io.popen("ls -A " .. sh_quote(dir))
  local out = p:read("a")
  p:close()
  return out
end

local function write_script(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function own_pid()
  local stat = io.open("/proc/self/stat")
  local pid = stat:read("n")
  stat:close()
  return pid
end

describe("atomic writes", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  it("2 processes x 200 saves to one path: every save succeeds, every load reads a whole model", function()
    local script = base .. "/saver.lua"
    write_script(script, [[
local idl = require "idl"
local path, n, seed, start = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local g = idl.rng(seed)
local h = 8
local m = idl.model.new{theta = {A = idl.randn(1, h, g), B = idl.randn(1, 2, g), c = idl.randn(1, 1, g),
  D = idl.randn(h, h, g) * (0.1 / h), E = idl.randn(h, 2, g), f = idl.randn(h, 1, g)}}
local bad = 0
for i = 1, n do
  m.meta.i = i
  -- both processes start save i at the same instant (the monotonic clock is
  -- the system's): as much overlap as possible
  while idl.clock() < start + 0.005 * i do end
  local saved, err = pcall(m.save, m, path)
  if not saved then bad = bad + 1; io.stderr:write(tostring(err), "\n") end
  local ok, lerr = pcall(idl.load, path)
  if not ok then bad = bad + 1; io.stderr:write(tostring(lerr), "\n") end
end
print(bad)
]])
    local target = base .. "/shared.idl"
    local start = string.format("%.3f", idl.clock() + 0.3)
    local cmd = string.format("cd %s && { %s saver.lua %s 200 1 %s > a.out 2>&1 & a=$!; "
      .. "%s saver.lua %s 200 2 %s > b.out 2>&1 & b=$!; wait $a; ea=$?; wait $b; eb=$?; echo $ea $eb; }",
      sh_quote(base), sh_quote(exe), sh_quote(target), start, sh_quote(exe), sh_quote(target), start)
    local p = io.popen(cmd)
    local status = p:read("a")
    p:close()
    assert.equal("0 0\n", status, (slurp(base .. "/a.out") or "") .. (slurp(base .. "/b.out") or ""))
    assert.equal("0\n", slurp(base .. "/a.out"))
    assert.equal("0\n", slurp(base .. "/b.out"))
    local m = idl.load(target)
    assert.equal(200, m.meta.i)
    assert.equal("a.out\nb.out\nsaver.lua\nshared.idl\n", listing(base), "no temporary left")
  end)

  it("saves under a final name near NAME_MAX and refuses one beyond it naming the cause", function()
    local name = string.rep("n", 251) .. ".idl" -- 255 bytes
    local m = model_of(3)
    m:save(base .. "/" .. name)
    assert.truthy(same_model(m, idl.load(base .. "/" .. name)))
    assert.equal(name .. "\n", listing(base))
    local ok, err = pcall(m.save, m, base .. "/" .. string.rep("x", 300))
    assert.is_false(ok)
    assert.matches("save: cannot write '.*': File name too long", err)
    ok, err = pcall(idl.write_csv, base .. "/" .. name .. "/x.csv", idl.ones(2, 2))
    assert.is_false(ok)
    assert.matches("write_csv: cannot write '.*': Not a directory", err)
    assert.equal(name .. "\n", listing(base))
  end)

  it("removes the temporaries of dead processes for the same path on the next write", function()
    local p = io.popen("sh -c 'echo $$'")
    local dead = assert(tonumber(p:read("a")))
    p:close()
    local stale = string.format("%s/.out.csv.idl-tmp.%d.0123456789abcdef", base, dead)
    local live = string.format("%s/.out.csv.idl-tmp.%d.fedcba9876543210", base, own_pid())
    local other = string.format("%s/.other.csv.idl-tmp.%d.0123456789abcdef", base, dead)
    for _, path in ipairs{stale, live, other} do write_script(path, "partial") end
    idl.write_csv(base .. "/out.csv", idl.ones(2, 2))
    assert.is_nil(slurp(stale), "a dead process's temporary is removed")
    assert.equal("partial", slurp(live), "a live writer's temporary is left alone")
    assert.equal("partial", slurp(other), "another target's temporary is left alone")
  end)

  it("leaves no temporary behind a writer killed with kill -9, once the next write ran", function()
    local script = base .. "/writer.lua"
    write_script(script, [[
local idl = require "idl"
local m = idl.randn(20000, 20, idl.rng(1))
io.stdout:write("ready\n"); io.stdout:flush()
while true do idl.write_csv(arg[1], m) end
]])
    local target = base .. "/big.csv"
    local p = io.popen(string.format("%s %s %s & echo $!; wait", sh_quote(exe), sh_quote(script),
      sh_quote(target)))
    local pid = assert(tonumber(p:read("l")))
    assert.equal("ready", p:read("l"))
    os.execute("sleep 0.3")
    os.execute("kill -9 " .. pid)
    p:close()
    -- recognizable, and unique across processes: the writer's pid and 64 random bits
    assert.matches("%.big%.csv%.idl%-tmp%." .. pid .. "%.%x+\n", listing(base))
    idl.write_csv(target, idl.ones(1, 1))
    assert.equal("big.csv\nwriter.lua\n", listing(base))
  end)
end)

-- A child process whose files may not grow beyond `blocks` KB (ulimit -f; SIGXFSZ
-- ignored, so a write past the limit fails with EFBIG instead of killing it).
local function run_limited(script, blocks)
  local p = io.popen(string.format("sh -c %s 2>&1", sh_quote(string.format(
    "trap '' XFSZ; ulimit -f %d; exec %s %s", blocks, sh_quote(exe), sh_quote(script)))))
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

-- Writes a small file with each writer, then a large one that cannot fit; each
-- writer must raise (or return nil and) a message with the path and the cause,
-- and leave the small file as it was and no temporary.
local FULL_SCRIPT = [[
local idl = require "idl"
local experiment = require "idl.experiment"
local json = require "idl.json"
local plot = require "idl.plot"
local dir, cause = arg[1], arg[2]
local g = idl.rng(1)
local function big_model()
  local h = 60
  return idl.model.new{theta = {A = idl.randn(1, h, g), B = idl.randn(1, 2, g), c = idl.randn(1, 1, g),
    D = idl.randn(h, h, g) * (0.1 / h), E = idl.randn(h, 2, g), f = idl.randn(h, 1, g)}}
end
local small = idl.model.new{theta = {A = idl.ones(1, 1), B = idl.ones(1, 2), c = idl.ones(1, 1),
  D = idl.zeros(1, 1), E = idl.ones(1, 2), f = idl.ones(1, 1)}}
local big_rows = {}
for i = 1, 4000 do big_rows[i] = {i = i, x = i / 7} end
local writers = {
  {"model.idl", function(p) small:save(p) end, function(p) big_model():save(p) end},
  {"m.csv", function(p) idl.write_csv(p, idl.ones(2, 2)) end,
            function(p) idl.write_csv(p, idl.randn(500, 10, g)) end},
  {"t.csv", function(p) experiment.write_csv(p, {"i", "x"}, {{i = 1, x = 2}}) end,
            function(p) experiment.write_csv(p, {"i", "x"}, big_rows) end},
  {"r.json", function(p) experiment.write_json(p, {1, 2}) end,
             function(p) experiment.write_json(p, big_rows) end},
  {"j.json", function(p) assert(json.write(p, {1})) end,
             function(p) local ok, err = json.write(p, big_rows); if not ok then error(err) end end},
  {"f.dat", function(p) assert(idl.write_file_atomic(p, "small")) end,
            function(p) assert(idl.write_file_atomic(p, string.rep("x", 1 << 20))) end},
  {"fig.svg", function(p) plot.lines{path = p, series = {{y = {1, 2}}}} end,
              function(p)
                local y = {}
                for i = 1, 5000 do y[i] = i / 3 end
                local ok, err = plot.lines{path = p, series = {{y = y}}}
                if not ok then error(err) end
              end, "fig.dat"},
}
for _, w in ipairs(writers) do
  local path = dir .. "/" .. w[1]
  w[2](path)
  local check = dir .. "/" .. (w[4] or w[1])
  local f = assert(io.open(check, "rb")); local before = f:read("a"); f:close()
  local ok, err = pcall(w[3], path)
  assert(not ok, w[1] .. ": the large write did not fail")
  err = tostring(err)
  assert(err:find(check, 1, true) and err:find(cause, 1, true), w[1] .. ": the message is " .. err)
  f = assert(io.open(check, "rb")); local after = f:read("a"); f:close()
  assert(before == after, w[1] .. ": the old file changed")
end
local p = io.popen("ls -A " .. dir)
local names = p:read("a")
p:close()
assert(not names:find("idl-tmp", 1, true), "a temporary is left: " .. names)
print("ok " .. #writers)
]]

describe("a write that fails for lack of space", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  it("keeps the old file, leaves no temporary and names the path and the cause (file size limit)", function()
    local script = base .. "/full.lua"
    assert(os.execute("mkdir " .. sh_quote(base .. "/out")))
    write_script(script, FULL_SCRIPT:gsub("arg%[1%], arg%[2%]",
      string.format("%q, %q", base .. "/out", "File too large")))
    local ok, out = run_limited(script, 64)
    assert.truthy(ok, out)
    assert.equal("ok 7\n", out)
  end)

  -- a real full file system when this process may mount one (root)
  local mount_dir = os.tmpname()
  os.remove(mount_dir)
  os.execute("mkdir -p " .. sh_quote(mount_dir))
  local mounted = os.execute("mount -t tmpfs -o size=64k idl-trust " .. sh_quote(mount_dir) .. " 2>/dev/null")
  local it_mounted = mounted and it or pending
  teardown(function()
    if mounted then os.execute("umount " .. sh_quote(mount_dir)) end
    os.execute("rmdir " .. sh_quote(mount_dir))
  end)

  it_mounted("keeps the old file, leaves no temporary and names the cause (a full 64 KB tmpfs)", function()
    local script = base .. "/full.lua"
    write_script(script, FULL_SCRIPT:gsub("arg%[1%], arg%[2%]",
      string.format("%q, %q", mount_dir, "No space left on device")))
    local p = io.popen(string.format("%s %s 2>&1", sh_quote(exe), sh_quote(script)))
    local out = p:read("a")
    assert.truthy(p:close(), out)
    assert.equal("ok 7\n", out)
  end)
end)

-- ---------------------------------------------------------------------------
-- Item 4: inputs that gave silently wrong numbers

describe("read_csv with header = 'auto'", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  local function read(text, opts)
    write_script(base .. "/in.csv", text)
    return idl.read_csv(base .. "/in.csv", opts)
  end

  it("refuses a first line that mixes numbers and text, naming line and column", function()
    local ok, err = pcall(read, "1,NA\n2,3\n")
    assert.is_false(ok)
    assert.matches("in%.csv:1: column 2: not a number: 'NA'", err)
    ok, err = pcall(read, "1,1e999\n2,3\n")
    assert.is_false(ok)
    assert.matches("in%.csv:1: column 2: out of the range of doubles: '1e999'", err)
    ok, err = pcall(read, "id,2019\n1,2\n")
    assert.is_false(ok)
    assert.matches("in%.csv:1: column 1: not a number: 'id'.*header = true", err)
    -- the same line read as a header on request
    local m, names = read("id,2019\n1,2\n", {header = true})
    assert.same({"id", "2019"}, names)
    assert.same({{1, 2}}, m:totable())
  end)

  it("skips a UTF-8 byte order mark, before a header or before data", function()
    local m, names = read("\239\187\191a,b\n1,2\n")
    assert.same({"a", "b"}, names)
    assert.same({{1, 2}}, m:totable())
    m, names = read("\239\187\1911,2\n3,4\n")
    assert.is_nil(names)
    assert.same({{1, 2}, {3, 4}}, m:totable())
  end)

  it("writes a name starting with byte order mark bytes so that it reads back (fuzz_csv)", function()
    -- after a blank first line the mark is part of the name; written first in a file it
    -- would be taken for the file's own mark and dropped, unless quoted
    local m, names = read("\n\239\187\19178\n9\n")
    assert.same({"\239\187\19178"}, names)
    local out = base .. "/bom_name.csv"
    idl.write_csv(out, m, names)
    local m2, names2 = idl.read_csv(out)
    assert.same(names, names2)
    assert.same(m:totable(), m2:totable())
  end)

  it("writes a lone blank header name quoted: the header line is not blank (fuzz_csv)", function()
    for _, name in ipairs{"", " ", "  "} do
      local out = base .. "/blank_name.csv"
      idl.write_csv(out, idl.from_table{{22}}, {name})
      local m, names = idl.read_csv(out, {header = true})
      assert.same({name}, names)
      assert.same({{22}}, m:totable())
    end
  end)

  it("streams a file alike (stream_csv): a byte order mark skipped, a mixed first line refused", function()
    write_script(base .. "/s.csv", "\239\187\1911,2\n3,4\n")
    local src = idl.data.stream_csv(base .. "/s.csv", {batch_size = 10})
    local rows = {}
    for X in src:batches() do
      for _, r in ipairs(X:totable()) do rows[#rows + 1] = r end
    end
    assert.same({{1, 2}, {3, 4}}, rows)
    write_script(base .. "/m.csv", "1,NA\n2,3\n")
    local ok, err = pcall(idl.data.stream_csv, base .. "/m.csv")
    assert.is_false(ok)
    assert.matches("m%.csv:1: column 2: not a number: 'NA'", err)
  end)

  it("reads back numeric column names (years) written by write_csv, and quoted names", function()
    local m = idl.from_table{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}
    for _, names in ipairs{{"2019", "2020", "2021", "2022", "2023", "2024"},
                           {"2019", "2020.5", " 7 ", "nan", '"q"', "plain"}} do
      idl.write_csv(base .. "/years.csv", m, names)
      local back, back_names = idl.read_csv(base .. "/years.csv")
      assert.same(names, back_names)
      assert.same(m:totable(), back:totable())
    end
  end)
end)

describe("exact numbers through save and load", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  it("keeps integer class labels above 2^53", function()
    local g = idl.rng(1)
    local X = idl.randn(20, 2, g)
    local big = (1 << 53) + 1 -- not a double: %.17g would write 2^53
    local y = {}
    for i = 1, 20 do y[i] = i % 2 == 0 and big or big + 2 end
    local clf = idl.IDLClassifier{hidden_variables = 3, random_state = 1, verbosity = false}
    clf:fit(X, y, {rounds_number = 2})
    clf:save(base .. "/clf.idl")
    local back = idl.IDLClassifier.load(base .. "/clf.idl")
    assert.equal(2, #back.classes)
    assert.equal(big, back.classes[1])
    assert.equal(big + 2, back.classes[2])
    assert.equal("integer", math.type(back.classes[1]))
  end)

  it("metrics.r2 scores data near 1e-170 as the same data scaled to 1", function()
    -- y = 1..4, y_hat reversed: SS_res = 9 + 1 + 1 + 9 = 20, SS_tot = 5, R^2 = 1 - 4 = -3
    for _, s in ipairs{1, 1e-170, 1e-300, 1e150} do
      local y = idl.from_table{1 * s, 2 * s, 3 * s, 4 * s}
      local y_hat = idl.from_table{4 * s, 3 * s, 2 * s, 1 * s}
      assert.near(-3, idl.metrics.r2(y, y_hat), 1e-12)
      assert.near(1 - 0.04 / 5, idl.metrics.r2(y, idl.from_table{1.1 * s, 1.9 * s, 3.1 * s, 3.9 * s}), 1e-12)
    end
  end)
end)

describe("model loading", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  -- The text of a valid model after edit(text) with its checksum recomputed.
  local function edited(edit)
    local text = idl.model.serialize(model_of(3))
    local body = edit(text:match("^(.*\n)end %x+\n$"))
    return body .. "end " .. idl.model._checksum(body) .. "\n"
  end

  local function load_err(text)
    write_script(base .. "/m.idl", text)
    local ok, err = pcall(idl.load, base .. "/m.idl")
    assert.is_false(ok)
    return err
  end

  it("refuses a kappa or a matrix entry that is not a finite number", function()
    local err = load_err(edited(function(t) return (t:gsub("constraint inf %S+", "constraint inf nan")) end))
    assert.matches("load: '.*m%.idl': line %d+: constraint kappa 'nan' is not a finite number", err)
    err = load_err(edited(function(t)
      return (t:gsub("(matrix lambda 3 1\n)[^\n]*", "%11e999"))
    end))
    assert.matches("line %d+: '1e999' is not a finite number", err)
  end)

  it("reads a file with CRLF line ends or a byte order mark, checked by its checksum", function()
    local m = model_of(3)
    local text = idl.model.serialize(m)
    write_script(base .. "/crlf.idl", (text:gsub("\n", "\r\n")))
    assert.truthy(same_model(m, idl.load(base .. "/crlf.idl")))
    write_script(base .. "/bom.idl", "\239\187\191" .. text)
    assert.truthy(same_model(m, idl.load(base .. "/bom.idl")))
    local err = load_err((text:gsub("\n", "\r\n"):gsub("matrix A", "matrix  A")))
    assert.matches("checksum mismatch %(after converting CRLF line ends to LF%)", err)
  end)

  it("says that a directory is a directory", function()
    local ok, err = pcall(idl.load, base)
    assert.is_false(ok)
    assert.matches("load: cannot read '.*': Is a directory", err)
  end)
end)

-- ---------------------------------------------------------------------------
-- Item 3: a resumed run must see the same data, exactly

describe("resume on other data", function()
  local base
  before_each(function() base = temp_dir() end)
  after_each(function() remove_tree(base) end)

  -- Small integers: sums and norms are exact in any order, so a fingerprint
  -- of sums and norms cannot tell a reordering (the bug this guards against).
  local g = idl.rng(5)
  local xt, yt = {}, {}
  for i = 1, 30 do
    xt[i] = {g:integer(9) - 5, g:integer(9) - 5, g:integer(9) - 5}
    yt[i] = {xt[i][1] - xt[i][2] + 2 * xt[i][3]}
  end
  local X, y = idl.from_table(xt), idl.from_table(yt)

  -- Same sums and norms as the original: only the order of entries differs.
  local function shuffled_rows(m)
    local t = m:totable()
    local out = {}
    for i = 1, #t do out[i] = t[(i % #t) + 1] end
    return idl.from_table(out)
  end
  local function swapped_cols(m)
    local t = m:totable()
    for _, r in ipairs(t) do r[1], r[2] = r[2], r[1] end
    return idl.from_table(t)
  end

  local function refusal(f)
    local ok, err = pcall(f)
    assert.is_false(ok, "the resume was accepted")
    return tostring(err)
  end

  it("two_loops: refuses y shuffled against X and two feature columns swapped", function()
    local path = base .. "/run.ckpt"
    local function est() return idl.IDLModel{hidden_variables = 3, random_state = 1, verbosity = false} end
    est():fit(X, y, {rounds_number = 2, checkpoint_path = path, type_of_training = "two_loops"})
    local err = refusal(function() est():fit(X, shuffled_rows(y), {resume = path, rounds_number = 3}) end)
    assert.matches("the training data differs from the data of the checkpoint %(y_hash", err)
    err = refusal(function() est():fit(swapped_cols(X), y, {resume = path, rounds_number = 3}) end)
    assert.matches("the training data differs from the data of the checkpoint %(u_hash", err)
    -- the same data resumes
    assert.truthy(est():fit(X, y, {resume = path, rounds_number = 3}))
  end)

  it("classifier: refuses a resume with every label changed", function()
    local path = base .. "/clf.ckpt"
    local labels, flipped = {}, {}
    for i = 1, 30 do
      labels[i] = y:get(i, 1) > 0 and 1 or 2
      flipped[i] = 3 - labels[i]
    end
    local function clf()
      return idl.IDLClassifier{hidden_variables = 3, random_state = 1, verbosity = false}
    end
    clf():fit(X, labels, {rounds_number = 2, checkpoint_path = path})
    local err = refusal(function() clf():fit(X, flipped, {resume = path, rounds_number = 3}) end)
    assert.matches("differs from the data of the checkpoint %(y_hash", err)
    assert.truthy(clf():fit(X, labels, {resume = path, rounds_number = 3}))
  end)
end)

-- ---------------------------------------------------------------------------
-- Item 5: sizes checked up front, the caller's line blamed

describe("hidden_variables too large for the machine", function()
  it("is refused by fit before any allocation, naming the parameter and blaming the caller", function()
    local X, y = idl.randn(20, 3, idl.rng(1)), idl.randn(20, 1, idl.rng(2))
    for _, h in ipairs{1e9, 1000000} do
      local est = idl.IDLModel{hidden_variables = h, verbosity = false}
      local ok, err = pcall(est.fit, est, X, y, {rounds_number = 1})
      assert.is_false(ok)
      assert.matches("^[^:]*trust_spec%.lua:%d+: idl%.IDLModel:fit: hidden_variables = 1000000%d* needs at "
        .. "least [%d.e+]+ GB %(D is h x h, the hidden states h x 20 samples%), the machine has", err)
    end
  end)
end)

-- ---------------------------------------------------------------------------
-- Item 4, offsets: the readout centres the data, leaves the intercept
-- unpenalized and scales each feature's ridge by its own spread

describe("offsets in targets and features", function()
  local g = idl.rng(3)
  local m = 100
  local X = idl.randn(m, 3, g)
  local y = idl.zeros(m, 1)
  for i = 1, m do
    y:set(i, 1, math.sin(X:get(i, 1)) + 0.5 * X:get(i, 2) - 0.3 * X:get(i, 3) ^ 2 + 0.1 * g:normal())
  end
  local X_shifted = X:copy()
  for i = 1, m do X_shifted:set(i, 1, X:get(i, 1) + 1.7e9) end -- a Unix timestamp

  local function predictions(trainer, Xs, ys)
    local est = idl.IDLModel{hidden_variables = 6, random_state = 1, verbosity = false}
    est:fit(Xs, ys, {type_of_training = trainer, rounds_number = 5})
    return est:predict(Xs)
  end

  it("readout: the same predictions (to rounding) with U + 1.7e9 and Y + 1e5", function()
    local h = 4
    local Xh = idl.rand(h, m, idl.rng(4))
    local function readout_predictions(U, Y)
      local t = {A = idl.zeros(1, h), B = idl.zeros(1, 3), c = idl.zeros(1, 1)}
      idl.readout(t, Xh, U, Y, 1e-3)
      return t.A * Xh + t.B * U + t.c * idl.ones(1, m)
    end
    local p0 = readout_predictions(X:t(), y:t())
    local p1 = readout_predictions(X_shifted:t(), y:t() + 1e5) - 1e5
    -- 1.7e9 + x keeps x to ~2e-7, 1e5 + y to ~1e-11
    assert.is_true((p1 - p0):norm("max") < 1e-5, "max difference " .. (p1 - p0):norm("max"))
  end)

  it("every trainer: the same predictions (to rounding) with y + 1e3", function()
    for _, trainer in ipairs{"two_loops", "one_loop", "bcd", "implicit", "hybrid"} do
      local p0 = predictions(trainer, X, y)
      local p1 = predictions(trainer, X, y + 1e3) - 1e3
      local d = (p1 - p0):norm("max")
      assert.is_true(d < 1e-8, trainer .. ": max difference " .. d)
    end
  end)

  it("implicit: the same predictions (to rounding) with a feature + 1.7e9", function()
    local d = (predictions("implicit", X_shifted, y) - predictions("implicit", X, y)):norm("max")
    assert.is_true(d < 1e-4, "max difference " .. d)
  end)

  -- 1.7e9 + x keeps x to ~2e-7 (x ~ 1, |y| <= 2.4): in centred input
  -- coordinates (centre_inputs, the default) the predictions agree to a few
  -- 1e-7; in raw ones two_loops' differ by ~1
  it("relaxed trainers: the same predictions (to rounding) with a feature + 1.7e9", function()
    local spread = y:norm("max")
    for _, trainer in ipairs{"two_loops", "one_loop", "bcd", "hybrid"} do
      local d = (predictions(trainer, X_shifted, y) - predictions(trainer, X, y)):norm("max")
      assert.is_true(d < 1e-5 * spread, trainer .. ": max difference " .. d)
    end
  end)

  it("relaxed trainers: the model and its checkpoint stay in raw coordinates", function()
    local path = os.tmpname()
    local est = idl.IDLModel{hidden_variables = 6, random_state = 1, verbosity = false}
    est:fit(X_shifted, y, {type_of_training = "two_loops", rounds_number = 3, checkpoint_path = path})
    local loaded = idl.load(path)
    os.remove(path)
    -- the model's own prediction on raw inputs is the estimator's, and near y
    -- (a centred model applied to raw inputs, 1.7e9 off, would be far from it)
    local p = est:predict(X_shifted)
    local q = loaded:predict_u(X_shifted:t(), {tol = 1e-10}):t()
    assert.is_true((p - q):norm("max") < 1e-9, "max difference " .. (p - q):norm("max"))
    assert.is_true(est:score(X_shifted, y) > 0.5)
  end)
end)
