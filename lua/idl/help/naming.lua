--- Names for idl.help: where a value is reachable from (idl's fields, the
-- loaded idl modules, their classes, the methods of matrices and generators),
-- so that help can say what it shows.
-- @module idl.help.naming

local naming = {}

--- naming.sorted_keys(t) -> the string keys of t, sorted.
function naming.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

--- naming.is_public(key) -> true for a name that does not start with "_".
function naming.is_public(key)
  return type(key) == "string" and key:sub(1, 1) ~= "_"
end

--- The loaded idl modules, "idl" first: name -> table, and their names in order.
function naming.loaded_modules()
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

--- A class is a table that is its own __index (the idiom of every idl class).
function naming.is_class(t)
  return type(t) == "table" and rawget(t, "__index") == t
end

--- naming.name_index() -> value -> {name = "idl.data.sin", kind = "function" |
-- "method" | "module" | "class"}.
-- The first name found wins: idl's own fields, then the modules in order, then their classes
-- (as "Class:method"), and the methods of matrices and generators ("matrix:norm").
function naming.name_index()
  local idl = require "idl"
  local index = {}
  local function add(v, name, kind)
    if (type(v) == "function" or type(v) == "table") and index[v] == nil then
      index[v] = {name = name, kind = kind}
    end
  end
  local mods, names = naming.loaded_modules()
  for _, mname in ipairs(names) do add(mods[mname], mname, "module") end
  -- tables of functions that idl.core nests (idl.mpi), reachable before any require
  for _, k in ipairs(naming.sorted_keys(idl)) do
    local v = rawget(idl, k)
    if naming.is_public(k) and type(v) == "table" and getmetatable(v) == nil and mods["idl." .. k] == nil then
      mods["idl." .. k] = v
      names[#names + 1] = "idl." .. k
      add(v, "idl." .. k, "module")
    end
  end
  local classes = {}
  for _, mname in ipairs(names) do
    for _, k in ipairs(naming.sorted_keys(mods[mname])) do
      local v = rawget(mods[mname], k)
      if naming.is_public(k) and type(v) == "function" then add(v, mname .. "." .. k, "function") end
      if type(v) == "table" and naming.is_class(rawget(v, "class")) then
        classes[#classes + 1] = {k, rawget(v, "class")}
      elseif naming.is_class(v) then
        classes[#classes + 1] = {k, v}
      end
    end
  end
  for _, c in ipairs(classes) do
    add(c[2], c[1], "class")
    for _, k in ipairs(naming.sorted_keys(c[2])) do
      if naming.is_public(k) then add(rawget(c[2], k), c[1] .. ":" .. k, "method") end
    end
  end
  for kind, example in pairs({matrix = idl.zeros(0, 0), rng = idl.rng(0)}) do
    local mt = getmetatable(example)
    local methods = type(mt.__index) == "table" and mt.__index or mt.__fields
    for _, k in ipairs(naming.sorted_keys(methods)) do add(methods[k], kind .. ":" .. k, "method") end
  end
  return index
end

return naming
