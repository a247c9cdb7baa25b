--- Reading LDoc comments for idl.help: a file's lines (read once), the `---`
-- block above a definition (LDoc's rule), a module's own block, and the
-- entries of lua/idl/_core_doc.lua that document the C functions.
-- @module idl.help.comments

local comments = {}

local file_lines = {} -- path -> array of lines, read once

--- comments.lines_of(path) -> the lines of the file, or nil when it cannot be read.
function comments.lines_of(path)
  if file_lines[path] == nil then
    local f = io.open(path, "r")
    local lines = false
    if f then
      lines = {}
      for line in f:lines() do lines[#lines + 1] = line end
      f:close()
    end
    file_lines[path] = lines
  end
  return file_lines[path] or nil
end

-- An LDoc opener is a line starting with exactly three dashes ("----" rules are not).
local function is_opener(line)
  return line:match("^%s*%-%-%-") ~= nil and line:match("^%s*%-%-%-%-") == nil
end

-- The doc text of lines[first..last]: comment markers and the LDoc tags that only
-- place an entry (@module, @function, @section, @type, @local) removed.
local function clean(lines, first, last)
  local out = {}
  for i = first, last do
    local text = lines[i]:gsub("^%s*%-%-%-? ?", "")
    local tag = text:match("^@(%a+)")
    if not (tag == "module" or tag == "function" or tag == "section" or tag == "type" or tag == "local") then
      out[#out + 1] = text
    end
  end
  while #out > 0 and out[#out]:match("^%s*$") do out[#out] = nil end
  return table.concat(out, "\n")
end

--- The `---` comment block that ends on the line above `line`, or nil: LDoc's rule,
-- so a block separated from the definition by a blank line documents nothing.
function comments.doc_above(lines, line)
  local i = line - 1
  while i >= 1 and lines[i]:match("^%s*%-%-") do
    if is_opener(lines[i]) then return clean(lines, i, line - 1) end
    i = i - 1
  end
  return nil
end

--- The doc of a function whose definition starts on `line`, possibly inside a call that began
-- a line or two above (`C.m = api.method(C, "C:m",\n  function(self) ...)`).
function comments.doc_near(lines, line)
  for start = line, math.max(1, line - 3), -1 do
    if start < line and (lines[start]:match("^%s*$") or lines[start]:match("^%s*%-%-")) then break end
    local text = comments.doc_above(lines, start)
    if text then return text end
  end
  return nil
end

--- The block that holds `@module`: a module's own doc.
function comments.module_doc(lines)
  for i, line in ipairs(lines) do
    if line:match("^%s*%-%-%s*@module%s") then
      local first = i
      while first > 1 and lines[first - 1]:match("^%s*%-%-") and not is_opener(lines[first]) do
        first = first - 1
      end
      return clean(lines, first, i)
    end
  end
  return nil
end

-- The entries of lua/idl/_core_doc.lua, read on first use: @function name (or @type name) -> text.
local core_docs

--- comments.core_doc(key) -> the doc of a C function or type ("zeros", "matrix:norm"), or nil.
function comments.core_doc(key)
  if core_docs == nil then
    core_docs = {}
    local path = package.searchpath("idl._core_doc", package.path)
    local lines = path and comments.lines_of(path) or {}
    local first
    for i, line in ipairs(lines) do
      if is_opener(line) then first = i end
      local name = line:match("^%-%-%s*@function%s+(%S+)") or line:match("^%-%-%s*@type%s+(%S+)")
      if name and first then core_docs[name] = clean(lines, first, i) end
      if name or not line:match("^%s*%-%-") then first = nil end
    end
  end
  return core_docs[key]
end

--- The doc above the line of `lines` that assigns field `key` (`mod.key = wrap(function ...)`):
-- for a function made by a wrapper, whose own definition is elsewhere.
function comments.field_doc(lines, key)
  local k = key:gsub("%W", "%%%0")
  for i, line in ipairs(lines) do
    if line:match("^[%w_]+%." .. k .. "%s*=") then
      local text = comments.doc_above(lines, i)
      if text then return text, i end
    end
  end
  return nil
end

return comments
