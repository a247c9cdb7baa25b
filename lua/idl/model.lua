--- An implicit model: parameters, dual variables, constraint set, loss, and
-- its file format.
--
--     yhat = A x + B u + c,    x = (D x + E u + f)_+
--
-- A model holds theta = {A p x h, B p x n, c p x 1, D h x h, E h x n, f h x 1},
-- lambda (h x 1, the dual variables of the relaxed training problem), the
-- constraint set D was trained under ({kind = "inf" | "spectral" | "lmi",
-- kappa = number}), the name of its loss (idl.losses) and the sizes n, h, p.
-- model.meta is a free table of extra fields (numbers, strings, booleans,
-- matrices, arrays of numbers or strings) that save/load carry along: class
-- labels of a classifier, a trainer's state for a checkpoint, ...
-- Columns are samples here (U n x m); the estimator (idl.IDLModel) works with
-- rows-are-samples data and transposes at its boundary.
--
-- File format, version 1 (text, one record per line, fields split by one space):
--
--     IDL-MODEL 1
--     n <n>
--     h <h>
--     p <p>
--     loss <name>
--     constraint <kind> <kappa>
--     matrix <name> <rows> <cols>      then <rows> lines of <cols> numbers
--                                      (A, B, c, D, E, f, lambda; in any order)
--     meta <key> number <v>
--     meta <key> string <s>            (bytes outside '!'..'~' and '%' as %XX)
--     meta <key> boolean true|false
--     meta <key> matrix <rows> <cols>  then <rows> lines of numbers
--     meta <key> list <k>              then k lines "number <v>" or "string <s>"
--     end <checksum>
--
-- Numbers are written with %.17g, so every double reads back exactly. Lines
-- starting with '#' are comments. <checksum> is the FNV-1a 32-bit hash (8 hex
-- digits) of every byte before the "end" line: a truncated file (no end line)
-- and a corrupted one (checksum mismatch) are told apart in the error. A
-- reader of version 1 ignores record types it does not know, so later versions
-- can add records; a file of another version is refused with its number.
-- Files are written atomically (idl.write_file_atomic).
-- @module idl.model

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local losses = require "idl.losses"

local model = {}

local Model = {}
Model.__index = Model
model.Model = Model

model.FORMAT = "IDL-MODEL"
model.VERSION = 1

local THETA = {"A", "B", "c", "D", "E", "f"}
model.THETA_NAMES = THETA

-- ---------------------------------------------------------------------------
-- Constraint sets for D

local KINDS = {"inf", "spectral", "lmi"}
model.CONSTRAINT_KINDS = KINDS

--- model.check_constraint(c, fname) -> a validated copy {kind =, kappa =}.
-- kind "inf": ||D||_inf <= kappa (rows on l1 balls, the report's code);
-- "spectral": ||D||_2 <= kappa; "lmi": the report's set S_theta with the
-- LMI (2.4), Lambda - (Lambda D + D^T Lambda) >= 0 for the current lambda,
-- intersected with ||D||_2 <= kappa. kappa must be < 1 (well-posedness:
-- Picard then contracts; the LMI alone guarantees a unique equilibrium but not
-- a convergent Picard iteration). Default {kind = "inf", kappa = 0.9}.
-- For modules that name their errors themselves: fname is the name used
-- when no public function is on the stack (idl._api).
function model.check_constraint(c, fname)
  local v, problem = model.constraint_value(c)
  if problem then util.fail(fname, problem) end
  return v
end

--- model.constraint_value(c) -> the validated copy of check_constraint, or nil
-- and what is wrong (for idl._api checks and parameter schemas).
function model.constraint_value(c)
  if c == nil then return {kind = "inf", kappa = 0.9} end
  if type(c) ~= "table" or core.is_matrix(c) then
    return nil, "constraint must be a table {kind =, kappa =}, got " .. util.describe(c)
  end
  local _, problem = api.test_options(c, {kind = true, kappa = true}, "constraint")
  if problem then return nil, problem end
  local kind, kappa = "inf", 0.9
  if c.kind ~= nil then
    kind, problem = api.test(c.kind, {"choice", choices = KINDS}, "constraint.kind")
    if problem then return nil, problem end
  end
  if c.kappa ~= nil then
    kappa, problem = api.test(c.kappa, {"number", min = 0}, "constraint.kappa")
    if problem then return nil, problem end
  end
  if kappa >= 1 then return nil, "constraint.kappa must be < 1 for a well-posed model, got " .. kappa end
  return {kind = kind, kappa = kappa}
end

-- lambda for the LMI projection: it needs lambda > 0, so entries at zero (a
-- unit whose constraint carries no weight yet) are raised to a small floor.
local function lmi_lambda(lambda)
  local h = lambda:rows()
  local top = 0
  for i = 1, h do top = math.max(top, lambda:get(i, 1)) end
  local floor = 1e-8 * math.max(1, top)
  local out = lambda:copy()
  for i = 1, h do
    if out:get(i, 1) < floor then out:set(i, 1, floor) end
  end
  return out
end

-- The LMI part of kind "lmi", onto (2.4) for lambda (floored above zero).
local function project_lmi_only(D, lambda)
  return core.project_lmi_(D, lmi_lambda(lambda))
end

--- model.project_(D, constraint, lambda) -> D, projected in place onto the
-- constraint set (lambda is read by kind "lmi" only). For "lmi" (an
-- intersection): the projection onto the LMI (idl.project_lmi_), then, if
-- ||D||_2 > kappa, D scaled by kappa / ||D||_2. Both sets are convex and hold
-- 0, and scaling by t in [0, 1] keeps the LMI (Lambda - t (Lambda D + D^T
-- Lambda) >= 0 still), so the result lies in both exactly; it is the
-- Euclidean projection whenever the ball is not active (and lambda is constant).
-- D square (finite unless finite == false), the constraint and, for "lmi",
-- lambda (h x 1): the validated constraint.
local function check_set_args(D, constraint, lambda, finite)
  api.check(D, {"matrix", finite = finite}, "D")
  if D:rows() ~= D:cols() then api.failf("D is %dx%d, expected square", D:rows(), D:cols()) end
  local c, problem = model.constraint_value(constraint)
  if problem then api.fail(problem) end
  if c.kind == "lmi" then api.check(lambda, {"matrix", rows = D:rows(), cols = 1}, "lambda") end
  return c
end

model.project_ = api.public("idl.model.project_", function(D, constraint, lambda)
  -- D of a diverging trainer may hold huge entries: it is not checked finite
  constraint = check_set_args(D, constraint, lambda, false)
  local kind, kappa = constraint.kind, constraint.kappa
  if kind == "inf" then
    core.project_inf_(D, kappa)
    -- entries so large (a diverging trainer) that kappa is lost in their
    -- rounding leave the l1 threshold at 0: scaling still lands in the set
    local norm = D:norm("inf")
    if norm > kappa * (1 + 1e-12) then core.scale(D, kappa / norm) end
    return D
  end
  if kind == "spectral" then return core.project_spectral_(D, kappa) end
  project_lmi_only(D, lambda)
  local norm = D:norm(2)
  if norm > kappa then core.scale(D, kappa / norm) end
  return D
end)

--- model.in_set(D, constraint, lambda [, tol = 1e-9]) -> true when D lies in
-- the constraint set (to tol): the norm itself for "inf" and "spectral"; for
-- "lmi" the spectral norm and an LMI projection that leaves D unchanged (to
-- tol relative to max |D|).
model.in_set = api.public("idl.model.in_set", function(D, constraint, lambda, tol)
  constraint = check_set_args(D, constraint, lambda)
  tol = tol == nil and 1e-9 or api.check(tol, {"number", min = 0}, "tol")
  local kappa = constraint.kappa
  if constraint.kind == "inf" then return D:norm("inf") <= kappa + tol end
  if constraint.kind == "spectral" or D:norm(2) > kappa + tol then
    return D:norm(2) <= kappa + tol
  end
  local P = project_lmi_only(D:copy(), lambda)
  return core.equal(P, D, tol * math.max(1, D:norm("max")))
end)

-- ---------------------------------------------------------------------------
-- Construction

local function shape(m) return m:rows() .. "x" .. m:cols() end

-- Checks theta against the sizes implied by D (h), B (n) and A (p): n, h, p,
-- or nil and what is wrong.
local function theta_problem(theta)
  if type(theta) ~= "table" then
    return nil, "theta must be a table of matrices, got " .. type(theta)
  end
  for _, k in ipairs(THETA) do
    local m = theta[k]
    if m == nil then return nil, "theta." .. k .. " is missing" end
    if not core.is_matrix(m) then
      return nil, "theta." .. k .. " must be a matrix, got " .. util.describe(m)
    end
    local i, j = util.first_nonfinite(m)
    if i then
      return nil, string.format("theta.%s has a NaN or infinite entry at (%d, %d)", k, i, j)
    end
  end
  for k in pairs(theta) do
    local known = false
    for _, name in ipairs(THETA) do known = known or k == name end
    if not known then return nil, "theta has an unknown field " .. util.describe(k) end
  end
  local h, n, p = theta.D:rows(), theta.B:cols(), theta.A:rows()
  local want = {A = {p, h}, B = {p, n}, c = {p, 1}, D = {h, h}, E = {h, n}, f = {h, 1}}
  for _, k in ipairs(THETA) do
    local m = theta[k]
    if m:rows() ~= want[k][1] or m:cols() ~= want[k][2] then
      return nil, string.format("theta.%s is %s, expected %dx%d (n = %d, h = %d, p = %d from B, D, A)",
        k, shape(m), want[k][1], want[k][2], n, h, p)
    end
  end
  if h == 0 or p == 0 then
    return nil, string.format("theta has no hidden units or no outputs (h = %d, p = %d)", h, p)
  end
  return n, h, p
end
model.theta_problem = theta_problem

--- model.check_theta(theta, fname) -> n, h, p, or raises "<fname>: ..." (see
-- model.check_constraint for fname).
function model.check_theta(theta, fname)
  local n, h, p = theta_problem(theta)
  if n == nil then util.fail(fname or "model.check_theta", h) end
  return n, h, p
end

local NEW_OPTIONS = {theta = true, lambda = true, constraint = true, loss = true, meta = true}

-- The Model of model.new's arguments, or nil and what is wrong (model.new
-- raises it; the file reader reports it with the file's name).
local function build(args)
  local _, problem = api.test_options(args, NEW_OPTIONS, "arguments")
  if problem then return nil, problem end
  if args == nil then return nil, "needs a table {theta = ..., ...}" end
  local n, h, p = theta_problem(args.theta)
  if n == nil then return nil, h end
  local lambda = core.zeros(h, 1)
  if args.lambda ~= nil then
    _, problem = api.test(args.lambda, {"matrix", rows = h, cols = 1}, "lambda")
    if problem then return nil, problem end
    lambda = args.lambda:copy()
  end
  local loss = args.loss or "squared"
  _, problem = api.test(loss, {"choice", choices = losses.names}, "loss")
  if problem then return nil, problem end
  local meta = args.meta or {}
  if type(meta) ~= "table" then return nil, "meta must be a table, got " .. util.describe(meta) end
  local constraint
  constraint, problem = model.constraint_value(args.constraint)
  if problem then return nil, problem end
  return setmetatable({
    theta = util.copy_matrices(args.theta),
    lambda = lambda,
    constraint = constraint,
    loss = loss,
    n = n, h = h, p = p,
    meta = util.copy_matrices(meta),
  }, Model)
end

--- model.new{theta =, lambda = zeros, constraint = {kind = "inf", kappa = 0.9},
-- loss = "squared", meta = {}} -> a Model. theta and lambda are copied (the
-- caller's matrices are never written).
model.new = api.public("idl.model.new", function(args)
  local m, problem = build(args)
  if not m then api.fail(problem) end
  return m
end)

--- m:copy() -> a deep copy (matrices copied, never shared).
Model.copy = api.method(Model, "idl.Model:copy", function(self)
  return model.new{theta = self.theta, lambda = self.lambda, constraint = self.constraint,
    loss = self.loss, meta = self.meta}
end)

-- ---------------------------------------------------------------------------
-- Prediction

-- The options of the equilibrium solver (idl.equilibrium), declared: they are
-- checked here so that the solver's own checks never fire on a user's value.
local SOLVE_OPTIONS = {
  tol = {"number", min = 0, optional = true},
  max_iter = {"number", integer = true, min = 0, max = 2147483647, optional = true}, -- a C int
  method = {"choice", choices = {"picard", "anderson"}, optional = true},
  memory = {"number", integer = true, min = 1, max = 50, optional = true},
  force = {"boolean", optional = true},
  x0 = {"matrix", optional = true},
}
local SOLVE_NAMES = {}
for k in pairs(SOLVE_OPTIONS) do SOLVE_NAMES[k] = true end

-- U (n x m, m > 0, finite) and the solver options (x0 h x m); returns the options.
local function check_solve(self, U, opts)
  if not core.is_matrix(U) then api.fail("U must be a matrix (n x m), got " .. util.describe(U)) end
  if U:rows() ~= self.n then
    api.failf("U is %s, expected %d rows (features; columns are samples)", shape(U), self.n)
  end
  if U:cols() == 0 then api.fail("U has no columns (samples)") end
  api.check(U, "matrix", "U")
  opts = api.options(opts, SOLVE_NAMES, "options")
  for k, spec in pairs(SOLVE_OPTIONS) do api.check(opts[k], spec, "options." .. k) end
  if opts.x0 then api.check(opts.x0, {"matrix", rows = self.h, cols = U:cols()}, "options.x0") end
  return opts
end

--- m:hidden(U [, opts]) -> X (h x m), info: the equilibrium X = (D X + E U + f 1^T)_+
-- (idl.equilibrium; opts: tol, max_iter, method, memory, force as there, and
-- x0 an h x m warm start, e.g. info.x of an earlier call).
Model.hidden = api.method(Model, "idl.Model:hidden", function(self, U, opts)
  opts = check_solve(self, U, opts)
  local X, info = core.equilibrium(self.theta, U, opts)
  return X, info
end)

--- m:output(X, U) -> A X + B U + c 1^T (p x m), the readout for a given hidden state.
Model.output = api.method(Model, "idl.Model:output", function(self, X, U)
  api.check(X, {"matrix", rows = self.h, finite = false}, "X")
  api.check(U, {"matrix", rows = self.n, cols = X:cols(), finite = false}, "U")
  local th = self.theta
  local Y = th.A * X
  core.gemm(Y, th.B, U, 1, 1)
  return core.add_col(Y, 1, th.c)
end)

--- m:predict_u(U [, opts]) -> Yhat (p x m), info: the equilibrium solved with
-- opts (see m:hidden), then the readout. info is the solver's record
-- {iterations, residual, converged, method} plus info.x, the equilibrium X,
-- to pass back as opts.x0 for a warm start.
Model.predict_u = api.method(Model, "idl.Model:predict_u", function(self, U, opts)
  opts = check_solve(self, U, opts)
  local X, info = core.equilibrium(self.theta, U, opts)
  info.x = X
  return self:output(X, U), info
end)

--- m:wellposed() -> idl.wellposed(D): {norm_inf, norm_2, pf, wellposed}, plus
-- in_constraint: whether D lies in the model's constraint set.
Model.wellposed = api.method(Model, "idl.Model:wellposed", function(self)
  local w = core.wellposed(self.theta.D)
  w.in_constraint = model.in_set(self.theta.D, self.constraint, self.lambda)
  return w
end)

--- m:project() -> m, with D projected in place onto its constraint set.
Model.project = api.method(Model, "idl.Model:project", function(self)
  model.project_(self.theta.D, self.constraint, self.lambda)
  return self
end)

--- m:loss_value(Yhat, Y) -> the model's loss (idl.losses) of Yhat against Y (p x m).
Model.loss_value = api.method(Model, "idl.Model:loss_value", function(self, Yhat, Y)
  api.check(Yhat, {"matrix", rows = self.p, finite = false}, "Yhat")
  api.check(Y, {"matrix", rows = self.p, cols = Yhat:cols(), finite = false}, "Y")
  local v = losses.get(self.loss).value(Yhat, Y)
  return v
end)

function Model:__tostring()
  return string.format("idl.model (n = %d, h = %d, p = %d, constraint %s %g, loss %s)", self.n, self.h,
    self.p, self.constraint.kind, self.constraint.kappa, self.loss)
end

-- ---------------------------------------------------------------------------
-- Save and load

-- FNV-1a, 32 bits, over the bytes of s.
local function fnv1a(s)
  local h = 0x811c9dc5
  local n = #s
  local i = 1
  while i <= n do
    local j = math.min(i + 4095, n)
    local bytes = {s:byte(i, j)}
    for k = 1, #bytes do
      h = ((h ~ bytes[k]) * 16777619) & 0xffffffff
    end
    i = j + 1
  end
  return string.format("%08x", h)
end
model._checksum = api.public("idl.model._checksum", function(s)
  api.check(s, "string", "s")
  return (fnv1a(s))
end)

-- Strings on one line: '%' and every byte outside '!'..'~' (spaces, newlines,
-- non-ASCII) become %XX, so a value never contains a separator.
local function encode(s)
  s = s:gsub("%%", "%%25")
  return (s:gsub("[^!-~]", function(c) return string.format("%%%02X", c:byte()) end))
end
local function decode(s)
  return (s:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end))
end

local function number_text(v)
  return string.format("%.17g", v)
end

-- One string.format per stretch of up to CHUNK numbers of a row (2.4 times
-- faster than one per number, which matters for the h x m matrices of a
-- checkpoint; a stretch stays far below the limit of table.unpack).
local CHUNK = 4096
local formats = {}

local function format_of(k)
  local f = formats[k]
  if not f then
    f = string.rep("%.17g", k, " ")
    formats[k] = f
  end
  return f
end

local function put_matrix(out, m)
  local rows = m:totable()
  local cols = m:cols()
  for i = 1, #rows do
    local r = rows[i]
    if cols <= CHUNK then
      out[#out + 1] = string.format(format_of(cols), table.unpack(r, 1, cols))
    else
      local parts = {}
      for j = 1, cols, CHUNK do
        local last = math.min(j + CHUNK - 1, cols)
        parts[#parts + 1] = string.format(format_of(last - j + 1), table.unpack(r, j, last))
      end
      out[#out + 1] = table.concat(parts, " ")
    end
  end
end

local KEY = "^[%w_%.%-]+$"

local function put_meta(out, key, v)
  if type(key) ~= "string" or not key:match(KEY) then
    api.fail("meta key " .. util.describe(key) .. " must be made of letters, digits, _ . -")
  end
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then api.fail("meta." .. key .. " is not finite") end
    out[#out + 1] = "meta " .. key .. " number " .. number_text(v)
  elseif t == "string" then
    out[#out + 1] = "meta " .. key .. " string " .. encode(v)
  elseif t == "boolean" then
    out[#out + 1] = "meta " .. key .. " boolean " .. tostring(v)
  elseif core.is_matrix(v) then
    if not v:all_finite() then api.fail("meta." .. key .. " has NaN or infinite entries") end
    out[#out + 1] = string.format("meta %s matrix %d %d", key, v:rows(), v:cols())
    put_matrix(out, v)
  elseif t == "table" then
    out[#out + 1] = string.format("meta %s list %d", key, #v)
    for i = 1, #v do
      local e = v[i]
      if type(e) == "number" and e == e and e ~= math.huge and e ~= -math.huge then
        out[#out + 1] = "number " .. number_text(e)
      elseif type(e) == "string" then
        out[#out + 1] = "string " .. encode(e)
      else
        api.failf("meta.%s[%d] must be a finite number or a string, got %s", key, i, util.describe(e))
      end
    end
  else
    api.fail("meta." .. key .. " has a type that cannot be saved: " .. t)
  end
end

--- model.serialize(m) -> the text of m in the format above.
model.serialize = api.public("idl.model.serialize", function(m)
  if getmetatable(m) ~= Model then api.fail("m must be a model (idl.model.new), got " .. util.describe(m)) end
  local out = {model.FORMAT .. " " .. model.VERSION,
    "n " .. m.n, "h " .. m.h, "p " .. m.p, "loss " .. m.loss,
    "constraint " .. m.constraint.kind .. " " .. number_text(m.constraint.kappa)}
  local mats = {}
  for _, k in ipairs(THETA) do mats[#mats + 1] = {k, m.theta[k]} end
  mats[#mats + 1] = {"lambda", m.lambda}
  for _, km in ipairs(mats) do
    local name, v = km[1], km[2]
    if not v:all_finite() then api.fail(name .. " has NaN or infinite entries: nothing saved") end
    out[#out + 1] = string.format("matrix %s %d %d", name, v:rows(), v:cols())
    put_matrix(out, v)
  end
  local keys = {}
  for k in pairs(m.meta) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do put_meta(out, k, m.meta[k]) end
  local body = table.concat(out, "\n") .. "\n"
  return body .. "end " .. fnv1a(body) .. "\n"
end)

--- m:save(path) -> m: writes the model atomically (idl.write_file_atomic: a
-- temporary file in the same directory, fsync'ed, then renamed over path).
-- Raises "idl.Model:save: cannot write '<path>': <the system's reason>" on
-- failure, leaving any older file at path intact.
Model.save = api.method(Model, "idl.Model:save", function(self, path)
  if type(path) ~= "string" or path == "" then
    api.fail("path must be a non-empty string, got " .. util.describe(path))
  end
  util.write_file(path, model.serialize(self), "save")
  return self
end)

-- A line reader over the text with position tracking for messages.
local function lines_of(text)
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

local function numbers_of(line)
  local row = {}
  for tok in line:gmatch("%S+") do
    local v = tonumber(tok)
    if v == nil then return nil, tok end
    -- "-0" reads as the integer 0: keep the sign of a negative zero
    if v == 0 and tok:byte(1) == 45 then v = -0.0 end
    row[#row + 1] = v * 1.0
  end
  return row
end

local parse_body

-- The reader of model.parse and model.read: the Model, or nil and
-- "<where>: <what is wrong>" (a bad file is an expected failure).
local function parse(text, where)
  local problem = {}
  local function bad(msg) error(setmetatable({message = where .. ": " .. msg}, problem), 0) end
  local ok, m = pcall(parse_body, text, bad)
  if ok then return m end
  if getmetatable(m) == problem then return nil, m.message end
  error(m, 0) -- not a problem of the file: a bug, raised as it is
end

-- The file's text read into a Model; bad(msg) raises what is wrong.
parse_body = function(text, bad)
  local first = text:match("^([^\n]*)")
  local magic, version = first:match("^(%S+) (%S+)$")
  if magic ~= model.FORMAT then
    bad("not an IDL model file (the first line should be '" .. model.FORMAT .. " " .. model.VERSION .. "')")
  end
  if tonumber(version) ~= model.VERSION then
    bad(string.format("format version %s is not supported (this build reads version %d)", version,
      model.VERSION))
  end
  local body, sum = text:match("^(.*\n)end (%x+)\n?$")
  if not body then
    bad("truncated file (no 'end' line: the write was interrupted or the file was cut)")
  end
  if fnv1a(body) ~= sum then bad("corrupted file (checksum mismatch)") end

  local lines = lines_of(body)
  local pos = 2
  local function line_error(msg) bad("line " .. (pos - 1) .. ": " .. msg) end
  local function read_matrix(rows, cols)
    local t = {}
    for i = 1, rows do
      local line = lines[pos]
      pos = pos + 1
      if line == nil then line_error("the matrix ends early") end
      local row, tok = numbers_of(line)
      if not row then line_error("'" .. tok .. "' is not a number") end
      if #row ~= cols then line_error(string.format("%d numbers, expected %d", #row, cols)) end
      t[i] = row
    end
    if rows == 0 or cols == 0 then return core.zeros(rows, cols) end
    return core.from_table(t)
  end
  local header, mats, meta = {}, {}, {}
  while pos <= #lines do
    local line = lines[pos]
    pos = pos + 1
    local kind, rest = line:match("^(%S+) ?(.*)$")
    if kind == nil or kind:sub(1, 1) == "#" then -- luacheck: ignore 542
      -- a blank line or a comment
    elseif kind == "n" or kind == "h" or kind == "p" then
      header[kind] = math.tointeger(tonumber(rest))
      if not header[kind] then line_error(kind .. " must be an integer") end
    elseif kind == "loss" then
      header.loss = rest
    elseif kind == "constraint" then
      local ck, kappa = rest:match("^(%S+) (%S+)$")
      header.constraint = {kind = ck, kappa = tonumber(kappa)}
    elseif kind == "matrix" then
      local name, r, c = rest:match("^(%S+) (%d+) (%d+)$")
      if not name then line_error("expected 'matrix <name> <rows> <cols>'") end
      mats[name] = read_matrix(tonumber(r), tonumber(c))
    elseif kind == "meta" then
      local key, typ, value = rest:match("^(%S+) (%S+) ?(.*)$")
      if not key then line_error("expected 'meta <key> <type> <value>'") end
      if typ == "number" then meta[key] = tonumber(value)
      elseif typ == "string" then meta[key] = decode(value)
      elseif typ == "boolean" then meta[key] = value == "true"
      elseif typ == "matrix" then
        local r, c = value:match("^(%d+) (%d+)$")
        if not r then line_error("expected 'meta <key> matrix <rows> <cols>'") end
        meta[key] = read_matrix(tonumber(r), tonumber(c))
      elseif typ == "list" then
        local k = math.tointeger(tonumber(value))
        if not k then line_error("expected 'meta <key> list <count>'") end
        local list = {}
        for i = 1, k do
          local e = lines[pos]
          pos = pos + 1
          if e == nil then line_error("the list ends early") end
          local et, ev = e:match("^(%S+) ?(.*)$")
          if et == "number" then list[i] = tonumber(ev)
          elseif et == "string" then list[i] = decode(ev)
          else line_error("list entries are 'number <v>' or 'string <s>'") end
        end
        meta[key] = list
      else
        line_error("unknown meta type '" .. tostring(typ) .. "'")
      end
    end
    -- other record types belong to later versions: skipped
  end
  local theta = {}
  for _, k in ipairs(THETA) do
    if not mats[k] then bad("matrix " .. k .. " is missing") end
    theta[k] = mats[k]
  end
  local m, problem = build{theta = theta, lambda = mats.lambda, constraint = header.constraint,
    loss = header.loss, meta = meta}
  if not m then bad(problem) end
  for _, k in ipairs{"n", "h", "p"} do
    if header[k] and header[k] ~= m[k] then
      bad(string.format("header says %s = %d, the matrices say %d", k, header[k], m[k]))
    end
  end
  return m
end

--- model.parse(text [, where = "model"]) -> a Model, from the text of a saved
-- model file. Raises "idl.model.parse: <where>: ..." naming the problem (not a
-- model file, other version, truncated, corrupted, malformed line).
model.parse = api.public("idl.model.parse", function(text, where)
  api.check(text, "string", "text")
  where = where == nil and "model" or api.check(where, "string", "where")
  local m, problem = parse(text, where)
  if not m then api.fail(problem) end
  return m
end)

--- model.read(path) -> the Model saved at path, or nil and what is wrong
-- ("cannot open '<path>': ...", "'<path>': truncated file ..."): the file
-- cannot be read, is not a model, has another format version, is truncated
-- or is corrupted.
model.read = api.public("idl.model.read", function(path)
  api.check(path, "string", "path")
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot open '" .. path .. "': " .. tostring(err) end
  local text = f:read("a")
  f:close()
  if text == nil or text == "" then return nil, "'" .. path .. "': empty file" end
  return parse(text, "'" .. path .. "'")
end)

--- model.load(path) -> the Model saved at path (also idl.load). Raises
-- "idl.model.load: ..." with model.read's message when it cannot be read.
model.load = api.public("idl.model.load", function(path)
  local m, problem = model.read(path)
  if not m then api.fail(problem) end
  return m
end)

return model
