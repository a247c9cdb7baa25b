-- SPDX-License-Identifier: GPL-3.0-or-later
-- The documentation: every public function has a doc comment that idl.help finds (Lua functions
-- their `---` LDoc comment, C functions their entry in lua/idl/_core_doc.lua), the C doc file
-- names only functions that exist, help shows what the source says, and LDoc builds the HTML
-- reference from the same comments (config.ld).
local idl = require "idl"
local help = require "idl.help"

local source_dir = os.getenv("IDL_SOURCE_DIR") or "."

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

local function quote(s)
  return "'" .. (tostring(s):gsub("'", [['\'']])) .. "'"
end

-- Every lazily loaded entry of idl, loaded: the public surface is complete.
local function load_everything()
  for k in pairs(getmetatable(idl).__fields) do local _ = idl[k] end
end

-- The objects whose methods are public, with a way to make one.
local OBJECTS = {
  matrix = function() return idl.zeros(1, 1) end,
  rng = function() return idl.rng(0) end,
  IDLModel = function() return idl.IDLModel{} end,
  IDLClassifier = function() return idl.IDLClassifier{} end,
  Standardizer = function() return idl.data.Standardizer() end,
  LinearRegression = function() return idl.LinearRegression{} end,
  LogisticRegression = function() return idl.LogisticRegression{} end,
  Bar = function() return idl.progress.new{enabled = false} end,
}

-- name -> function: every non-underscore field of idl and of the tables it holds (its modules,
-- idl.mpi, idl.IDLModel), and the methods of the objects above (their metatables' __index
-- chain, or __fields). Nested packages reached only by require (idl.train.loop) are not counted.
local function public_functions()
  load_everything()
  local found = {}
  local function add(name, v)
    if type(v) == "function" then found[name] = v end
  end
  -- idl and the tables it holds: its modules (idl.data, ... loaded above), idl.mpi, the classes
  local modules = {idl = idl}
  for k, v in pairs(idl) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) == "table" then modules["idl." .. k] = v end
  end
  for mname, mod in pairs(modules) do
    for k, v in pairs(mod) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" then add(mname .. "." .. k, v) end
    end
  end
  for kind, make in pairs(OBJECTS) do
    local mt = getmetatable(make())
    local t = type(mt.__index) == "table" and mt.__index or mt.__fields
    for _ = 1, 8 do
      if type(t) ~= "table" then break end
      for k, v in pairs(t) do
        if type(k) == "string" and k:sub(1, 1) ~= "_" then add(kind .. ":" .. k, v) end
      end
      local up = getmetatable(t)
      t = up and rawget(up, "__index")
    end
  end
  return found
end

describe("the documentation", function()
  it("covers every public function", function()
    local fns = public_functions()
    local missing, count = {}, 0
    for name, f in pairs(fns) do
      count = count + 1
      if not help.doc(f) then missing[#missing + 1] = name end
    end
    table.sort(missing)
    assert.is_true(count > 150, "only " .. count .. " public functions found")
    assert.are.same({}, missing, "public functions without a doc comment")
  end)

  it("documents in lua/idl/_core_doc.lua every C function of idl and nothing else", function()
    local documented = {}
    for _, line in ipairs(read_lines(source_dir .. "/lua/idl/_core_doc.lua")) do
      local name = line:match("^%-%-%s*@function%s+(%S+)")
      if name then documented[name] = true end
    end
    local matrix_methods = getmetatable(idl.zeros(1, 1)).__fields
    local rng_methods = getmetatable(idl.rng(0)).__index
    local stale = {}
    for name in pairs(documented) do
      local kind, method = name:match("^(%a+):([%w_]+)$")
      local table_name, field = name:match("^(%a+)%.([%w_]+)$")
      local f
      if kind == "matrix" then f = matrix_methods[method]
      elseif kind == "rng" then f = rng_methods[method]
      elseif table_name then f = rawget(idl, table_name) and rawget(idl, table_name)[field]
      else f = rawget(idl, name) end
      if not (type(f) == "function" and debug.getinfo(f, "S").what == "C") then stale[#stale + 1] = name end
    end
    table.sort(stale)
    assert.are.same({}, stale, "entries of _core_doc.lua that name no C function")
    local undocumented = {}
    for k, v in pairs(require "idl.core") do
      if type(v) == "function" and not documented[k] then undocumented[#undocumented + 1] = k end
      if type(v) == "table" then -- a nested table of C functions (idl.mpi)
        for j, f in pairs(v) do
          local name = k .. "." .. j
          if type(f) == "function" and not documented[name] then undocumented[#undocumented + 1] = name end
        end
      end
    end
    table.sort(undocumented)
    assert.are.same({}, undocumented, "C functions of idl.core without an entry in _core_doc.lua")
  end)

  it("help shows a C function's entry of _core_doc.lua", function()
    local text = assert(help.doc(idl.randn))
    assert.truthy(text:find("idl.randn(rows, cols, rng [, mean, sd]) -> normal draws", 1, true))
    assert.is_nil(text:find("@function", 1, true))
    local by_name = assert(help.doc("idl.randn"))
    assert.equal(text, by_name)
    assert.truthy(assert(help.doc(idl.zeros(2, 2).norm)):find("m:norm([kind])", 1, true))
    assert.truthy(assert(help.doc("matrix:norm")):find("largest singular value", 1, true))
  end)

  it("help shows a Lua function's --- comment from its source, and where it is", function()
    -- the comment above `function data.train_test_split`, read here independently
    local path = package.searchpath("idl.data", package.path)
    local lines, first = read_lines(path), nil
    for i, line in ipairs(lines) do
      if line:match("^data%.train_test_split = ") or line:match("^function data%.train_test_split") then
        first = i - 1
        while not lines[first]:match("^%-%-%-") do first = first - 1 end
        break
      end
    end
    local expected = lines[first]:gsub("^%-%-%- ", "")
    local text = assert(help.doc(idl.data.train_test_split))
    assert.truthy(text:find("^idl%.data%.train_test_split  %(idl/data%.lua:%d+%)\n"))
    assert.truthy(text:find(expected, 1, true))
  end)

  it("help shows modules, classes and objects with their functions", function()
    local module_text = assert(help.doc(idl.data))
    assert.truthy(module_text:find("^module idl%.data"))
    assert.truthy(module_text:find("idl.data.train_test_split", 1, true))
    local class_text = assert(help.doc(idl.IDLModel))
    assert.truthy(class_text:find("^class IDLModel"))
    assert.truthy(class_text:find("hidden_variables = 1", 1, true))
    assert.truthy(class_text:find("IDLModel:fit", 1, true))
    -- every parameter of the schema, with its doc line (declared once, in idl.estimator.SCHEMA)
    local schema = require("idl.estimator").SCHEMA
    for _, name in ipairs(schema.names) do
      assert.truthy(class_text:find("\n  " .. name .. " = ", 1, true), name)
      local first_word = schema:info(name).doc:match("^%S+")
      assert.truthy(class_text:find(first_word, 1, true), name)
    end
    -- a classifier inherits fit's siblings from IDLModel and lists them
    local clf_text = assert(help.doc(idl.IDLClassifier{}))
    assert.truthy(clf_text:find("IDLClassifier:predict_proba", 1, true))
    assert.truthy(clf_text:find("IDLClassifier:get_params", 1, true))
    assert.truthy(assert(help.doc(idl.rng(1))):find("rng:uniform", 1, true))
  end)

  it("help raises on what it cannot document, naming help", function()
    local ok, err = pcall(idl.help, "idl.no_such_function")
    assert.is_false(ok)
    assert.truthy(err:find("help: no such name: idl.no_such_function", 1, true))
    ok, err = pcall(idl.help, 42)
    assert.is_false(ok)
    assert.truthy(err:find("help: no documentation for 42 (a number)", 1, true))
  end)

  it("builds the HTML reference with LDoc from the same comments", function()
    local dir = os.tmpname()
    os.remove(dir)
    local log = dir .. ".log"
    os.execute("mkdir -p " .. quote(source_dir .. "/doc"))
    local topic = require("idl._doc_topics").write(source_dir .. "/doc")
    local ok = os.execute(string.format("cd %s && ldoc -d %s . > %s 2>&1", quote(source_dir), quote(dir),
      quote(log)))
    local f = assert(io.open(log))
    local out = f:read("a")
    f:close()
    os.remove(log)
    assert.is_true(ok == true, "ldoc failed (Debian package lua-ldoc, .ci/install-deps):\n" .. out)
    assert.is_nil(out:find("cannot be parsed", 1, true), out)
    local page = assert(io.open(dir .. "/modules/idl.html")):read("a")
    -- the parameter table is a topic generated from the schema: every parameter has its row
    local params_page = assert(io.open(dir .. "/topics/parameters.md.html")):read("a")
    local estimator = require "idl.estimator"
    local names = 0
    for _, name in ipairs(estimator.PARAM_NAMES) do
      names = names + 1
      assert.truthy(params_page:find(name, 1, true), name .. " is not on the parameters page")
    end
    assert.is_true(names > 5)
    assert.truthy(io.open(topic) ~= nil)
    local listing = io.popen("ls " .. quote(dir .. "/modules"))
    local pages = listing:read("a")
    listing:close()
    os.execute("rm -rf " .. quote(dir))
    assert.truthy(pages:find("idl.data.html", 1, true), pages)
    assert.is_nil(pages:find("idl._", 1, true),
      "a private module has a page (add it to config.ld's exclude):\n" .. pages)
    -- the C functions (from _core_doc.lua), the matrix methods and idl's own Lua entries
    for _, needle in ipairs({"idl.randn(rows, cols, rng", "matrix:norm", "idl.equilibrium(D, B0",
      "rng:permutation"}) do
      assert.truthy(page:find(needle, 1, true), needle .. " is not on the idl page")
    end
  end)
end)
