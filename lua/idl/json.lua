--- idl.json: JSON for experiment results and worker messages.
--
-- `encode` writes reproducible text (object keys sorted, shortest exact
-- numbers, integers without a decimal point, floats always with one), and
-- `decode` is a small recursive-descent parser that reports the line and
-- column of a syntax error.
--
-- Conventions:
--
-- * A table whose keys are exactly 1..n is an array; an empty table is `[]`.
--   Any other table must have string keys only (an object).
-- * idl matrices are encoded as arrays of rows (`m:totable()`).
-- * NaN and +-Inf become `null` (strict JSON), or `NaN`, `Infinity`,
--   `-Infinity` with `{allow_nan = true}` (as Python's json does); `decode`
--   accepts both forms.
-- * `null` decodes to the sentinel `json.null`, or to `opts.null` when given
--   (e.g. `{null = 0/0}` to read NaN back).
-- @module idl.json

local api = require "idl._api"

local json = {}

--- Sentinel value for JSON `null` (encodes as `null`, decodes from it).
json.null = setmetatable({}, {__tostring = function() return "json.null" end,
                              __name = "json.null"})


local ENCODE_OPTIONS = {indent = true, allow_nan = true}
local DECODE_OPTIONS = {null = true}

local function is_matrix(v)
  local mt = type(v) == "userdata" and getmetatable(v)
  return mt and mt.__name == "idl.matrix" or false
end

local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                 ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- The shortest of %.15g, %.16g, %.17g that reads back as the same double.
local function encode_float(x, allow_nan)
  if x ~= x or x == math.huge or x == -math.huge then
    if not allow_nan then return "null" end
    return x ~= x and "NaN" or (x > 0 and "Infinity" or "-Infinity")
  end
  local s
  for digits = 15, 17 do
    s = string.format("%." .. digits .. "g", x)
    if tonumber(s) == x then break end
  end
  if not s:find("[.eEn]") then s = s .. ".0" end -- keep floats floats on the way back
  return s
end

-- Returns n when t's keys are exactly 1..n, nil otherwise.
local function array_length(t)
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  for i = 1, count do
    if t[i] == nil then return nil end
  end
  return count
end

local function where(path)
  return path == "" and "the value" or "$" .. path
end

local encode_value

-- What JSON cannot hold is an expected failure of the value: raised as a
-- tagged table that encode turns into nil and the message (as the parser's
-- syntax errors), so that try_encode reports it and encode raises it.
local function unencodable(fmt, ...) error({json_problem = string.format(fmt, ...)}, 0) end

-- Raises for a table that is neither an array (keys 1..n) nor an object (string keys),
-- naming the offending key deterministically.
local function bad_key(t, path)
  local count, bad = 0, {}
  for k in pairs(t) do
    count = count + 1
    if math.type(k) ~= "integer" or k < 1 then bad[#bad + 1] = tostring(k) .. " (" .. type(k) .. ")" end
  end
  if #bad == 0 then
    local hole = 1
    while t[hole] ~= nil do hole = hole + 1 end
    unencodable("%s is a sparse array (index %d of %d keys is nil): JSON arrays need keys 1..n", where(path),
      hole, count)
  end
  table.sort(bad)
  unencodable("%s has the key %s: JSON objects need string keys", where(path), bad[1])
end

local function encode_array(t, n, ctx, path, depth)
  local parts, simple = {}, true
  for i = 1, n do
    parts[i] = encode_value(t[i], ctx, path .. "[" .. i .. "]", depth + 1)
    simple = simple and type(t[i]) ~= "table" and not is_matrix(t[i])
  end
  if not ctx.indent or simple or n == 0 then
    return "[" .. table.concat(parts, ctx.indent and ", " or ",") .. "]"
  end
  local pad = string.rep(ctx.indent, depth)
  return "[\n" .. pad .. ctx.indent .. table.concat(parts, ",\n" .. pad .. ctx.indent)
         .. "\n" .. pad .. "]"
end

local function encode_object(t, ctx, path, depth)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then bad_key(t, path) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local parts = {}
  local pad = ctx.indent and string.rep(ctx.indent, depth + 1)
  for i, k in ipairs(keys) do
    local v = encode_value(t[k], ctx, path .. "." .. k, depth + 1)
    parts[i] = ctx.indent and (pad .. encode_string(k) .. ": " .. v) or (encode_string(k) .. ":" .. v)
  end
  if not ctx.indent then return "{" .. table.concat(parts, ",") .. "}" end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. string.rep(ctx.indent, depth) .. "}"
end

encode_value = function(v, ctx, path, depth)
  local kind = type(v)
  if v == json.null then
    return "null"
  elseif kind == "string" then
    return encode_string(v)
  elseif kind == "number" then
    return math.type(v) == "integer" and string.format("%d", v) or encode_float(v, ctx.allow_nan)
  elseif kind == "boolean" then
    return tostring(v)
  elseif is_matrix(v) then
    return encode_value(v:totable(), ctx, path, depth)
  elseif kind ~= "table" then
    unencodable("%s is a %s, which JSON cannot hold", where(path), kind)
  end
  if ctx.seen[v] then unencodable("%s refers back to an enclosing table (a cycle)", where(path)) end
  ctx.seen[v] = true
  local n = array_length(v)
  local s = n and encode_array(v, n, ctx, path, depth) or encode_object(v, ctx, path, depth)
  ctx.seen[v] = nil
  return s
end

-- The JSON text of value, or nil and what JSON cannot hold in it; opts
-- checked (misuse raises).
local function encode(value, opts)
  opts = api.options(opts, ENCODE_OPTIONS, "opts")
  local indent = opts.indent
  if indent == true then indent = "  " end
  if indent ~= nil and indent ~= false and type(indent) ~= "string" then
    api.fail("opts.indent must be true, false or a string")
  end
  local ctx = {indent = indent or nil, allow_nan = opts.allow_nan, seen = {}}
  local ok, text = pcall(encode_value, value, ctx, "", 0)
  if ok then return text end
  if type(text) == "table" and text.json_problem then return nil, text.json_problem end
  error(text, 0) -- not a value JSON cannot hold: raised as it is
end

--- Encodes a Lua value as JSON text; raises on a value JSON cannot hold
-- (naming its place: "$.a[2] is a function, which JSON cannot hold").
-- @param value a table, string, number, boolean, idl matrix or `json.null`
-- @tparam[opt] table opts `indent` (true for two spaces, or a string),
--   `allow_nan` (write NaN/Infinity instead of null)
-- @treturn string the JSON text (with `indent`, arrays of scalars stay on one line)
json.encode = api.public("idl.json.encode", function(value, opts)
  local text, problem = encode(value, opts)
  if not text then api.fail(problem) end
  return text
end)

--- Encodes a Lua value as JSON text when JSON can hold it, as encode does;
-- otherwise returns nil and what it cannot hold (for callers that record
-- a value only when it can be written, or add their own context).
-- @param value as for `encode`
-- @tparam[opt] table opts as for `encode`
-- @return the JSON text, or nil and a message
json.try_encode = api.public("idl.json.try_encode", function(value, opts)
  local text, problem = encode(value, opts)
  return text, problem
end)

-- Decoding ------------------------------------------------------------------

local Parser = {}
Parser.__index = Parser

-- Raises a parse error carrying the line and column of byte position pos.
function Parser:fail(pos, message)
  local line, col = 1, pos
  for nl in self.text:sub(1, pos - 1):gmatch("()\n") do
    line, col = line + 1, pos - nl
  end
  error({json_error = string.format("%s at line %d column %d", message, line, col)})
end

function Parser:skip(pos)
  return self.text:find("[^ \t\r\n]", pos) or #self.text + 1
end

function Parser:near(pos)
  local c = self.text:sub(pos, pos)
  return c == "" and "end of text" or string.format("'%s'", c)
end

local literals = {["true"] = true, ["false"] = false, ["NaN"] = 0 / 0,
                  ["Infinity"] = math.huge, ["-Infinity"] = -math.huge}

-- JSON's grammar -?(0|[1-9]d*)(.d+)?([eE][-+]?d+)?, plus NaN and +-Infinity.
-- Integers stay Lua integers (floats if too large); numbers with '.' or 'e' are floats.
function Parser:number(pos)
  local text = self.text
  local lit = text:match("^-?Infinity", pos) or text:match("^NaN", pos)
  if lit then return literals[lit], pos + #lit end
  local int = text:match("^-?%d+", pos)
  if not int or int:match("^-?0%d") then self:fail(pos, "malformed number") end
  local p = pos + #int
  local frac = text:match("^%.%d+", p)
  if not frac and text:match("^%.", p) then self:fail(pos, "malformed number") end
  p = p + #(frac or "")
  local exp = text:match("^[eE][-+]?%d+", p)
  if not exp and text:match("^[eE]", p) then self:fail(pos, "malformed number") end
  p = p + #(exp or "")
  return tonumber(text:sub(pos, p - 1)), p -- a float when it has '.' or an exponent
end

local unescapes = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f',
                   n = '\n', r = '\r', t = '\t'}

function Parser:string(pos)
  local parts, i = {}, pos + 1
  while true do
    local j = self.text:find('["\\%c]', i)
    if not j then self:fail(pos, "unterminated string") end
    parts[#parts + 1] = self.text:sub(i, j - 1)
    local c = self.text:sub(j, j)
    if c == '"' then return table.concat(parts), j + 1 end
    if c ~= "\\" then self:fail(j, "control character in string") end
    local e = self.text:sub(j + 1, j + 1)
    if unescapes[e] then
      parts[#parts + 1], i = unescapes[e], j + 2
    elseif e == "u" then
      local code, next_i = self:codepoint(j)
      parts[#parts + 1], i = utf8.char(code), next_i
    else
      self:fail(j, "bad escape '\\" .. e .. "' in string")
    end
  end
end

-- Reads \uXXXX at pos (joining a UTF-16 surrogate pair); returns code point, next position.
function Parser:codepoint(pos)
  local hex = self.text:match("^\\u(%x%x%x%x)", pos)
  if not hex then self:fail(pos, "bad \\u escape") end
  local code = tonumber(hex, 16)
  if code >= 0xD800 and code <= 0xDBFF then
    local low = self.text:match("^\\u([dD][c-fC-F]%x%x)", pos + 6)
    if not low then self:fail(pos, "unpaired UTF-16 surrogate") end
    return 0x10000 + (code - 0xD800) * 0x400 + (tonumber(low, 16) - 0xDC00), pos + 12
  end
  return code, pos + 6
end

function Parser:array(pos)
  local result, n = {}, 0
  pos = self:skip(pos + 1)
  if self.text:sub(pos, pos) == "]" then return result, pos + 1 end
  while true do
    local v
    v, pos = self:value(pos)
    n = n + 1
    result[n] = v
    pos = self:skip(pos)
    local c = self.text:sub(pos, pos)
    if c == "]" then return result, pos + 1 end
    if c ~= "," then self:fail(pos, "expected ',' or ']' but found " .. self:near(pos)) end
    pos = self:skip(pos + 1)
  end
end

function Parser:object(pos)
  local result = {}
  pos = self:skip(pos + 1)
  if self.text:sub(pos, pos) == "}" then return result, pos + 1 end
  while true do
    if self.text:sub(pos, pos) ~= '"' then
      self:fail(pos, "expected a string key but found " .. self:near(pos))
    end
    local key
    key, pos = self:string(pos)
    pos = self:skip(pos)
    if self.text:sub(pos, pos) ~= ":" then self:fail(pos, "expected ':' but found " .. self:near(pos)) end
    result[key], pos = self:value(self:skip(pos + 1))
    pos = self:skip(pos)
    local c = self.text:sub(pos, pos)
    if c == "}" then return result, pos + 1 end
    if c ~= "," then self:fail(pos, "expected ',' or '}' but found " .. self:near(pos)) end
    pos = self:skip(pos + 1)
  end
end

function Parser:value(pos)
  self.depth = self.depth + 1
  if self.depth > 1000 then self:fail(pos, "nesting deeper than 1000") end
  local c, v = self.text:sub(pos, pos), nil
  if c == "{" then v, pos = self:object(pos)
  elseif c == "[" then v, pos = self:array(pos)
  elseif c == '"' then v, pos = self:string(pos)
  elseif c:match("[-%dIN]") then v, pos = self:number(pos)
  else
    local word = self.text:match("^%a+", pos)
    if word == "null" then v, pos = self.null, pos + 4
    elseif word == "true" or word == "false" then v, pos = literals[word], pos + #word
    else self:fail(pos, "unexpected " .. self:near(pos)) end
  end
  self.depth = self.depth - 1
  return v, pos
end

-- The text decoded: the value, or nil and the syntax error (line and column).
local function decode(text, opts)
  local null = json.null
  if opts.null ~= nil then null = opts.null end
  local parser = setmetatable({text = text, null = null, depth = 0}, Parser)
  local ok, value = pcall(function()
    local v, p = parser:value(parser:skip(1))
    p = parser:skip(p)
    if p <= #text then parser:fail(p, "unexpected " .. parser:near(p) .. " after the value") end
    return v
  end)
  if ok then return value end
  if type(value) == "table" and value.json_error then return nil, value.json_error end
  error(value, 0) -- not a syntax error: a bug, raised as it is
end

--- Decodes JSON text.
-- A syntax error is an expected failure: it returns nil and a message with the
-- line and column ("json.decode: expected ',' or ']' but found '}' at line 3 column 5").
-- @tparam string text the JSON text (one value, surrounded by optional whitespace)
-- @tparam[opt] table opts `null`: the value that `null` decodes to (default `json.null`;
--   nil would leave holes in arrays)
-- @return the value, or nil and a message
json.decode = api.public("idl.json.decode", function(text, opts)
  api.check(text, "string", "text")
  opts = api.options(opts, DECODE_OPTIONS, "opts")
  local value, problem = decode(text, opts)
  if problem then return nil, "idl.json.decode: " .. problem end
  return value
end)

--- Reads and decodes a JSON file.
-- @tparam string path the file
-- @param[opt] opts as for `decode`
-- @return the value, or nil and a message naming the file
json.read = api.public("idl.json.read", function(path, opts)
  api.check(path, "string", "path")
  opts = api.options(opts, DECODE_OPTIONS, "opts")
  local f, err = io.open(path, "rb")
  if not f then return nil, "idl.json.read: " .. err end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, "idl.json.read: " .. path .. ": " .. tostring(rerr) end
  local value, problem = decode(text, opts)
  if problem then return nil, "idl.json.read: " .. path .. ": " .. problem end
  return value
end)

--- Encodes a value and writes it to a file (with a final newline).
-- @tparam string path the file
-- @param value the value
-- @tparam[opt] table opts as for `encode` (default `{indent = true}`)
-- @return true, or nil and a message
json.write = api.public("idl.json.write", function(path, value, opts)
  api.check(path, "string", "path")
  opts = api.options(opts, ENCODE_OPTIONS, "opts")
  local text = json.encode(value, next(opts) and opts or {indent = true})
  -- atomic and checked (a temporary beside path, fsync, rename)
  local ok, err = require("idl.core").write_file_atomic(path, text, "\n")
  if not ok then return nil, "idl.json.write: " .. err end
  return true
end)

return json
