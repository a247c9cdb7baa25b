--- The model file format (idl.model re-exports its functions; it gives the
-- Model class its save method).
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
-- @module idl.model.file

local core = require "idl.core"
local util = require "idl._util"
local api = require "idl._api"
local class = require "idl.model.class"

local file = {}

local Model, build, THETA = class.Model, class.build, class.THETA_NAMES

file.FORMAT = "IDL-MODEL"
file.VERSION = 1

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
file._checksum = api.public("idl.model._checksum", function(s)
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

-- Integers exactly (a class label above 2^53 does not survive %.17g), other
-- numbers with 17 digits (every double reads back exactly).
local function number_text(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
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
    api.fail("meta key " .. api.describe(key) .. " must be made of letters, digits, _ . -")
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
        api.failf("meta.%s[%d] must be a finite number or a string, got %s", key, i, api.describe(e))
      end
    end
  else
    api.fail("meta." .. key .. " has a type that cannot be saved: " .. t)
  end
end

--- model.serialize(m) -> the text of m in the format above.
file.serialize = api.public("idl.model.serialize", function(m)
  if getmetatable(m) ~= Model then api.fail("m must be a model (idl.model.new), got " .. api.describe(m)) end
  local out = {file.FORMAT .. " " .. file.VERSION,
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
    api.fail("path must be a non-empty string, got " .. api.describe(path))
  end
  util.write_file(path, file.serialize(self))
  return self
end)

-- A line reader over the text with position tracking for messages.
local function lines_of(text)
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

-- A finite number from its text, or nil (1e999 reads as an infinity: refused,
-- such a model could never be saved again).
local function finite_number(tok)
  local v = tonumber(tok)
  if v == nil or v ~= v or v == math.huge or v == -math.huge then return nil end
  return v
end

local function numbers_of(line)
  local row = {}
  for tok in line:gmatch("%S+") do
    local v = finite_number(tok)
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
  -- A byte order mark and CRLF line ends (an editor or a Windows checkout) are
  -- undone: the checksum then tells whether the bytes are the ones written.
  local converted = ""
  if text:sub(1, 3) == "\239\187\191" then
    text, converted = text:sub(4), " (after removing a byte order mark)"
  end
  if text:find("\r\n", 1, true) then
    text, converted = text:gsub("\r\n", "\n"), " (after converting CRLF line ends to LF)"
  end
  local first = text:match("^([^\n]*)")
  local magic, version = first:match("^(%S+) (%S+)$")
  if magic ~= file.FORMAT then
    bad("not an IDL model file (the first line should be '" .. file.FORMAT .. " " .. file.VERSION .. "')")
  end
  if tonumber(version) ~= file.VERSION then
    bad(string.format("format version %s is not supported (this build reads version %d)", version,
      file.VERSION))
  end
  local body, sum = text:match("^(.*\n)end (%x+)\n?$")
  if not body then
    bad("truncated file (no 'end' line: the write was interrupted or the file was cut)")
  end
  if fnv1a(body) ~= sum then bad("corrupted file (checksum mismatch" .. converted .. ")") end

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
      if not row then line_error("'" .. tok .. "' is not a finite number") end
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
      if not ck then line_error("expected 'constraint <kind> <kappa>'") end
      local k = finite_number(kappa)
      if not k then line_error("constraint kappa '" .. kappa .. "' is not a finite number") end
      header.constraint = {kind = ck, kappa = k}
    elseif kind == "matrix" then
      local name, r, c = rest:match("^(%S+) (%d+) (%d+)$")
      if not name then line_error("expected 'matrix <name> <rows> <cols>'") end
      mats[name] = read_matrix(tonumber(r), tonumber(c))
    elseif kind == "meta" then
      local key, typ, value = rest:match("^(%S+) (%S+) ?(.*)$")
      if not key then line_error("expected 'meta <key> <type> <value>'") end
      if typ == "number" then
        meta[key] = finite_number(value)
        if meta[key] == nil then
          line_error("meta " .. key .. ": '" .. value .. "' is not a finite number")
        end
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
          if et == "number" then
            list[i] = finite_number(ev)
            if list[i] == nil then line_error("meta " .. key .. ": '" .. ev .. "' is not a finite number") end
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
file.parse = api.public("idl.model.parse", function(text, where)
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
file.read = api.public("idl.model.read", function(path)
  api.check(path, "string", "path")
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot open '" .. path .. "': " .. tostring(err) end
  local text, rerr = f:read("a")
  f:close()
  if text == nil then return nil, "cannot read '" .. path .. "': " .. tostring(rerr) end
  if text == "" then return nil, "'" .. path .. "': empty file" end
  return parse(text, "'" .. path .. "'")
end)

--- model.load(path) -> the Model saved at path (also idl.load). Raises
-- "idl.model.load: ..." with model.read's message when it cannot be read.
file.load = api.public("idl.model.load", function(path)
  local m, problem = file.read(path)
  if not m then api.fail(problem) end
  return m
end)

return file
