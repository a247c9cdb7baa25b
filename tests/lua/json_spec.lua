-- idl.json: encoding rules, round trips, and decoding errors with positions.
local json = require "idl.json"
local idl = require "idl"

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok)
  return msg
end

-- Deep equality that also compares Lua number subtypes and treats NaN as equal to NaN.
local function same_typed(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if a ~= a then return b ~= b end
    return math.type(a) == math.type(b) and a == b and (a ~= 0 or 1 / a == 1 / b)
  end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not same_typed(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

describe("json.encode", function()
  it("writes scalars, arrays and objects with sorted keys", function()
    assert.equal("null", json.encode(json.null))
    assert.equal("true", json.encode(true))
    assert.equal("42", json.encode(42))
    assert.equal("-7", json.encode(-7))
    assert.equal("2.5", json.encode(2.5))
    assert.equal("3.0", json.encode(3.0))
    assert.equal('"hi"', json.encode("hi"))
    assert.equal("[1,2,3]", json.encode{1, 2, 3})
    assert.equal("[]", json.encode{})
    assert.equal('{"a":1,"b":[true,false],"c":{"z":"y"}}',
                 json.encode{c = {z = "y"}, b = {true, false}, a = 1})
  end)

  it("gives the same text whatever the insertion order of the keys", function()
    local a, b = {}, {}
    for i = 1, 50 do a["k" .. i] = i end
    for i = 50, 1, -1 do b["k" .. i] = i end
    assert.equal(json.encode(a), json.encode(b))
  end)

  it("writes the shortest decimal that reads back as the same double", function()
    assert.equal("0.1", json.encode(0.1))
    assert.equal("0.30000000000000004", json.encode(0.1 + 0.2))
    assert.equal("1e+300", json.encode(1e300))
    assert.equal("-0.0", json.encode(-0.0))
    local rng = idl.rng(3)
    for _ = 1, 200 do
      local x = rng:normal() * 10 ^ (rng:integer(61) - 31)
      assert.equal(x, tonumber(json.encode(x)))
    end
  end)

  it("escapes quotes, backslashes and control characters, and keeps UTF-8", function()
    assert.equal([["a\"b\\c\n\t\u0001é"]], json.encode('a"b\\c\n\t\1é'))
  end)

  it("writes NaN and infinities as null, or as NaN/Infinity with allow_nan", function()
    assert.equal("[null,null,null]", json.encode{0 / 0, math.huge, -math.huge})
    assert.equal("[NaN,Infinity,-Infinity]",
                 json.encode({0 / 0, math.huge, -math.huge}, {allow_nan = true}))
  end)

  it("encodes idl matrices as arrays of rows", function()
    local m = idl.from_table{{1, 2, 3}, {4, 5, 6}}
    assert.equal("[[1.0,2.0,3.0],[4.0,5.0,6.0]]", json.encode(m))
    assert.equal('{"v":[[0.5],[1.5]]}', json.encode{v = idl.from_table{0.5, 1.5}})
  end)

  it("indents nested containers and keeps arrays of scalars on one line", function()
    local text = json.encode({name = "sin", rmse = {0.5, 0.25}, fits = {{h = 1}, {h = 2}}}, {indent = true})
    assert.equal(table.concat({
      '{',
      '  "fits": [',
      '    {',
      '      "h": 1',
      '    },',
      '    {',
      '      "h": 2',
      '    }',
      '  ],',
      '  "name": "sin",',
      '  "rmse": [0.5, 0.25]',
      '}'}, "\n"), text)
  end)

  it("rejects what JSON cannot hold, naming where it is", function()
    assert.matches("json.encode: %$.a is a sparse array %(index 2 of 2 keys is nil%)",
                   err_of(json.encode, {a = {[1] = 1, [3] = 3}}))
    assert.matches("json.encode: the value has the key 1.5 %(number%): JSON objects need string keys",
                   err_of(json.encode, {[1.5] = 1, x = 2}))
    assert.matches("json.encode: %$.a has the key true %(boolean%)", err_of(json.encode, {a = {[true] = 1}}))
    assert.matches("json.encode: %$.f%[2%] is a function", err_of(json.encode, {f = {1, print}}))
    local t = {}
    t.self = t
    assert.matches("json.encode: %$.self refers back to an enclosing table", err_of(json.encode, t))
    assert.matches("opts.indent must be", err_of(json.encode, {}, {indent = 2}))
  end)

  it("try_encode: the text, or nil and what encode raises, without its name", function()
    assert.equal('{"a":[1,2]}', json.try_encode{a = {1, 2}})
    local text, problem = json.try_encode({f = {1, print}})
    assert.is_nil(text)
    assert.equal("$.f[2] is a function, which JSON cannot hold", problem)
    local t = {}
    t.self = t
    assert.equal("$.self refers back to an enclosing table (a cycle)", select(2, json.try_encode(t)))
    assert.matches("idl.json.try_encode: opts.indent must be", err_of(json.try_encode, {}, {indent = 2}))
  end)

  it("accepts the same table twice when it is not a cycle", function()
    local shared = {1, 2}
    assert.equal('{"a":[1,2],"b":[1,2]}', json.encode{a = shared, b = shared})
  end)
end)

describe("json.decode", function()
  it("reads scalars, arrays, objects and whitespace", function()
    assert.same({a = {1, 2, {b = "c"}}, d = true, e = false},
                json.decode(' {"a" : [1, 2, {"b": "c"}],\n\t"d": true, "e": false} '))
    assert.equal(json.null, json.decode("null"))
    assert.same({}, json.decode("[]"))
    assert.same({}, json.decode("{}"))
  end)

  it("keeps integers integers and numbers with a point or exponent floats", function()
    local t = json.decode("[3, -0, 3.0, 1e2, 1.5E-3, 12345678901234567890]")
    assert.equal("integer", math.type(t[1]))
    assert.equal("integer", math.type(t[2]))
    assert.equal("float", math.type(t[3]))
    assert.equal(100.0, t[4])
    assert.equal("float", math.type(t[4]))
    assert.equal(1.5e-3, t[5])
    assert.equal(1.2345678901234567e19, t[6])
  end)

  it("decodes escapes, including surrogate pairs", function()
    assert.equal('a"b\\/\n\t', json.decode([["a\"b\\\/\n\t"]]))
    assert.equal("é€😀", json.decode([["\u00e9\u20AC\ud83d\ude00"]]))
  end)

  it("maps null to json.null or to opts.null, and reads NaN and Infinity", function()
    local t = json.decode("[1, null, NaN, Infinity, -Infinity]")
    assert.equal(json.null, t[2])
    assert.is_true(t[3] ~= t[3])
    assert.equal(math.huge, t[4])
    assert.equal(-math.huge, t[5])
    local u = json.decode("[1, null, 3]", {null = 0 / 0})
    assert.equal(3, #u)
    assert.is_true(u[2] ~= u[2])
  end)

  it("returns nil and a message with the line and column of a syntax error", function()
    local cases = {
      {"[1, 2,", "unexpected end of text at line 1 column 7"},
      {'{"a": 1,\n  "b": 01}', "malformed number at line 2 column 8"},
      {'{"a" 1}', "expected ':' but found '1' at line 1 column 6"},
      {"[1 2]", "expected ',' or ']' but found '2' at line 1 column 4"},
      {'{"a": 1,}', "expected a string key but found '}' at line 1 column 9"},
      {"[1.]", "malformed number at line 1 column 2"},
      {"[1e]", "malformed number at line 1 column 2"},
      {'"abc', "unterminated string at line 1 column 1"},
      {'"a\\qb"', "bad escape '\\q' in string at line 1 column 3"},
      {'"a\nb"', "control character in string at line 1 column 3"},
      {"[1] x", "unexpected 'x' after the value at line 1 column 5"},
      {"nul", "unexpected 'n' at line 1 column 1"},
      {"", "unexpected end of text at line 1 column 1"},
      {string.rep("[", 2000), "nesting deeper than 1000"},
    }
    for _, case in ipairs(cases) do
      local value, msg = json.decode(case[1])
      assert.is_nil(value)
      assert.equal("idl.json.decode: ", msg:sub(1, 17))
      assert.is_truthy(msg:find(case[2], 1, true), msg .. " lacks " .. case[2])
    end
  end)

  it("raises when not given a string", function()
    assert.matches("idl.json.decode: text must be a string, got nil", err_of(json.decode, nil))
  end)
end)

describe("round trips", function()
  it("decode(encode(v)) equals v, number subtypes included", function()
    local rng = idl.rng(11)
    local values = {
      {1, 2.5, -3, 0.1, 1 / 3, 1e-310, -0.0, math.maxinteger, math.mininteger, 2 ^ 53},
      {name = "ablation", seeds = {1, 2, 3}, nested = {deep = {deeper = {"x", true, false}}}},
      {text = 'quote " backslash \\ newline \n tab \t bell \a unicode ∑ é'},
      {empty_string = "", zero = 0, zero_float = 0.0},
    }
    local random = {}
    for i = 1, 100 do random[i] = rng:normal() * 10 ^ (rng:integer(401) - 201) end
    values[#values + 1] = random
    for _, v in ipairs(values) do
      for _, opts in ipairs{{}, {indent = true}, {allow_nan = true}} do
        local back = json.decode(json.encode(v, opts))
        assert.is_true(same_typed(v, back), json.encode(v))
      end
    end
  end)

  it("keeps NaN and infinities with allow_nan", function()
    local v = {loss = {1.5, 0 / 0, math.huge, -math.huge}}
    assert.is_true(same_typed(v, json.decode(json.encode(v, {allow_nan = true}))))
  end)

  it("writes and reads files", function()
    local path = os.tmpname()
    local v = {a = {1, 2}, b = "c"}
    assert.is_true(json.write(path, v))
    assert.same(v, json.read(path))
    local f = io.open(path, "w")
    f:write("[1,\n 2,,]")
    f:close()
    local value, msg = json.read(path)
    assert.is_nil(value)
    assert.equal("idl.json.read: " .. path .. ": unexpected ',' at line 2 column 4", msg)
    os.remove(path)
    local nothing, err = json.read(path)
    assert.is_nil(nothing)
    assert.matches("^idl.json.read: ", err)
  end)
end)
