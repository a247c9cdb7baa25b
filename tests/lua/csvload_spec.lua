-- csvload_spec.lua: idl.data.load_csv (header, quotes, text labels, missing
-- cells, one-hot, delimiter hints) and train_test_split with text labels and
-- stratification. Expected values are written out by hand from the files below.
local idl = require "idl"
local data = require "idl.data"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function write(name, text)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  f:close()
  return path
end

local function rows_of(m)
  return m:totable()
end

local HOUSES = 'sqft,"city, state",rooms,price,kind\r\n'
  .. '1200,"Austin, TX",3,250000,house\r\n'
  .. '850,"Boston, MA",,410000,"condo"\r\n'
  .. '\r\n'
  .. '2000,"Austin, TX",4,NA,house\r\n'
  .. '1500,"Miami, FL",3,300000,"town ""home""\nannex"\r\n'

describe("idl.data.load_csv", function()
  local houses = write("houses.csv", HOUSES)

  it("returns X, a text target as a Lua array, and the feature names", function()
    local X, y, names = data.load_csv(houses, {target = "kind", one_hot = {"city, state"}, impute = 0})
    assert.are.same({"house", "condo", "house", 'town "home"\nannex'}, y)
    assert.are.same({"sqft", "city, state=Austin, TX", "city, state=Boston, MA", "city, state=Miami, FL",
      "rooms", "price"}, names)
    assert.are.same({
      {1200, 1, 0, 0, 3, 250000},
      {850, 0, 1, 0, 0, 410000},
      {2000, 1, 0, 0, 4, 0},
      {1500, 0, 0, 1, 3, 300000},
    }, rows_of(X))
  end)

  it("takes the target by index, numeric targets as an m x 1 matrix", function()
    local csv = write("num.csv", "a,b,y\n1,2,3\n4,5,6.5\n")
    local X, y, names = data.load_csv(csv, {target = 3})
    assert.are.same({{1, 2}, {4, 5}}, rows_of(X))
    assert.are.same({{3}, {6.5}}, rows_of(y))
    assert.are.same({"a", "b"}, names)
    local X2, names2 = data.load_csv(csv)
    assert.are.same({{1, 2, 3}, {4, 5, 6.5}}, rows_of(X2))
    assert.are.same({"a", "b", "y"}, names2)
  end)

  it("reports missing cells with their line and column, or imputes mean / median / a constant", function()
    local X, msg = data.load_csv(houses, {target = "kind", one_hot = true})
    assert.is_nil(X)
    assert.matches('2 missing values', msg, 1, true)
    assert.matches('line 3 column 3 ("rooms")', msg, 1, true)
    -- line 5: the blank line 4 counts
    assert.matches('line 5 column 4 ("price")', msg, 1, true)
    assert.matches('impute', msg, 1, true)
    local csv = write("gaps.csv", "a,b\n1,10\n,20\n5,\n6,40\n")
    -- a: present 1, 5, 6 -> mean 4, median 5; b: 10, 20, 40 -> mean 70/3, median 20
    local mean = data.load_csv(csv, {impute = "mean"})
    assert.are.same({{1, 10}, {4, 20}, {5, 70 / 3}, {6, 40}}, rows_of(mean))
    local median = data.load_csv(csv, {impute = "median"})
    assert.are.same({{1, 10}, {5, 20}, {5, 20}, {6, 40}}, rows_of(median))
    local even = data.load_csv(write("even.csv", "a\n1\n4\nNA\n2\n10\n"), {impute = "median"})
    assert.are.same({{1}, {4}, {3}, {2}, {10}}, rows_of(even)) -- median of 1, 2, 4, 10
    local const = data.load_csv(csv, {impute = -1, na = {}})
    assert.are.same({{1, 10}, {-1, 20}, {5, -1}, {6, 40}}, rows_of(const))
  end)

  it("never imputes the target", function()
    local X, msg = data.load_csv(houses, {target = "price", one_hot = true, impute = "mean"})
    assert.is_nil(X)
    assert.matches(':5: the target "price" (column 4) is missing', msg, 1, true)
  end)

  it("refuses a text feature with a one-hot suggestion, and a stray text among numbers", function()
    local X, msg = data.load_csv(houses, {target = "price"})
    assert.is_nil(X)
    assert.matches('column 2 ("city, state") is text', msg, 1, true)
    assert.matches('one_hot = {"city, state"}', msg, 1, true)
    local typo = write("typo.csv", "a,b\n1,2\n3,x7\n4,5\n")
    X, msg = data.load_csv(typo)
    assert.is_nil(X)
    assert.matches('typo.csv:3: column 2 ("b") holds the text "x7" among 2 numbers', msg, 1, true)
    local X2 = data.load_csv(typo, {na = {"x7"}, impute = 0})
    assert.are.same({{1, 2}, {3, 0}, {4, 5}}, rows_of(X2))
  end)

  it("hints at the delimiter when the field count is off", function()
    local semi = write("semi.csv", "a;b;c\n1;2;3\n")
    local X, msg = data.load_csv(semi)
    assert.is_nil(X)
    assert.matches('pass delimiter = ";"', msg, 1, true)
    assert.are.same({{1, 2, 3}}, rows_of(data.load_csv(semi, {delimiter = ";"})))
    local tabs = write("tabs.csv", "a\tb\n1\t2\n3\t4\t5\n")
    X, msg = data.load_csv(tabs, {delimiter = ","})
    assert.is_nil(X)
    assert.matches('delimiter = "\\t"', msg, 1, true)
    local short = write("short.csv", "a,b,c\n1,2,3\n4,5\n")
    X, msg = data.load_csv(short)
    assert.is_nil(X)
    assert.matches("short.csv:3: 2 fields, the header has 3", msg, 1, true)
  end)

  it("reports unreadable and malformed files", function()
    local X, msg = data.load_csv(dir .. "/none.csv")
    assert.is_nil(X)
    assert.matches("load_csv: cannot read", msg, 1, true)
    X, msg = data.load_csv(write("open.csv", 'a,b\n1,"2\n'))
    assert.is_nil(X)
    assert.matches("open.csv:2: a quoted field is never closed", msg, 1, true)
    X, msg = data.load_csv(write("after.csv", 'a,b\n1,"2"x\n'))
    assert.is_nil(X)
    assert.matches("text after a closing quote", msg, 1, true)
    X, msg = data.load_csv(write("head.csv", "a,b\n"))
    assert.is_nil(X)
    assert.matches("no data lines", msg, 1, true)
    X, msg = data.load_csv(write("bom.csv", "\239\187\191a,b\n1,2\n"), {target = "a"})
    assert.are.same({{2}}, rows_of(X))
    assert.are.same({{1}}, rows_of(msg))
  end)

  it("reads CR-only line ends, blanks around unquoted fields, quoted lines among plain ones", function()
    local cr = write("cr.csv", "a,b\r 1 ,\t2\r3,4\r")
    assert.are.same({{1, 2}, {3, 4}}, rows_of(data.load_csv(cr)))
    local mixed = write("mixed.csv", 'a,b,c\n1,2,x\n3,4," y, z "\n5 , 6,x\n')
    local X, y = data.load_csv(mixed, {target = "c"})
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, rows_of(X))
    assert.are.same({"x", " y, z ", "x"}, y)
  end)

  it("names unknown or ambiguous targets", function()
    local X, msg = data.load_csv(houses, {target = "prize"})
    assert.is_nil(X)
    assert.matches('no column named "prize"; the columns are "sqft"', msg, 1, true)
    X, msg = data.load_csv(houses, {target = 9})
    assert.is_nil(X)
    assert.matches("target column 9 does not exist: the header has 5 columns", msg, 1, true)
    X, msg = data.load_csv(write("dup.csv", "a,a\n1,2\n"), {target = "a"})
    assert.is_nil(X)
    assert.matches('two columns "a" (1 and 2)', msg, 1, true)
  end)

  it("checks its arguments, blaming the caller", function()
    assert.has_error(function() data.load_csv(42) end, "idl.data.load_csv: path must be a string, got 42")
    assert.has_error(function() data.load_csv(houses, {targt = "a"}) end,
      "idl.data.load_csv: unknown option 'targt' in options (did you mean 'target'?)")
    assert.has_error(function() data.load_csv(houses, {delimiter = ";;"}) end,
      'idl.data.load_csv: delimiter must be one character other than a quote or a line break, got ";;"')
    assert.has_error(function() data.load_csv(houses, {impute = "mode"}) end,
      'idl.data.load_csv: impute ("mean", "median" or a number) must be a number, got "mode"')
    assert.has_error(function() data.load_csv(houses, {target = 0}) end,
      "idl.data.load_csv: target (a column name or index) must be >= 1, got 0")
    local ok, err = pcall(function() data.load_csv(houses, {na = {1}}) end)
    assert.is_false(ok)
    assert.matches("csvload_spec.lua:%d+: idl%.data%.load_csv: na%[1%] must be a string, got 1", err)
  end)
end)

describe("idl.data.train_test_split with labels", function()
  local m = 12
  local X = idl.zeros(m, 1)
  for i = 1, m do X:set(i, 1, i) end
  -- rows 1..9 are "a", 10..12 are "b"
  local y = {}
  for i = 1, m do y[i] = i <= 9 and "a" or "b" end

  it("splits text labels as Lua arrays, rows and labels together", function()
    local Xtr, Xte, ytr, yte = data.train_test_split(X, y, {test_size = 4, rng = idl.rng(2)})
    assert.are.equal(8, #ytr); assert.are.equal(4, #yte)
    for _, part in ipairs{{Xtr, ytr}, {Xte, yte}} do
      for i = 1, part[1]:rows() do
        assert.are.equal(part[1]:get(i, 1) <= 9 and "a" or "b", part[2][i])
      end
    end
  end)

  it("stratifies: each class keeps its share in the test set, for every seed", function()
    for seed = 1, 20 do
      local _, Xte, _, yte = data.train_test_split(X, y, {test_size = 4, stratify = y, rng = idl.rng(seed)})
      local count = {a = 0, b = 0}
      for i, l in ipairs(yte) do
        count[l] = count[l] + 1
        assert.are.equal(Xte:get(i, 1) <= 9 and "a" or "b", l)
      end
      -- 4 * 9/12 = 3 "a", 4 * 3/12 = 1 "b"
      assert.are.same({a = 3, b = 1}, count)
    end
  end)

  it("rounds the quotas by largest remainder", function()
    -- 5 test rows of 12: "a" 3.75 -> 4, "b" 1.25 -> 1
    local _, _, _, yte = data.train_test_split(X, y, {test_size = 5, stratify = y})
    local a = 0
    for _, l in ipairs(yte) do if l == "a" then a = a + 1 end end
    assert.are.equal(4, a)
  end)

  it("without shuffle takes the last rows of each class", function()
    local _, Xte = data.train_test_split(X, nil, {test_size = 4, stratify = y, shuffle = false})
    assert.are.same({{7}, {8}, {9}, {12}}, Xte:totable())
  end)

  it("checks stratify", function()
    assert.has_error(function() data.train_test_split(X, y, {stratify = {"a"}}) end,
      "idl.data.train_test_split: stratify has 1 labels, X has 12 rows")
    assert.has_error(function() data.train_test_split(X, {"a", 1}) end,
      "idl.data.train_test_split: y[2] is 1: labels must all be numbers or all strings")
  end)
end)
