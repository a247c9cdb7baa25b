--- Parameter schemas: each parameter declared once (name, default, check, doc
-- line), and everything else derived from the declaration: defaults,
-- validation, the names a resumed run must share, per-trainer defaults and
-- the documentation table.
--
--     local schema = params.schema{
--       {"patience", 10, {"count", min = 1}, "rounds without improvement before stopping",
--        resume = true, per_trainer = true},
--       ...
--     }
--     schema:check("patience", v)          -- the checked value, or an error
--     schema:check_table(t, "parameters")  -- unknown names refused, values checked
--     schema:resolve(given, overrides)     -- given, else the trainer's override, else the default
--     schema:markdown()                    -- the table for the docs
--
-- An entry is {name, default, check, doc, <flags>}: `check` is an idl._api
-- spec (a rule name, a rule table, or a function); a nil default means the
-- parameter is unset unless given (then `optional` is implied). Flags:
-- resume = true (a checkpoint's run must have the same value: it changes the
-- numbers); per_trainer = true (a trainer may declare its own default, see
-- idl.trainers.register's fit_defaults: the estimator then stores nil until
-- the user gives a value, so an explicit value, even the default one, is never
-- mistaken for "unset"); presets = {name = value} (the parameter's value in a
-- named preset, schema:preset(name): a preset is declared on the entries it
-- sets, not as a table of its own). Errors go through idl._api (the public
-- function on the stack names them).
--
-- params.training is the schema of the training loop's settings, shared by
-- the estimator (its parameters) and idl.trainers (its config).
-- @module idl.params

local api = require "idl._api"

local params = {}

local Schema = {}
Schema.__index = Schema

-- schema -> {name -> entry record}: kept out of the schema table, so that
-- its public face is its methods and the two lists names and allowed
local ENTRIES = setmetatable({}, {__mode = "k"})

-- self must be a schema; name (when checked) one of its parameters.
local function entries_of(self)
  if getmetatable(self) ~= Schema then
    api.fail("self must be a schema from idl.params.schema (call it with ':'), got " .. api.describe(self))
  end
  return ENTRIES[self]
end

local function entry_named(self, name)
  local r = entries_of(self)[name]
  if r == nil then api.fail("no parameter " .. api.describe(name) .. " in this schema") end
  return r
end

-- A fresh copy of a default (a table default is never shared between users).
local function fresh(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = fresh(x) end
  return out
end

local ENTRY_FLAGS = {resume = true, per_trainer = true, optional = true, presets = true}

-- An entry {name, default, check, doc, flags...} as a record.
local CHECK_KINDS = {string = true, table = true, ["function"] = true}

local function entry_of(e, where)
  if type(e) ~= "table" or type(e[1]) ~= "string" or not CHECK_KINDS[type(e[3])]
    or type(e[4]) ~= "string" then
    api.fail(where .. " must be {name, default, check, doc, flags...}, got " .. api.describe(e))
  end
  local r = {name = e[1], default = e[2], check = e[3], doc = e[4]}
  for k, v in pairs(e) do
    if type(k) == "string" then
      if not ENTRY_FLAGS[k] then api.fail(string.format("%s: unknown flag '%s'", where, k)) end
      if k == "presets" and type(v) ~= "table" then
        api.fail(string.format("%s: presets must be a table {preset = value}, got %s", where,
          api.describe(v)))
      end
      r[k] = v
    elseif math.type(k) ~= "integer" or k < 1 or k > 4 then
      api.fail(where .. " has an extra field " .. api.describe(k))
    end
  end
  r.optional = r.optional or r.default == nil
  return r
end

--- params.schema(entries) -> a schema (the entries in order; see above):
-- schema.names lists the names in order, schema.allowed is the set of names.
params.schema = api.public("idl.params.schema", function(entries)
  api.check(entries, "table", "entries")
  local s = setmetatable({names = {}, allowed = {}}, Schema)
  local records = {}
  for i, e in ipairs(entries) do
    local r = entry_of(e, "entries[" .. i .. "]")
    if records[r.name] then api.fail(r.name .. " is declared twice") end
    s.names[i], records[r.name], s.allowed[r.name] = r.name, r, true
  end
  ENTRIES[s] = records
  return s
end)

--- schema:entry(name [, changes]) -> the entry as a list {name, default,
-- check, doc, flags} for another schema, with `changes` (default =, doc =,
-- flags) applied: how a schema reuses a declaration with an explicit override.
Schema.entry = api.public("idl.params.Schema:entry", function(self, name, changes)
  local r = entry_named(self, name)
  api.check(changes, {"table", optional = true}, "changes")
  local e = {r.name, r.default, r.check, r.doc, resume = r.resume, per_trainer = r.per_trainer,
    presets = r.presets}
  for k, v in pairs(changes or {}) do
    if k == "default" then e[2] = v elseif k == "doc" then e[4] = v else e[k] = v end
  end
  return e
end)

--- schema:info(name) -> {default =, doc =, resume =, per_trainer =, optional =}
-- of a parameter (the default a fresh copy).
Schema.info = api.public("idl.params.Schema:info", function(self, name)
  local r = entry_named(self, name)
  return {default = fresh(r.default), doc = r.doc, resume = r.resume, per_trainer = r.per_trainer,
    optional = r.optional}
end)

--- schema:check(name, v) -> the checked value (nil for an unset optional one).
-- The checked value of entry r, or nil and the message.
local function test_value(r, v)
  if v == nil and r.optional then return nil end
  return api.test(v, r.check, r.name)
end

Schema.check = api.public("idl.params.Schema:check", function(self, name, v)
  local value, problem = test_value(entry_named(self, name), v)
  if problem then api.fail(problem) end
  return value
end)

-- The table of the checked values of t, or nil and the message.
local function test_table(self, t, what)
  local records = entries_of(self)
  local problem
  t, problem = api.test_options(t, self.allowed, what)
  if problem then return nil, problem end
  local out = {}
  for _, name in ipairs(self.names) do
    if t[name] ~= nil then
      out[name], problem = test_value(records[name], t[name])
      if problem then return nil, problem end
    end
  end
  return out
end

--- schema:test_table(t, what) -> a new table of the checked values of t
-- (nil: {}), or nil and what is wrong: a name the schema does not declare
-- ("unknown option 'x' in <what> (did you mean 'y'?)") or a bad value.
Schema.test_table = api.public("idl.params.Schema:test_table", function(self, t, what)
  api.check(what, "string", "what")
  return test_table(self, t, what)
end)

--- schema:check_table(t, what) -> schema:test_table's table, or raises its message.
Schema.check_table = api.public("idl.params.Schema:check_table", function(self, t, what)
  api.check(what, "string", "what")
  local out, problem = test_table(self, t, what)
  if problem then api.fail(problem) end
  return out
end)

--- schema:defaults() -> a new table of the defaults, without the per_trainer
-- parameters (unset until given: the trainer decides).
Schema.defaults = api.public("idl.params.Schema:defaults", function(self)
  local records = entries_of(self)
  local out = {}
  for _, name in ipairs(self.names) do
    local r = records[name]
    if not r.per_trainer then out[name] = fresh(r.default) end
  end
  return out
end)

--- schema:resolve(given [, overrides]) -> a new table: for each parameter,
-- given[name] when not nil, else overrides[name] (a trainer's declared
-- default) when not nil, else the declared default.
Schema.resolve = api.public("idl.params.Schema:resolve", function(self, given, overrides)
  local records = entries_of(self)
  api.check(given, "table", "given")
  api.check(overrides, {"table", optional = true}, "overrides")
  local out = {}
  for _, name in ipairs(self.names) do
    local v = given[name]
    if v == nil and overrides then v = overrides[name] end
    if v == nil then v = fresh(records[name].default) end
    out[name] = v
  end
  return out
end)

--- schema:preset(name) -> a new table of the values the entries declare for
-- the preset `name` (their presets flag); {} when none declares it.
Schema.preset = api.public("idl.params.Schema:preset", function(self, name)
  local records = entries_of(self)
  api.check(name, "string", "name")
  local out = {}
  for _, k in ipairs(self.names) do
    local values = records[k].presets
    if values and values[name] ~= nil then out[k] = fresh(values[name]) end
  end
  return out
end)

--- schema:flagged(flag) -> the names (in order) whose entry has the flag.
Schema.flagged = api.public("idl.params.Schema:flagged", function(self, flag)
  local records = entries_of(self)
  api.check(flag, {"choice", choices = {"resume", "per_trainer", "optional"}}, "flag")
  local out = {}
  for _, name in ipairs(self.names) do
    if records[name][flag] then out[#out + 1] = name end
  end
  return out
end)

--- schema:check_overrides(t, what) -> t: a trainer's defaults, each the name of a
-- per_trainer parameter with a value that passes its check.
Schema.check_overrides = api.public("idl.params.Schema:check_overrides", function(self, t, what)
  local records = entries_of(self)
  api.check(t, "table", "t")
  api.check(what, "string", "what")
  for k, v in pairs(t) do
    local r = records[k]
    if r and r.per_trainer then api.check(v, r.check, what .. "." .. k) end
  end
  return t
end)

-- A default as the docs show it.
local function show(v)
  if v == nil then return "nil" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then
    local parts, keys = {}, {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. " = " .. show(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(v)
end

-- A check spec as the docs show it.
local function show_check(spec)
  if type(spec) == "function" then return "see description" end
  if type(spec) == "string" then return spec end
  local parts = {spec.integer and "integer" or spec[1]}
  for _, k in ipairs{"min", "gt", "max"} do
    if spec[k] then parts[#parts + 1] = (k == "gt" and "> " or k == "min" and ">= " or "<= ") .. spec[k] end
  end
  if spec.choices then
    local c = type(spec.choices) == "function" and spec.choices() or spec.choices
    parts[#parts + 1] = "one of " .. table.concat(c, ", ")
  end
  return table.concat(parts, ", ")
end

--- schema:markdown([overrides]) -> the parameters as a Markdown table (name,
-- default, check, description). overrides = {trainer_name = {name = value}}
-- adds each trainer's declared default to the default column.
Schema.markdown = api.public("idl.params.Schema:markdown", function(self, overrides)
  local records = entries_of(self)
  api.check(overrides, {"table", optional = true}, "overrides")
  local trainers = {}
  for t, o in pairs(overrides or {}) do
    api.check(o, "table", "overrides." .. tostring(t))
    trainers[#trainers + 1] = tostring(t)
  end
  table.sort(trainers)
  local lines = {"| parameter | default | check | description |", "|---|---|---|---|"}
  for _, name in ipairs(self.names) do
    local r = records[name]
    local default = show(r.default)
    for _, t in ipairs(trainers) do
      local v = overrides[t][name]
      if v ~= nil and r.per_trainer then default = default .. "; " .. t .. ": " .. show(v) end
    end
    local presets = {}
    for preset, v in pairs(r.presets or {}) do
      presets[#presets + 1] = "; preset " .. preset .. ": " .. show(v)
    end
    table.sort(presets)
    default = default .. table.concat(presets)
    local doc = r.doc .. (r.resume and " (checked on resume)" or "")
    lines[#lines + 1] = string.format("| `%s` | `%s` | %s | %s |", name, default, show_check(r.check),
      (doc:gsub("|", "\\|")))
  end
  return table.concat(lines, "\n") .. "\n"
end)

-- ---------------------------------------------------------------------------
-- The training loop's settings (idl.trainers' config, the estimator's
-- parameters). One default each: these are the values users got by default
-- before the schema existed (see the commit that introduced it).

-- a threshold on the Fenchel divergence: >= 0, +inf allowed (no unit counts)
local function threshold(v, what)
  if type(v) ~= "number" or v ~= v or v < 0 then
    return nil, what .. " must be a number >= 0, got " .. api.describe(v)
  end
  return v
end

params.training = params.schema{
  {"rounds_number", 100, "count", "rounds (dual updates, or epochs) at most", per_trainer = true},
  {"dual_learning_rate", 0.1, {"number", min = 0}, "alpha of the dual step (report 4.1)", resume = true},
  {"tol_fenchel", 0.1, threshold, "eps: units with F >= eps get a dual step", resume = true},
  {"inner_tol", 1e-3, {"number", gt = 0}, "change of G in a step that ends an inner loop (absolute)",
    resume = true},
  {"inner_max_iter", 500, {"count", min = 1}, "inner steps at most (the report's cap)", resume = true},
  {"early_stopping", false, "boolean",
    "with an eval set: stop when the eval loss has not improved for `patience` rounds, restore the best",
    resume = true},
  {"patience", 10, {"count", min = 1}, "rounds without improvement of the eval loss before stopping",
    resume = true, per_trainer = true},
  {"min_improvement", 0, {"number", min = 0, max = 0.99}, "a relative fall of the eval loss below "
    .. "min_improvement does not restart patience (the best model is still kept)", resume = true,
    per_trainer = true},
  {"monitor_tol", 1e-6, {"number", gt = 0}, "equilibrium tolerance of the per-round true losses",
    resume = true, per_trainer = true},
  {"monitor_train_every", 1, "count", "true train loss every k rounds (0: never; eval: every round)",
    resume = true, per_trainer = true},
  {"monitor_max_iter", 1000, {"count", min = 1}, "equilibrium iterations of the per-round losses at most"},
  {"monitor_method", "picard", {"choice", choices = {"picard", "anderson"}},
    "equilibrium solver of the per-round losses"},
  {"monitor_precision", "double", {"choice", choices = {"double", "single"}}, "arithmetic of the "
    .. "per-round losses' solves (\"single\": float32 Picard, monitor_tol below 1e-6 raised to it; the "
    .. "losses are summed in double)", resume = true, per_trainer = true},
  {"centre_inputs", true, "boolean", "the relaxed trainers (two_loops, one_loop, bcd, hybrid's first "
    .. "rounds) train in centred input coordinates: a feature offset changes nothing (the model stays raw)",
    resume = true},
  {"raise_on_nonconvergence", false, "boolean",
    "an equilibrium that does not converge during training raises instead of being recorded"},
}

return params
