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

local api = require "idl._api"
local comments = require "idl.help.comments"
local naming = require "idl.help.naming"

local help = {}

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
          local vlines = comments.lines_of(vpath)
          local text = vlines and comments.doc_near(vlines, vline)
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
  if not path then return entry and comments.core_doc(core_key(entry.name)), "C" end
  local lines = comments.lines_of(path)
  local text = lines and comments.doc_near(lines, line)
  if text then return text, string.format("%s:%d", short(path), line), path end
  local wtext, wloc, wpath = wrapped_doc(f, path)
  if wtext then return wtext, wloc, wpath end
  local mname, key = (entry and entry.name or ""):match("^(idl%.[%w_]+)%.([%w_]+)$")
  local mpath = mname and package.searchpath(mname, package.path)
  local mlines = mpath and comments.lines_of(mpath)
  local found, at = nil, nil
  if mlines then found, at = comments.field_doc(mlines, key) end
  if found then return found, string.format("%s:%d", short(mpath), at), mpath end
  return nil, string.format("%s:%d", short(path), line), path
end

-- The public functions of t and of the tables its metatables' __index chain leads to (a derived
-- class inherits its base's methods): name -> function.
local function public_functions(t)
  local found, depth = {}, 0
  while type(t) == "table" and depth < 8 do
    for k, v in pairs(t) do
      if naming.is_public(k) and type(v) == "function" and found[k] == nil then found[k] = v end
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
  local names, width = naming.sorted_keys(fns), 0
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
  for _, k in ipairs(naming.sorted_keys(mod)) do
    local v = rawget(mod, k)
    local entry = type(v) == "table" and (index[v] or index[rawget(v, "class")])
    if naming.is_public(k) and entry and (entry.kind == "module" or entry.kind == "class") then
      local path = entry.kind == "module" and package.searchpath(entry.name, package.path)
      local lines = path and comments.lines_of(path)
      local summary = lines and first_line(comments.module_doc(lines))
        or "class: help(" .. prefix .. "." .. k .. ")"
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
    index = naming.name_index()
  end
  local path = package.searchpath(name, package.path)
  local lines = path and comments.lines_of(path)
  local text = lines and comments.module_doc(lines) or ""
  local fields, tables = listing(mod, name, index, "."), table_listing(mod, name, index)
  return string.format("module %s (%s)\n\n%s%s%s", name, short(path), text,
    tables ~= "" and "\n\nModules and classes:\n" .. tables or "",
    fields ~= "" and "\n\nFunctions:\n" .. fields or "")
end

-- The file that defines a class: the one of its first documented method.
local function class_file(class)
  for _, k in ipairs(naming.sorted_keys(class)) do
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
    local lines = comments.lines_of(path)
    text[#text + 1] = string.format("class %s (%s)\n\n%s", name, short(path),
      lines and comments.module_doc(lines) or "")
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
  local doc = kind and comments.core_doc(kind)
  if not doc then return nil end
  local methods = type(mt.__index) == "table" and mt.__index or mt.__fields
  return string.format("idl %s\n\n%s\n\nMethods:\n%s", kind, doc, listing(methods, kind, index, ":"))
end

-- The class of an object: its metatable, when that is a class.
local function class_of(v)
  local mt = getmetatable(v)
  if naming.is_class(mt) then return mt end
  return nil
end

local function table_text(t, index)
  local entry = index[t]
  if entry and entry.kind == "module" then return module_text(t, entry.name, index) end
  if entry and entry.kind == "class" then return class_text(t, entry.name, index) end
  local mt = getmetatable(t)
  local call = mt and rawget(mt, "__call")
  if type(rawget(t, "class")) == "table" and naming.is_class(t.class) then
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
      local text = comments.core_doc(core_key(x))
      if text then return x .. "  (C)\n\n" .. text end
      return nil, string.format("no such name: %s", x)
    end
    x = v
  end
  local index = naming.name_index()
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
help.help = api.public("idl.help", function(...)
  if select("#", ...) == 0 then
    io.stdout:write(USAGE, "\n")
    return
  end
  local text, err = help.doc((...))
  if not text then api.fail(err) end
  io.stdout:write(text, "\n")
end)

return help
