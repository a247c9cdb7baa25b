-- SPDX-License-Identifier: GPL-3.0-or-later
-- The idl executable, driven through pipes and temporary files: the REPL (expressions, multi-line
-- chunks, errors, completion, Ctrl-C), the lua.c-compatible command line and where it finds the
-- Lua modules. Run as: idl /usr/bin/busted tests/lua/repl_spec.lua (IDL_EXE names the executable).

local idl = require "idl"
local exe = os.getenv("IDL_EXE") or "build/bin/idl"

local VERSION = "^idl %S+ %(Lua 5%.4%) %-%- implicit deep learning\n"
local BANNER = VERSION .. "The module idl is preloaded as `idl`%. help%(%) explains help; Tab[^\n]*\n"

local function quote(s)
  return "'" .. (tostring(s):gsub("'", [['\'']])) .. "'"
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read_file(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("a")
  f:close()
  return text
end

local function make_temp_dir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("l")
  p:close()
  return dir
end

-- Runs `program args` (program defaults to the idl under test) with input on stdin.
-- Returns stdout, stderr and the exit status (nil when killed by a signal).
local function run(args, input, program)
  local inp, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  write_file(inp, input or "")
  local _, how, code = os.execute(string.format("%s %s < %s > %s 2> %s",
    quote(program or exe), args or "", quote(inp), quote(out), quote(err)))
  local stdout, stderr = read_file(out), read_file(err)
  os.remove(inp)
  os.remove(out)
  os.remove(err)
  return stdout, stderr, how == "exit" and code or nil
end

-- A REPL session fed with input; returns what it printed after the banner, stderr and status.
local function repl(input, args)
  local stdout, stderr, code = run(args or "", input)
  assert.truthy(stdout:match(BANNER), "no banner in: " .. stdout)
  return stdout:gsub(BANNER, "", 1), stderr, code
end

describe("the idl REPL", function()
  it("prints the banner and the value of an expression, without '='", function()
    local out, err, code = repl("1+1\n")
    assert.equal("2\n", out)
    assert.equal("", err)
    assert.equal(0, code)
  end)

  it("prints every returned value with tostring, tab-separated", function()
    assert.equal("a\t2\tnil\ttrue\n", (repl("'a', 2, nil, true\n")))
    assert.equal("custom!\n",
      (repl("setmetatable({}, {__tostring = function() return 'custom!' end})\n")))
  end)

  it("runs statements silently and keeps globals between lines", function()
    assert.equal("10\n", (repl("x = 5\nx * 2\n")))
    assert.equal("7\n", (repl("=7\n")))
  end)

  it("continues an incomplete chunk on the next lines", function()
    local out, err = repl("function f(a)\n  return a * 2\nend\nf(21)\n")
    assert.equal("42\n", out)
    assert.equal("", err)
    assert.equal("6\n", (repl("do\n  local t = 0\n  for i = 1, 3 do t = t + i end\n  print(t)\nend\n")))
  end)

  it("reports an error with a traceback and goes on", function()
    local out, err, code = repl("error('boom')\n1+1\n")
    assert.equal("2\n", out)
    assert.truthy(err:find("stdin:1: boom", 1, true))
    assert.truthy(err:find("stack traceback:", 1, true))
    assert.equal(0, code)
  end)

  it("reports syntax errors and a chunk left unfinished at the end of input", function()
    local out, err = repl("1 +* 2\n3\n")
    assert.equal("3\n", out)
    assert.truthy(err:find("unexpected symbol", 1, true))
    out, err = repl("if true then\n")
    assert.equal("", out)
    assert.truthy(err:find("'end' expected near <eof>", 1, true))
  end)

  it("reports an error raised by __tostring while printing", function()
    local out, err = repl("setmetatable({}, {__tostring = function() error('bad tostring') end})\n1\n")
    assert.equal("1\n", out)
    assert.truthy(err:find("bad tostring", 1, true))
  end)

  it("preloads the idl module as the global idl and prints matrices with __tostring", function()
    local expected = run([[-e 'io.write(tostring(require("idl").eye(2)))']])
    assert.truthy(expected:find("idl.matrix", 1, true))
    local out, err = repl("type(idl)\nidl.eye(2)\n")
    assert.equal("table\n" .. expected .. "\n", out)
    assert.equal("", err)
  end)

  it("prints tables as readable Lua: nested, sorted, bounded, cycles marked", function()
    local out, err = repl("{3, 'x', b = {c = true}, a = 1.5, [10] = 'ten', ['not a name'] = 1}\n"
      .. "t = {1}; t.self = t; t.inner = {}; t.inner.back = t.inner\nt\n"
      .. "{{{{{{1}}}}}}\n"
      .. "big = {}; for i = 1, 100 do big[i] = i end\nbig\n"
      .. "{m = idl.zeros(2, 3)}\n")
    assert.equal("", err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal('{3, "x", [10] = "ten", a = 1.5, b = {c = true}, ["not a name"] = 1}', lines[1])
    assert.equal("{1, inner = {back = <cycle: an enclosing table>}, self = <cycle: the table itself>}",
      lines[2])
    assert.equal("{{{{{...}}}}}", lines[3])
    -- 30 entries shown, then the count of the others, laid out one per line
    assert.equal("{", lines[4])
    assert.equal("  1,", lines[5])
    assert.equal("  30,", lines[34])
    assert.equal("  ... (70 more)", lines[35])
    assert.equal("{m = <idl.matrix 2x3>}", lines[37])
  end)

  it("prints an estimator as a summary, before and after fit", function()
    local out, err = repl("X, y = idl.data.sin(50, idl.rng(0), {noise = 0.1})\n"
      .. "est = idl.IDLModel{hidden_variables = 4, verbosity = false, random_state = 3}\nest\n"
      .. "est:fit(X, y, {rounds_number = 2})\n#est.history\n")
    assert.equal("", err)
    local before, after, rounds = out:match("^(.-\n)(IDLModel.*\n)(%d+)\n$")
    assert.equal("IDLModel(hidden_variables = 4, random_state = 3, verbosity = false)\n  not fitted\n",
      before)
    assert.truthy(after:find("^IDLModel%(hidden_variables = 4, random_state = 3, verbosity = false%)\n"
      .. "  fitted: n = 1 features, h = 12 hidden %(the mean of 3 models of 4%), p = 1 outputs\n  model 1: "
      .. (rounds - 1)
      .. (tonumber(rounds) == 2 and " round" or " rounds") .. ", stop_reason = "), after)
  end)

  it("answers ?name and help, shows timing on request", function()
    local out, err = repl("?idl.zeros\nhelp 'matrix:norm'\nidl.timing(true)\n1 + 1\nidl.timing(false)\n"
      .. "2\n")
    assert.equal("", err)
    assert.truthy(out:find("^idl%.zeros  %(C%)\n\nidl%.zeros%(rows, cols%) %-> a rows x cols matrix of "
      .. "zeros%.\n"), out)
    assert.truthy(out:find("\nm:norm([kind]) -> ", 1, true), out)
    assert.truthy(out:find("\ntrue\n%(%d+%.%d%d%d s%)\n2\n%(%d+%.%d%d%d s%)\nfalse\n2\n$"), out)
    local _, err2 = repl("?idl.nothing_here\n")
    assert.truthy(err2:find("help: no such name: idl.nothing_here", 1, true), err2)
  end)

  it("honours os.exit", function()
    local _, _, code = repl("os.exit(3)\nprint('not reached')\n")
    assert.equal(3, code)
  end)

  it("stops a running computation on SIGINT and reads on", function()
    local dir = make_temp_dir()
    local marker = dir .. "/started"
    write_file(dir .. "/in", string.format(
      "io.open(%q, 'w'):close() local t = os.clock() while os.clock() - t < 30 do end\n"
      .. "print('after')\n", marker))
    -- The kill waits until the loop has started; exec keeps $$ as the pid of idl.
    local script = string.format(
      "( i=0; while [ ! -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
      .. "[ -e %s ] && kill -INT $$ ) >/dev/null 2>&1 & exec %s < %s > %s 2> %s",
      quote(marker), quote(marker), quote(exe), quote(dir .. "/in"), quote(dir .. "/out"),
      quote(dir .. "/err"))
    local _, how, code = os.execute("sh -c " .. quote(script))
    local out, err = read_file(dir .. "/out"), read_file(dir .. "/err")
    os.execute("rm -rf " .. quote(dir))
    assert.equal("exit", how)
    assert.equal(0, code)
    assert.equal("after\n", (out:gsub(BANNER, "", 1)))
    assert.truthy(err:find("interrupted!", 1, true))
  end)
end)

describe("REPL completion (_idl_complete)", function()
  local function complete(texts)
    local lines = { "m = setmetatable({}, {__index = {norm = function() end, "
      .. "numel = function() end, size = 3}})", "s = 'text'" }
    for _, text in ipairs(texts) do
      lines[#lines + 1] = string.format("table.concat(_idl_complete(%q), ' ')", text)
    end
    local out, err = repl(table.concat(lines, "\n") .. "\n")
    assert.equal("", err)
    local results = {}
    for line in out:gmatch("([^\n]*)\n") do results[#results + 1] = line end
    return results
  end

  it("completes globals, keywords, fields, methods through metatables", function()
    assert.same({
      "s select setmetatable string",  -- globals
      "while",                -- keywords
      "string.format",        -- fields of a table
      "m:norm m:numel",       -- methods from the metatable's __index table
      "m.size",               -- any field after '.'
      "",                     -- but only functions after ':'
      "s:upper",              -- string methods
      "",                     -- unknown table
      "",                     -- not a name
    }, complete({ "s", "whi", "string.fo", "m:n", "m.s", "m:s", "s:up", "nothere.x", "1.5" }))
  end)

  it("completes the methods of an idl matrix", function()
    local out, err = repl("m = idl.zeros(2, 3)\ntable.concat(_idl_complete('m:no'), ' ')\n"
      .. "table.concat(_idl_complete('idl.ey'), ' ')\n")
    assert.equal("", err)
    assert.equal("m:norm\nidl.eye\n", out)
  end)

  it("completes idl's lazily loaded entries and hides private names until '_' is typed", function()
    local out, err = repl("table.concat(_idl_complete('idl.IDL'), ' ')\n"
      .. "table.concat(_idl_complete('idl.data.train_'), ' ')\n"
      .. "n, private = 0, 0 for _, c in ipairs(_idl_complete('idl.')) do n = n + 1 "
      .. "if c:find('^idl%._') then private = private + 1 end end\n"
      .. "n > 50, private\n"
      .. "table.concat(_idl_complete('idl._time'), ' ')\n")
    assert.equal("", err)
    assert.equal("idl.IDLClassifier idl.IDLModel\nidl.data.train_test_split\ntrue\t0\n"
      .. "idl._time_dgemm idl._time_sgemm\n", out)
  end)
end)

describe("the idl command line", function()
  it("-v prints the version and exits", function()
    local out, err, code = run("-v")
    assert.truthy(out:match(VERSION .. "$"))
    assert.equal("", err)
    assert.equal(0, code)
  end)

  it("-e runs strings in order, without the REPL", function()
    local out, err, code = run([[-e 'x = 6' -e 'print(x * 7)']])
    assert.equal("42\n", out)
    assert.equal("", err)
    assert.equal(0, code)
  end)

  it("-e has the global idl, and every mode the global help", function()
    local out, err, code = run([[-e 'print(type(idl), type(idl.IDLModel), type(help))']])
    assert.equal("table\ttable\tfunction\n", out)
    assert.equal("", err)
    assert.equal(0, code)
    local script = os.tmpname()
    write_file(script, "print(type(help)) help(string.format)\n")
    out, err, code = run(quote(script))
    os.remove(script)
    assert.equal("function\n", out)
    assert.truthy(err:find("help: no documentation for ", 1, true), err)
    assert.equal(1, code)
  end)

  it("runs Lua's incremental collector (the generational one lets large results pile up)", function()
    assert.equal("incremental\n", (run([[-e 'print(collectgarbage("incremental"))']])))
  end)

  it("-e reports an error with exit status 1", function()
    local out, err, code = run([[-e 'error("nope")' -e 'print("not reached")']])
    assert.equal("", out)
    assert.truthy(err:find("(command line):1: nope", 1, true))
    assert.equal(1, code)
  end)

  it("-i enters the REPL after -e", function()
    assert.equal("6\n", (repl("x * 2\n", [[-e 'x = 3' -i]])))
  end)

  it("-l g=mod requires a module into a global", function()
    assert.equal("abab\n", (run([[-l s=string -e 'print(s.rep("ab", 2))']])))
  end)

  it("-h prints usage; bad options fail with usage", function()
    local out, _, code = run("-h")
    assert.truthy(out:find("usage:", 1, true))
    assert.equal(0, code)
    local err
    out, err, code = run("-x")
    assert.equal("", out)
    assert.truthy(err:find("unrecognized option '-x'", 1, true))
    assert.truthy(err:find("usage:", 1, true))
    assert.equal(1, code)
    _, err, code = run("-e")
    assert.truthy(err:find("'-e' needs argument", 1, true))
    assert.equal(1, code)
  end)

  describe("running a script", function()
    local dir
    before_each(function() dir = make_temp_dir() end)
    after_each(function() os.execute("rm -rf " .. quote(dir)) end)

    it("passes arg and ... like lua5.4, skipping a #! line", function()
      local script = dir .. "/args.lua"
      write_file(script, "#!/usr/bin/env idl\n"
        .. "print(arg[-1], arg[0], #arg, arg[1], arg[2])\n"
        .. "print(select('#', ...), ...)\n")
      local out, err, code = run(quote(script) .. " a 'b c'")
      assert.equal(exe .. "\t" .. script .. "\t2\ta\tb c\n2\ta\tb c\n", out)
      assert.equal("", err)
      assert.equal(0, code)
      out = run("-- " .. quote(script) .. " -x")
      assert.equal("--\t" .. script .. "\t1\t-x\tnil\n1\t-x\n", out)
    end)

    it("exits with status 1 and the error on stderr when the script fails", function()
      local script = dir .. "/fail.lua"
      write_file(script, "local x = 1\nerror('boom')\n")
      local out, err, code = run(quote(script))
      assert.equal("", out)
      assert.truthy(err:find("fail.lua:2: boom", 1, true))
      assert.truthy(err:find("stack traceback:", 1, true))
      assert.equal(1, code)
    end)

    it("honours os.exit", function()
      local script = dir .. "/exit.lua"
      write_file(script, "os.exit(tonumber(arg[1]) or arg[1] == 'true')\n")
      assert.equal(5, select(3, run(quote(script) .. " 5")))
      assert.equal(0, select(3, run(quote(script) .. " true")))
      assert.equal(1, select(3, run(quote(script) .. " false")))
    end)

    it("reads the script from stdin with -", function()
      local out, _, code = run("- x y", "print(...)\n")
      assert.equal("x\ty\n", out)
      assert.equal(0, code)
    end)
  end)
end)

describe("module lookup", function()
  it("preloads idl.core and puts the source tree's lua/ first, keeping the default path", function()
    local out = run([[-E -e 'print(type(package.preload["idl.core"])); print(package.path)']])
    local preload, path = out:match("^(%S+)\n(.-)\n$")
    assert.equal("function", preload)
    local dir, rest = path:match("^(.-)/%?%.lua;(.*)$")
    assert.truthy(dir, path)
    assert.equal(dir .. "/?/init.lua;", rest:sub(1, #dir + 12))
    local init = io.open(dir .. "/idl/init.lua")
    assert.truthy(init, "no idl/init.lua in " .. dir)
    init:close()
    local lua = io.popen([[lua5.4 -E -e 'io.write(package.path)' 2>/dev/null]])
    local default = lua:read("a")
    lua:close()
    if default ~= "" then assert.equal(default, rest:sub(#dir + 13)) end
  end)

  describe("when installed", function()
    local prefix
    before_each(function()
      prefix = make_temp_dir()
      assert.truthy(os.execute(string.format("mkdir -p %s/bin %s/share/lua/5.4/idl && cp %s %s/bin/idl",
        quote(prefix), quote(prefix), quote(exe), quote(prefix))))
    end)
    after_each(function() os.execute("rm -rf " .. quote(prefix)) end)

    it("loads idl from <exe_dir>/../share/lua/5.4, also through a symlink", function()
      write_file(prefix .. "/share/lua/5.4/idl/init.lua", "return { where = 'installed' }\n")
      local installed = prefix .. "/bin/idl"
      assert.equal("installed\n", (run([[-e 'print(require("idl").where)']], nil, installed)))
      assert.truthy(os.execute(string.format("ln -s %s %s/link", quote(installed), quote(prefix))))
      local out, err = run("", "idl.where\n", prefix .. "/link")
      assert.equal("installed\n", (out:gsub(BANNER, "", 1)))
      assert.equal("", err)
    end)

    it("warns and goes on when the idl module fails to load in the REPL", function()
      write_file(prefix .. "/share/lua/5.4/idl/init.lua", "error('broken on purpose')\n")
      local out, err, code = run("", "idl\n1+1\n", prefix .. "/bin/idl")
      assert.equal("nil\n2\n", (out:gsub(BANNER, "", 1)))
      assert.truthy(err:find("warning", 1, true))
      assert.truthy(err:find("broken on purpose", 1, true))
      assert.equal(0, code)
    end)
  end)
end)

-- A session on a terminal: `script` (util-linux) runs idl on a pseudo-terminal, so readline,
-- completion and the prompt are the real ones. A feeder sends each input only once the output
-- shows what the previous step waits for (its n-th occurrence), so nothing is typed ahead into
-- the terminal's line discipline before readline takes over.
describe("the idl REPL on a terminal", function()
  local dir
  before_each(function() dir = make_temp_dir() end)
  after_each(function() os.execute("rm -rf " .. quote(dir)) end)

  -- steps: array of {wait = text, count = n, send = text}; returns the session's output with
  -- escape sequences and carriage returns removed.
  local function session(steps)
    local out = dir .. "/out"
    local lines = {
      "wait_for() { i=0; while [ \"$(grep -oF -- \"$1\" " .. quote(out) .. " | wc -l)\" -lt \"$2\" ] "
        .. "&& [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
        .. "[ $i -lt 600 ] || echo \"timeout: $1\" >&2; }",
      ": > " .. quote(out),
      "{",
    }
    for _, s in ipairs(steps) do
      lines[#lines + 1] = string.format("  wait_for %s %d", quote(s.wait), s.count or 1)
      lines[#lines + 1] = "  printf '%s' " .. quote(s.send)
    end
    lines[#lines + 1] = string.format("} | HOME=%s TERM=dumb script -qfec %s /dev/null > %s 2>&1",
      quote(dir), quote(exe), quote(out))
    write_file(dir .. "/feed.sh", table.concat(lines, "\n") .. "\n")
    assert.truthy(os.execute("sh " .. quote(dir .. "/feed.sh")))
    return (read_file(out):gsub("\27%[[%d;?]*[%a]", ""):gsub("\r", ""):gsub("\7", ""))
  end

  it("completes idl.IDL, shows help(idl.IDLModel), fits, plots the history and answers ?name", function()
    local png = dir .. "/history.png"
    local text = session({
      {wait = "> ", send = "idl.IDL\t\t"},
      {wait = "idl.IDLClassifier  idl.IDLModel", send = "\21help(idl.IDLM\t)\n"},
      {wait = "Methods:", send = "X, y = idl.data.sin(200, idl.rng(0), {noise = 0.1})\n"
        .. "est = idl.IDLModel{hidden_variables = 10, verbosity = false}\n"
        .. "est:fit(X, y, {rounds_number = 3})\n"},
      {wait = "fitted:", send = string.format("est:plot_history(%q)\n", png)},
      {wait = "history.png\t", send = "?idl.randn\n"},
      {wait = "normal draws", send = "os.exit(0)\n"},
    })
    -- completion: the candidates listed, then the completed name echoed on the prompt line
    assert.truthy(text:find("idl.IDLClassifier  idl.IDLModel", 1, true), text)
    assert.truthy(text:find("> help(idl.IDLModel)\n", 1, true), text)
    -- help: the class, its parameters (from estimator.lua's doc comment) and its methods
    assert.truthy(text:find("\nclass IDLModel (idl/estimator.lua)", 1, true), text)
    assert.truthy(text:find("hidden_variables = ", 1, true), text)
    assert.truthy(text:find("IDLModel:fit ", 1, true), text)
    -- the fit returns the estimator, printed as a summary with its sizes
    assert.truthy(text:find("IDLModel(hidden_variables = 10, verbosity = false)\n  fitted: n = 1 features, "
      .. "h = 30 hidden (the mean of 3 models of 10), p = 1 outputs", 1, true), text)
    -- plot_history wrote a PNG and returned its path
    local f = assert(io.open(png, "rb"), "no " .. png .. " in:\n" .. text)
    assert.equal("\137PNG", f:read(4))
    f:close()
    assert.truthy(text:find(png, 1, true), text)
    assert.truthy(text:find("idl.randn(rows, cols, rng [, mean, sd]) -> normal draws", 1, true), text)
  end)

  it("loads a CSV with a text label column by name and cross-validates two settings in parallel", function()
    -- 60 samples, two features, a text label that a line separates
    local g, rows = idl.rng(4), {"x1,x2,species"}
    for _ = 1, 60 do
      local a, b = g:uniform() * 2 - 1, g:uniform() * 2 - 1
      rows[#rows + 1] = string.format("%.6f,%.6f,%s", a, b, a + b > 0 and "north" or "south")
    end
    local csv = dir .. "/flowers.csv"
    write_file(csv, table.concat(rows, "\n") .. "\n")
    local grid = "{hidden_variables = {2, 4}}"
    local opts = "{cv = 3, jobs = 2, fit_options = {rounds_number = 3}}"
    local text = session({
      {wait = "> ", send = string.format("X, y, names = idl.data.load_csv(%q, {target = 'species'})\n", csv)},
      {wait = "> ", count = 2, send = "print('shape', X:rows(), X:cols(), #y, y[1], names[1], names[2])\n"},
      {wait = "shape", send = "r = idl.model_selection.grid_search(idl.IDLClassifier{random_state = 0}, "
        .. grid .. ", X, y, " .. opts .. ")\n"},
      {wait = "> ", count = 4, send = "print(string.format('means %.17g %.17g', r.results[1].mean, "
        .. "r.results[2].mean))\n"},
      {wait = "means", send = "os.exit(0)\n"},
    })
    -- the same data read here by hand: the first label, the feature names
    local first = rows[2]:match("([^,]+)$")
    assert.truthy(text:find(string.format("shape\t60\t2\t60\t%s\tx1\tx2\n", first), 1, true), text)
    -- the REPL's parallel scores equal an in-process cross-validation of each setting
    local X = idl.zeros(60, 2)
    local y = {}
    for i = 2, #rows do
      local a, b, lab = rows[i]:match("^([^,]+),([^,]+),(.+)$")
      X:set(i - 1, 1, tonumber(a)); X:set(i - 1, 2, tonumber(b)); y[i - 1] = lab
    end
    local ms = require "idl.model_selection"
    local function mean_of(h)
      local scores = ms.cross_val_score(idl.IDLClassifier{random_state = 0, hidden_variables = h}, X, y,
        {cv = 3, fit_options = {rounds_number = 3}})
      assert.are.equal(3, #scores)
      local sum = 0
      for _, v in ipairs(scores) do sum = sum + v end
      return sum / #scores
    end
    local want = string.format("means %.17g %.17g", mean_of(2), mean_of(4))
    assert.truthy(text:find(want, 1, true), want .. " not in:\n" .. text)
  end)
end)
