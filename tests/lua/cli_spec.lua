-- idl.cli: option forms, defaults, errors, usage, exit codes of a script, core count.
local cli = require "idl.cli"
local idl = require "idl"

local spec = {
  name = "sin",
  description = "Section 7.2: regression of sin(u).",
  options = {
    {"seed", "number", 0, "random seed"},
    {"out", "string", "out/sin", "output directory"},
    {"full", "flag", false, "the report's exact sizes"},
    {"jobs", "integer", 2, "worker processes"},
    {"max_iter", "integer", 100, "iterations"},
  },
}

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs a script that parses its arguments with the spec above; returns stdout, stderr, status.
local function run_script(args)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. sh_quote(dir)))
  local script = dir .. "/sin.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
local cli = require "idl.cli"
local spec = ]], "{name = 'sin', options = {{'seed', 'number', 0, 'random seed'}, ",
          "{'full', 'flag', false, 'exact sizes'}}}", [[

local opts = cli.parse(arg, spec)
if opts.full and opts.seed < 0 then cli.exit("--full needs a seed >= 0", 2, spec) end
print("seed=" .. opts.seed .. " full=" .. tostring(opts.full))
]])
  f:close()
  local cmd = string.format("%s %s %s >%s/out 2>%s/err", sh_quote(idl.executable()), sh_quote(script),
                            args, sh_quote(dir), sh_quote(dir))
  local _, _, status = os.execute(cmd)
  local function slurp(name)
    local h = io.open(dir .. "/" .. name)
    local text = h:read("a")
    h:close()
    return text
  end
  local out, err = slurp("out"), slurp("err")
  os.execute("rm -rf " .. sh_quote(dir))
  return out, err, status
end

describe("cli.try_parse", function()
  it("fills in every default when given no arguments", function()
    assert.same({seed = 0, out = "out/sin", full = false, jobs = 2, max_iter = 100},
                cli.try_parse({}, spec))
  end)

  it("accepts --name value, --name=value, flags and dashes for underscores", function()
    local words = {"--seed", "3.5", "--out=res/x", "--full", "--jobs=4", "--max-iter", "7"}
    local opts = cli.try_parse(words, spec)
    assert.same({seed = 3.5, out = "res/x", full = true, jobs = 4, max_iter = 7}, opts)
    assert.equal("integer", math.type(opts.jobs))
    assert.same(-2, cli.try_parse({"--seed", "-2"}, spec).seed)
    assert.same("a=b", cli.try_parse({"--out=a=b"}, spec).out)
  end)

  it("sets flags with --no-name and --name=true/false; the last word wins", function()
    assert.is_false(cli.try_parse({"--full", "--no-full"}, spec).full)
    assert.is_true(cli.try_parse({"--full=true"}, spec).full)
    assert.is_false(cli.try_parse({"--full=false"}, spec).full)
    assert.equal(5, cli.try_parse({"--seed", "1", "--seed=5"}, spec).seed)
  end)

  it("reports bad command lines with status 2", function()
    local cases = {
      {{"--sed", "3"}, "unknown option '--sed' (try --help)"},
      {{"extra"}, "unexpected argument 'extra' (try --help)"},
      {{"-x"}, "unexpected argument '-x' (try --help)"},
      {{"--seed"}, "option --seed needs a value"},
      {{"--seed", "abc"}, "option --seed expects a number, got 'abc'"},
      {{"--seed=nan"}, "option --seed expects a number, got 'nan'"},
      {{"--jobs", "2.5"}, "option --jobs expects an integer, got '2.5'"},
      {{"--full=maybe"}, "option --full takes true or false, got 'maybe'"},
      {{"--no-full=1"}, "option --no-full takes no value"},
      {{"--no-seed"}, "unknown option '--no-seed' (try --help)"},
    }
    for _, case in ipairs(cases) do
      local opts, msg, code = cli.try_parse(case[1], spec)
      assert.is_nil(opts)
      assert.equal(case[2], msg)
      assert.equal(2, code)
    end
  end)

  it("returns the usage and status 0 for --help and -h", function()
    for _, word in ipairs{"--help", "-h"} do
      local opts, text, code = cli.try_parse({"--seed", "1", word, "--bogus"}, spec)
      assert.is_nil(opts)
      assert.equal(0, code)
      assert.equal(cli.usage(spec), text)
    end
  end)

  it("raises on a malformed spec, naming the option", function()
    assert.matches("cli.try_parse: option 'x' has type real",
                   err_of(cli.try_parse, {}, {options = {{"x", "real", 1, ""}}}))
    assert.matches("cli.try_parse: option 'x' is defined twice",
                   err_of(cli.try_parse, {}, {options = {{"x", "flag"}, {"x", "number"}}}))
    assert.matches("cli.try_parse: option 2 has no valid name",
                   err_of(cli.try_parse, {}, {options = {{"x", "flag"}, {"a b", "number"}}}))
    assert.matches("cli.try_parse: spec must be a table", err_of(cli.try_parse, {}, nil))
  end)
end)

describe("cli.usage", function()
  it("lists every option with its metavariable, help and default", function()
    local text = cli.usage(spec, "experiments/sin.lua")
    assert.equal(table.concat({
      "usage: idl experiments/sin.lua [options]",
      "",
      "Section 7.2: regression of sin(u).",
      "",
      "options:",
      "  --seed X      random seed (default 0)",
      "  --out S       output directory (default out/sin)",
      "  --full        the report's exact sizes",
      "  --jobs N      worker processes (default 2)",
      "  --max_iter N  iterations (default 100)",
      "  --help        print this help and exit",
      ""}, "\n"), text)
  end)
end)

describe("cli.parse in a script", function()
  it("runs with parsed options", function()
    local out, err, status = run_script("--seed 4 --full")
    assert.equal("seed=4 full=true\n", out)
    assert.equal("", err)
    assert.equal(0, status)
  end)

  it("prints the usage and exits 0 on --help", function()
    local out, err, status = run_script("--help")
    assert.matches("^usage: idl .*sin.lua %[options%]\n", out)
    assert.matches("%-%-seed X  +random seed %(default 0%)", out)
    assert.equal("", err)
    assert.equal(0, status)
  end)

  it("prints the error and the usage to stderr and exits 2", function()
    local out, err, status = run_script("--seeds 4")
    assert.equal("", out)
    assert.matches("^sin: unknown option '%-%-seeds' %(try %-%-help%)\n\nusage: ", err)
    assert.equal(2, status)
    out, err, status = run_script("--seed=-1 --full")
    assert.equal("", out)
    assert.matches("^sin: %-%-full needs a seed >= 0\n", err)
    assert.equal(2, status)
  end)
end)

describe("cli.cores", function()
  it("counts the processors, as nproc does, once", function()
    local p = io.popen("nproc")
    local expected = tonumber(p:read("l"))
    p:close()
    assert.equal(expected, cli.cores())
    assert.equal("integer", math.type(cli.cores()))
  end)
end)
