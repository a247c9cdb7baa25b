--- idl.cli: command-line options for experiment scripts.
--
--     local cli = require "idl.cli"
--     local opts = cli.parse(arg, {
--       name = "sin", description = "Section 7.2: regression of sin(u).",
--       options = {
--         {"seed", "number", 0, "random seed"},
--         {"out", "string", "out/sin", "output directory"},
--         {"full", "flag", false, "the report's exact sizes"},
--         {"jobs", "integer", cli.cores(), "worker processes"},
--       }})
--
-- Each option is `{name, type, default, help}` with type "number", "integer",
-- "string" or "flag". Accepted forms: `--seed 3`, `--seed=3`, `--full`,
-- `--no-full`, `--full=false`; dashes and underscores in names are
-- interchangeable (`--max-iter` sets `opts.max_iter`). `--help` or `-h` prints
-- the usage. `parse` is for scripts (it exits: 0 after help, 2 on a bad
-- command line); `try_parse` returns instead, for callers and tests.
-- @module idl.cli

local api = require "idl._api"

local cli = {}

local types = {number = true, integer = true, string = true, flag = true}
local metavars = {number = "X", integer = "N", string = "S"}

-- Checks the spec (a programming error raises) and returns its options by name.
local function index_spec(spec)
  if type(spec) ~= "table" or type(spec.options) ~= "table" then
    api.fail("spec must be a table with an options array")
  end
  local by_name = {}
  for i, o in ipairs(spec.options) do
    if type(o) ~= "table" then
      api.failf("option %d must be a table {name, type, default, help}, got %s", i, type(o))
    end
    local name, kind = o[1], o[2]
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
      api.failf("option %d has no valid name (got %s)", i, tostring(name))
    end
    if not types[kind] then
      api.failf("option '%s' has type %s; expected number, integer, string or flag", name, tostring(kind))
    end
    if by_name[name] or name == "help" then api.failf("option '%s' is defined twice", name) end
    by_name[name] = o
  end
  return by_name
end

-- Checks the arguments of parse and try_parse (args: an array of strings);
-- returns the spec's options by name.
local function check_parse(args, spec)
  local by_name = index_spec(spec)
  if type(args) ~= "table" then api.fail("args must be a table (the script's arg), got " .. type(args)) end
  for i, word in ipairs(args) do
    if type(word) ~= "string" then api.failf("args[%d] must be a string, got %s", i, type(word)) end
  end
  return by_name
end

local function default_text(o)
  if o[3] == nil or o[2] == "flag" and o[3] == false then return "" end
  return " (default " .. tostring(o[3]) .. ")"
end

--- The usage text built from a spec: synopsis, description and one line per option.
-- @tparam table spec as for `parse`
-- @tparam[opt] string program the script as typed (default `arg[0]`, else `<name>.lua`)
-- @treturn string the usage text, ending with a newline
cli.usage = api.public("idl.cli.usage", function(spec, program)
  index_spec(spec)
  if program ~= nil and type(program) ~= "string" then
    api.fail("program must be a string, got " .. type(program))
  end
  program = program or (arg and arg[0]) or ((spec.name or "script") .. ".lua")
  local lines = {"usage: idl " .. program .. " [options]"}
  if spec.description then lines[#lines + 1] = "\n" .. spec.description end
  lines[#lines + 1] = "\noptions:"
  local rows, width = {}, 10
  for _, o in ipairs(spec.options) do
    local left = "--" .. o[1] .. (metavars[o[2]] and " " .. metavars[o[2]] or "")
    rows[#rows + 1] = {left, (o[4] or "") .. default_text(o)}
    width = math.max(width, #left)
  end
  rows[#rows + 1] = {"--help", "print this help and exit"}
  for _, r in ipairs(rows) do
    lines[#lines + 1] = string.format("  %-" .. width .. "s  %s", r[1], r[2])
  end
  return table.concat(lines, "\n") .. "\n"
end)

-- Converts the text of option o; returns the value or nil, message.
local function convert(o, text)
  local kind = o[2]
  if kind == "string" then return text end
  if kind == "flag" then
    if text == "true" or text == "1" then return true end
    if text == "false" or text == "0" then return false end
    return nil, string.format("option --%s takes true or false, got '%s'", o[1], text)
  end
  local value = tonumber(text)
  if kind == "integer" then value = value and math.tointeger(value) end
  if not value or value ~= value then
    return nil, string.format("option --%s expects %s, got '%s'",
                              o[1], kind == "integer" and "an integer" or "a number", text)
  end
  return value
end

-- Finds the option a command-line word names (accepting dashes for underscores and --no-).
local function lookup(by_name, word)
  local key = word:gsub("-", "_")
  if by_name[key] then return by_name[key], false end
  local negated = key:match("^no_(.+)$")
  if negated and by_name[negated] and by_name[negated][2] == "flag" then
    return by_name[negated], true
  end
end

--- Parses a command line without exiting.
-- @tparam table args the script's `arg` (entries 1..#args are read)
-- @tparam table spec `{name =, description =, options = {{name, type, default, help}, ...}}`
-- @return the options table (every option set, defaults filled in); or nil, the usage text
--   and 0 when help was asked for; or nil, an error message and 2 for a bad command line
cli.try_parse = api.public("idl.cli.try_parse", function(args, spec)
  local by_name = check_parse(args, spec)
  local opts = {}
  for _, o in ipairs(spec.options) do opts[o[1]] = o[3] end
  local i = 1
  while i <= #args do
    local word = args[i]
    if word == "--help" or word == "-h" then return nil, cli.usage(spec), 0 end
    local name, value = word:match("^%-%-([%w_-]+)=(.*)$")
    name = name or word:match("^%-%-([%w_-]+)$")
    local o, negated = nil, false
    if name then o, negated = lookup(by_name, name) end
    if not o then
      local what = name and "unknown option '" or "unexpected argument '"
      return nil, what .. word .. "' (try --help)", 2
    end
    if value == nil and o[2] == "flag" then
      value = tostring(not negated)
    elseif value == nil then
      i = i + 1
      value = args[i]
      if value == nil then return nil, "option --" .. o[1] .. " needs a value", 2 end
    elseif negated then
      return nil, "option --no-" .. o[1] .. " takes no value", 2
    end
    local converted, err = convert(o, value)
    if converted == nil then return nil, err, 2 end
    opts[o[1]] = converted
    i = i + 1
  end
  return opts
end)

--- Parses a script's command line, exiting on help (status 0) or on error (status 2).
-- Errors go to stderr as "<name>: <message>" followed by the usage.
-- @tparam table args the script's `arg`
-- @tparam table spec see `try_parse`
-- @treturn table the options
cli.parse = api.public("idl.cli.parse", function(args, spec)
  check_parse(args, spec)
  local opts, msg, code = cli.try_parse(args, spec)
  if opts then return opts end
  cli.exit(msg, code, spec)
end)

--- Prints a message and exits: to stdout with status 0, or to stderr, prefixed with the
-- script's name and followed by the usage, with any other status (a command-line error
-- found after `parse`, e.g. conflicting options, should use status 2).
-- @tparam string msg the message (for status 0, the full text)
-- @tparam integer code the exit status
-- @tparam[opt] table spec the spec, to print its usage after an error
cli.exit = api.public("idl.cli.exit", function(msg, code, spec)
  if type(msg) ~= "string" then api.fail("msg must be a string, got " .. type(msg)) end
  if math.type(code) ~= "integer" and not (type(code) == "number" and math.tointeger(code)) then
    api.fail("code must be an integer (the exit status), got " .. tostring(code))
  end
  if spec ~= nil then index_spec(spec) end
  if code == 0 then
    io.stdout:write(msg)
  else
    io.stderr:write((spec and spec.name or "error") .. ": " .. msg .. "\n")
    if spec then io.stderr:write("\n", cli.usage(spec)) end
  end
  os.exit(code)
end)

local cores

--- The number of processors this process may use (`nproc`, else /proc/cpuinfo, else 1),
-- read once.
-- @treturn integer at least 1
cli.cores = api.public("idl.cli.cores", function()
  if cores then return cores end
  local p = io.popen("nproc 2>/dev/null")
  local n = p and tonumber(p:read("l") or "")
  if p then p:close() end
  if not n then
    local f = io.open("/proc/cpuinfo")
    if f then
      n = 0
      for line in f:lines() do
        if line:match("^processor%s*:") then n = n + 1 end
      end
      f:close()
    end
  end
  cores = math.max(1, math.tointeger(n) or 1)
  return cores
end)

return cli
