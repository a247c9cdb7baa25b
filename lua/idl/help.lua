--- idl.help: the documentation of any public function, module, class or object, in the REPL.
--
--     idl.help(idl.randn)          -- or help(idl.randn), or ?idl.randn in the idl REPL
--     idl.help "idl.data.load_csv" -- by name
--     idl.help(est)                -- an object: its class and methods
--
-- There is one documentation source, the LDoc comments that also make the HTML docs
-- (config.ld): a Lua function's `---` comment is found through debug.getinfo (its file and
-- first line) and read when asked for; the C functions' comments are in lua/idl/_core_doc.lua.
-- Nothing is loaded or read until help is called.
-- @module idl.help

local help = {}

-- ---------------------------------------------------------------------------
-- Reading doc comments

local file_lines = {} -- path -> array of lines, read once

local function lines_of(path)
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

-- The `---` comment block that ends on the line above `line`, or nil: LDoc's rule,
-- so a block separated from the definition by a blank line documents nothing.
local function doc_above(lines, line)
  local i = line - 1
  while i >= 1 and lines[i]:match("^%s*%-%-") do
    if is_opener(lines[i]) then return clean(lines, i, line - 1) end
    i = i - 1
  end
  return nil
end

-- The doc of a function whose definition starts on `line`, possibly inside a call that began
-- a line or two above (`C.m = api.method(C, "C:m",\n  function(self) ...)`).
local function doc_near(lines, line)
  for start = line, math.max(1, line - 3), -1 do
    if start < line and (lines[start]:match("^%s*$") or lines[start]:match("^%s*%-%-")) then break end
    local text = doc_above(lines, start)
    if text then return text end
  end
  return nil
end

-- The block that holds `@module`: a module's own doc.
local function module_doc(lines)
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

-- The entries of lua/idl/_core_doc.lua: @function name (or @type name) -> text.
local core_docs

local function core_doc(key)
  if core_docs == nil then
    core_docs = {}
    local path = package.searchpath("idl._core_doc", package.path)
    local lines = path and lines_of(path) or {}
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

-- ---------------------------------------------------------------------------
-- Names: where a value is reachable from, so that help can say what it shows

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

local function is_public(key)
  return type(key) == "string" and key:sub(1, 1) ~= "_"
end

-- The loaded idl modules, "idl" first: name -> table, and their names in order.
local function loaded_modules()
  local mods, names = {}, {}
  for name, mod in pairs(package.loaded) do
    if type(name) == "string" and type(mod) == "table" and (name == "idl" or name:match("^idl%.[%a][%w_]*$"))
      and name ~= "idl.core" then
      mods[name] = mod
      names[#names + 1] = name
    end
  end
  table.sort(names, function(a, b) return (a == "idl" and "" or a) < (b == "idl" and "" or b) end)
  return mods, names
end

-- A class is a table that is its own __index (the idiom of every idl class).
local function is_class(t)
  return type(t) == "table" and rawget(t, "__index") == t
end

-- value -> {name = "idl.data.sin", kind = "function" | "method" | "module" | "class"}.
-- The first name found wins: idl's own fields, then the modules in order, then their classes
-- (as "Class:method"), and the methods of matrices and generators ("matrix:norm").
local function name_index()
  local idl = require "idl"
  local index = {}
  local function add(v, name, kind)
    if (type(v) == "function" or type(v) == "table") and index[v] == nil then
      index[v] = {name = name, kind = kind}
    end
  end
  local mods, names = loaded_modules()
  for _, mname in ipairs(names) do add(mods[mname], mname, "module") end
  -- tables of functions that idl.core nests (idl.mpi), reachable before any require
  for _, k in ipairs(sorted_keys(idl)) do
    local v = rawget(idl, k)
    if is_public(k) and type(v) == "table" and getmetatable(v) == nil and mods["idl." .. k] == nil then
      mods["idl." .. k] = v
      names[#names + 1] = "idl." .. k
      add(v, "idl." .. k, "module")
    end
  end
  local classes = {}
  for _, mname in ipairs(names) do
    for _, k in ipairs(sorted_keys(mods[mname])) do
      local v = rawget(mods[mname], k)
      if is_public(k) and type(v) == "function" then add(v, mname .. "." .. k, "function") end
      if type(v) == "table" and is_class(rawget(v, "class")) then
        classes[#classes + 1] = {k, rawget(v, "class")}
      elseif is_class(v) then
        classes[#classes + 1] = {k, v}
      end
    end
  end
  for _, c in ipairs(classes) do
    add(c[2], c[1], "class")
    for _, k in ipairs(sorted_keys(c[2])) do
      if is_public(k) then add(rawget(c[2], k), c[1] .. ":" .. k, "method") end
    end
  end
  for kind, example in pairs({matrix = idl.zeros(0, 0), rng = idl.rng(0)}) do
    local mt = getmetatable(example)
    local methods = type(mt.__index) == "table" and mt.__index or mt.__fields
    for _, k in ipairs(sorted_keys(methods)) do add(methods[k], kind .. ":" .. k, "method") end
  end
  return index
end

-- ---------------------------------------------------------------------------
-- What help shows

local function first_line(text)
  return (text or ""):match("^[^\n]*")
end

local function where(f)
  local info = debug.getinfo(f, "S")
  if info.what == "C" then return nil end
  local path = info.source:sub(1, 1) == "@" and info.source:sub(2) or nil
  return path, info.linedefined
end

-- A path as shown: from the package folder on ("idl/estimator.lua").
local function short(path)
  return path and (path:match("([^/]+/[^/]+)$") or path) or "?"
end

-- The C docs are keyed as LDoc names them: "zeros", "mpi.rank", "matrix:norm", "rng:uniform".
local function core_key(name)
  return name:match("^idl%.(.+)$") or name
end

-- The doc above the line of `lines` that assigns field `key` (`mod.key = wrap(function ...)`):
-- for a function made by a wrapper, whose own definition is elsewhere.
local function field_doc(lines, key)
  local k = key:gsub("%W", "%%%0")
  for i, line in ipairs(lines) do
    if line:match("^[%w_]+%." .. k .. "%s*=") then
      local text = doc_above(lines, i)
      if text then return text, i end
    end
  end
  return nil
end

-- The doc of the function a wrapper such as api.public(name, f) wraps: among the Lua functions
-- its upvalues hold (and theirs, for a wrapper of a wrapper), the first defined in another file
-- with a doc comment. The wrapper's own helpers live beside it and are passed over.
-- Returns the text, the location shown and the file's path.
local function wrapped_doc(f, path)
  local queue, seen, head = {{f, 0}}, {[f] = true}, 1
  while queue[head] do
    local g, depth = queue[head][1], queue[head][2]
    head = head + 1
    for i = 1, 255 do
      local name, v = debug.getupvalue(g, i)
      if name == nil then break end
      if type(v) == "function" and not seen[v] then
        seen[v] = true
        local vpath, vline = where(v)
        if vpath and vpath ~= path then
          local vlines = lines_of(vpath)
          local text = vlines and doc_near(vlines, vline)
          if text then return text, string.format("%s:%d", short(vpath), vline), vpath end
        elseif vpath and depth < 3 then
          queue[#queue + 1] = {v, depth + 1}
        end
      end
    end
  end
  return nil
end

-- A function's doc and where it comes from: the comment above its definition; else, for a
-- wrapper, the wrapped function's; else the comment above the module field it is assigned to;
-- for a C function, its entry of _core_doc.lua.
local function function_doc(f, entry)
  local path, line = where(f)
  if not path then return entry and core_doc(core_key(entry.name)), "C" end
  local lines = lines_of(path)
  local text = lines and doc_near(lines, line)
  if text then return text, string.format("%s:%d", short(path), line), path end
  local wtext, wloc, wpath = wrapped_doc(f, path)
  if wtext then return wtext, wloc, wpath end
  local mname, key = (entry and entry.name or ""):match("^(idl%.[%w_]+)%.([%w_]+)$")
  local mpath = mname and package.searchpath(mname, package.path)
  local mlines = mpath and lines_of(mpath)
  local found, at = nil, nil
  if mlines then found, at = field_doc(mlines, key) end
  if found then return found, string.format("%s:%d", short(mpath), at), mpath end
  return nil, string.format("%s:%d", short(path), line), path
end

-- The public functions of t and of the tables its metatables' __index chain leads to (a derived
-- class inherits its base's methods): name -> function.
local function public_functions(t)
  local found, depth = {}, 0
  while type(t) == "table" and depth < 8 do
    for k, v in pairs(t) do
      if is_public(k) and type(v) == "function" and found[k] == nil then found[k] = v end
    end
    local mt = getmetatable(t)
    t = mt and rawget(mt, "__index")
    depth = depth + 1
  end
  return found
end

-- One line per public function of t: its name and the first line of its doc, aligned.
local function listing(t, prefix, index, separator)
  local fns = public_functions(t)
  local names, width = sorted_keys(fns), 0
  for _, k in ipairs(names) do width = math.max(width, #prefix + #separator + #k) end
  width = math.min(width, 28)
  local out = {}
  for _, k in ipairs(names) do
    local doc = function_doc(fns[k], index[fns[k]])
    local line = string.format("  %-" .. width .. "s  %s", prefix .. separator .. k, first_line(doc))
    out[#out + 1] = #line > 100 and line:sub(1, 97) .. "..." or line
  end
  return table.concat(out, "\n")
end

-- One line per public table field of a module that is itself a module or a class.
local function table_listing(mod, prefix, index)
  local out = {}
  for _, k in ipairs(sorted_keys(mod)) do
    local v = rawget(mod, k)
    local entry = type(v) == "table" and (index[v] or index[rawget(v, "class")])
    if is_public(k) and entry and (entry.kind == "module" or entry.kind == "class") then
      local path = entry.kind == "module" and package.searchpath(entry.name, package.path)
      local lines = path and lines_of(path)
      local summary = lines and first_line(module_doc(lines)) or "class: help(" .. prefix .. "." .. k .. ")"
      out[#out + 1] = string.format("  %-18s  %s", prefix .. "." .. k, summary)
    end
  end
  return table.concat(out, "\n")
end

local function module_text(mod, name, index)
  local mt = getmetatable(mod)
  local lazy = mt and rawget(mt, "__fields")
  if type(lazy) == "table" then -- idl: its lazily loaded entries are part of it
    for k in pairs(lazy) do local _ = mod[k] end
    index = name_index()
  end
  local path = package.searchpath(name, package.path)
  local lines = path and lines_of(path)
  local text = lines and module_doc(lines) or ""
  local fields, tables = listing(mod, name, index, "."), table_listing(mod, name, index)
  return string.format("module %s (%s)\n\n%s%s%s", name, short(path), text,
    tables ~= "" and "\n\nModules and classes:\n" .. tables or "",
    fields ~= "" and "\n\nFunctions:\n" .. fields or "")
end

-- The file that defines a class: the one of its first documented method.
local function class_file(class)
  for _, k in ipairs(sorted_keys(class)) do
    local doc, _, path
    if type(rawget(class, k)) == "function" then doc, _, path = function_doc(rawget(class, k)) end
    if doc and path then return path end
  end
  return nil
end

-- "head  text" with text wrapped at 100 columns under column 32 (head alone when it is longer).
local function wrap(head, text)
  local lines, line = {}, #head < 31 and head .. string.rep(" ", 31 - #head) or head
  if #head >= 31 then
    lines[1] = line
    line = string.rep(" ", 31)
  end
  for word in text:gmatch("%S+") do
    if #line + #word >= 100 and line:match("%S$") then
      lines[#lines + 1] = line
      line = string.rep(" ", 31)
    end
    line = line .. (line:match("%S$") and " " or "") .. word
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

-- The parameters of a class as declared once in its module's schema (idl.params: a SCHEMA
-- with names and info), one line each; a derived class shows its base's (IDLClassifier).
local function parameters_text(class)
  for _ = 1, 4 do
    local path = type(class) == "table" and class_file(class)
    for name, mod in pairs(package.loaded) do
      local schema = type(name) == "string" and name:match("^idl%.") and type(mod) == "table"
        and rawget(mod, "SCHEMA")
      if path and schema and type(schema.names) == "table" and package.searchpath(name, package.path) == path
        then
        local repr, out = require("idl.repl").repr, {}
        for _, pname in ipairs(schema.names) do
          local info = schema:info(pname)
          out[#out + 1] = wrap("  " .. pname .. " = " .. repr(info.default), info.doc)
        end
        return table.concat(out, "\n")
      end
    end
    local mt = type(class) == "table" and getmetatable(class)
    class = mt and rawget(mt, "__index")
  end
  return nil
end

-- The doc of the file that defines a class, its parameters, its constructor and its methods.
local function class_text(class, name, index, constructor)
  local text = {}
  local path = class_file(class)
  if path then
    local lines = lines_of(path)
    text[#text + 1] = string.format("class %s (%s)\n\n%s", name, short(path),
      lines and module_doc(lines) or "")
  end
  local params = parameters_text(class)
  if params then text[#text + 1] = "Parameters (name = default):\n" .. params end
  if constructor then
    local doc = function_doc(constructor)
    if doc then text[#text + 1] = doc end
  end
  text[#text + 1] = "Methods:\n" .. listing(class, name, index, ":")
  return table.concat(text, "\n\n")
end

local function userdata_text(v, index)
  local mt = getmetatable(v)
  local kind = mt and mt.__name and mt.__name:match("^idl%.(%a+)$")
  local doc = kind and core_doc(kind)
  if not doc then return nil end
  local methods = type(mt.__index) == "table" and mt.__index or mt.__fields
  return string.format("idl %s\n\n%s\n\nMethods:\n%s", kind, doc, listing(methods, kind, index, ":"))
end

-- The class of an object: its metatable, when that is a class.
local function class_of(v)
  local mt = getmetatable(v)
  if is_class(mt) then return mt end
  return nil
end

local function table_text(t, index)
  local entry = index[t]
  if entry and entry.kind == "module" then return module_text(t, entry.name, index) end
  if entry and entry.kind == "class" then return class_text(t, entry.name, index) end
  local mt = getmetatable(t)
  local call = mt and rawget(mt, "__call")
  if type(rawget(t, "class")) == "table" and is_class(t.class) then
    local centry = index[t.class]
    return class_text(t.class, centry and centry.name or "class", index, call)
  end
  local class = class_of(t)
  if class then
    local centry = index[class]
    return class_text(class, centry and centry.name or "object", index)
  end
  return nil
end

--- help.doc(x) -> text, or nil and a message: what idl.help prints for x (a function, a module,
-- a class, an object, or a name such as "idl.randn" or "matrix:norm"). For tests and tools.
function help.doc(x)
  if type(x) == "string" then
    local v = help.resolve(x)
    if v == nil then
      local text = core_doc(core_key(x))
      if text then return x .. "  (C)\n\n" .. text end
      return nil, string.format("no such name: %s", x)
    end
    x = v
  end
  local index = name_index()
  local entry = index[x]
  local text, err
  if type(x) == "function" then
    local doc, loc = function_doc(x, entry)
    if doc then
      text = string.format("%s  (%s)\n\n%s", entry and entry.name or "function", loc, doc)
    end
  elseif type(x) == "table" then
    text = table_text(x, index)
  elseif type(x) == "userdata" then
    text = userdata_text(x, index)
  end
  if text == nil then
    err = string.format("no documentation for %s (a %s)", entry and entry.name or tostring(x), type(x))
  end
  return text, err
end

--- help.resolve(name) -> the value a dotted name such as "idl.data.sin" or "string.format" denotes,
-- or nil. Names start from the globals; "idl" is the module even where no global holds it.
-- Lazily loaded parts of idl are loaded on the way.
function help.resolve(name)
  if type(name) ~= "string" then return nil end
  local v
  for part in name:gmatch("[^%.:]+") do
    if v == nil then
      v = rawget(_G, part)
      if v == nil and part == "idl" then v = require "idl" end
    elseif type(v) == "table" or type(v) == "userdata" then
      local ok, field = pcall(function() return v[part] end)
      v = ok and field or nil
    else
      return nil
    end
    if v == nil then return nil end
  end
  return v
end

local USAGE = [[
help(x) shows the documentation of x: a function, a module, a class or an object.
  help(idl.randn)         a function (in the idl REPL also: ?idl.randn)
  help "idl.randn"        the same, by name
  help(idl.IDLModel)      the estimator: parameters and methods
  help(idl)               every function of idl; help(idl.data) a module
Tab completes names: idl.IDL<Tab>. The HTML reference: cmake --build build --target docs.]]

--- idl.help([x]) prints the documentation of x (see help.doc) to stdout, or how to use help when
-- x is absent. Raises an error when there is nothing to show, so a typo does not pass silently.
function help.help(...)
  if select("#", ...) == 0 then
    io.stdout:write(USAGE, "\n")
    return
  end
  local text, err = help.doc((...))
  if not text then error("help: " .. err, 2) end
  io.stdout:write(text, "\n")
end

return help
