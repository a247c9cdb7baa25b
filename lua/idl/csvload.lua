--- idl.data.load_csv: a CSV file with a header, ready for the estimators.
--
--     local X, y, names = idl.data.load_csv("houses.csv", {target = "price"})
--     local X, labels = idl.data.load_csv("iris.csv", {target = "species"})  -- labels: strings
--
-- The file: a header line naming the columns, then one sample per line
-- (RFC 4180: fields may be quoted with ", a quote inside doubled, delimiters and
-- line breaks inside quotes; CRLF or LF lines; a UTF-8 byte order mark and blank
-- lines are ignored). A cell is missing when it is empty or one of the `na`
-- markers; a column is numeric when every present cell is a number, text
-- otherwise. Missing cells are reported with their line and column, or filled
-- with `impute`. A text feature column is refused with a message suggesting
-- `one_hot`, which turns it into one 0/1 column per category.
--
-- For big all-numeric files, idl.read_csv (the engine's reader) is much faster.
-- Misuse (a bad option) raises "idl.data.load_csv: ..."; a file that cannot be read or
-- does not fit returns nil and a message naming the file, line and column.
-- @module idl.csvload

local core = require "idl.core"
local api = require "idl._api"
local labels = require "idl._labels"

local csvload = {}

-- the public name (idl.data.load_csv), which messages returned as nil, message start with
local FN = "idl.data.load_csv"
local OPTIONS = {target = true, delimiter = true, na = true, impute = true, one_hot = true}
local DEFAULT_NA = {"NA", "N/A", "na", "n/a", "NaN", "nan", "NULL", "null"}
local DELIMITERS = {",", ";", "\t", "|"}

-- ---------------------------------------------------------------------------
-- Reading records

-- The quoted field starting at pos (on its opening quote): its text and the
-- position after its closing quote, or nil when the quote is never closed.
local function quoted_field(text, pos)
  local parts, q = {}, pos + 1
  while true do
    local close = text:find('"', q, true)
    if not close then return nil end
    parts[#parts + 1] = text:sub(q, close - 1)
    if text:sub(close + 1, close + 1) ~= '"' then return table.concat(parts), close + 1 end
    parts[#parts + 1] = '"'
    q = close + 2
  end
end

local function trim(field)
  -- the pattern costs more than the split: only when a blank starts or ends the field
  local b1, b2 = field:byte(1), field:byte(-1)
  if b1 == 32 or b1 == 9 or b2 == 32 or b2 == 9 then return (field:match("^%s*(.-)%s*$")) end
  return field
end

-- The record starting at pos, field by field (quotes, line breaks inside
-- quotes, CR, CRLF or LF ends): record, the position after it and the line
-- after it; or nil and a message.
local function parse_record(text, pos, line, delim, stop, path)
  local record, n = {}, #text
  while true do
    local field
    if text:sub(pos, pos) == '"' then
      local after
      field, after = quoted_field(text, pos)
      if not field then return nil, string.format("%s:%d: a quoted field is never closed", path, line) end
      local _, breaks = field:gsub("\n", "")
      line, pos = line + breaks, after
      local c = text:sub(pos, pos)
      if c ~= delim and c ~= "\n" and c ~= "\r" and c ~= "" then
        return nil, string.format("%s:%d: field %d: text after a closing quote (a quote inside a quoted "
          .. "field is written \"\")", path, line, #record + 1)
      end
    else
      local e = text:find(stop, pos) or n + 1
      field, pos = trim(text:sub(pos, e - 1)), e
    end
    record[#record + 1] = field
    local c = text:sub(pos, pos)
    if c ~= delim then
      if c == "\r" then pos = pos + 1 end
      if text:sub(pos, pos) == "\n" then pos = pos + 1 end
      return record, pos, line + 1
    end
    pos = pos + 1
  end
end

-- Splits text into records (arrays of fields) with the line each starts on.
-- A line without quotes or a lone CR is split by one pattern match (the fast
-- path of plain numeric files); others go through parse_record.
-- Returns records, lines, or nil and a message.
local function split_records(text, delim, path)
  local records, lines = {}, {}
  local pos, n, line = 1, #text, 1
  local d = delim:gsub("%p", "%%%0")
  local stop, each = "[" .. d .. "\r\n]", "([^" .. d .. "]*)" .. d
  while pos <= n do
    local eol = text:find("\n", pos, true) or n + 1
    local raw = text:sub(pos, eol - 1)
    local cr = raw:find("\r", 1, true)
    local record, first = {}, line
    if not raw:find('"', 1, true) and (cr == nil or cr == #raw) then
      for field in ((cr and raw:sub(1, -2) or raw) .. delim):gmatch(each) do
        record[#record + 1] = trim(field)
      end
      pos, line = eol + 1, line + 1
    else
      record, pos, line = parse_record(text, pos, line, delim, stop, path)
      if not record then return nil, pos end
    end
    if #record > 1 or record[1] ~= "" then
      records[#records + 1], lines[#records + 1] = record, first
    end
  end
  return records, lines
end

-- The delimiter that the first line seems to use when it is not `delim`: a
-- hint ("pass delimiter = ..."), or nil.
local function delimiter_hint(text, delim)
  local first = text:match("^[^\r\n]*")
  local best, count = nil, 0
  for _, d in ipairs(DELIMITERS) do
    local _, k = first:gsub(d:gsub("%p", "%%%0"), "")
    if d ~= delim and k > count then best, count = d, k end
  end
  local _, own = first:gsub(delim:gsub("%p", "%%%0"), "")
  if best and count > own then
    local function show(d) return d == "\t" and '"\\t"' or string.format("%q", d) end
    return string.format("the header line holds %d %s and %d %s: pass delimiter = %s", count, show(best), own,
      show(delim), show(best))
  end
end

-- ---------------------------------------------------------------------------
-- Options

local function check_na(na)
  if na == nil then return DEFAULT_NA end
  api.check(na, "table", "na")
  for i, s in ipairs(na) do
    if type(s) ~= "string" then api.fail(string.format("na[%d] must be a string, got %s", i,
      api.describe(s))) end
  end
  return na
end

local function check_opts(path, opts)
  api.check(path, "string", "path")
  opts = api.options(opts, OPTIONS, "options")
  local delim = opts.delimiter == nil and "," or api.check(opts.delimiter, "string", "delimiter")
  if #delim ~= 1 or delim:find('["\r\n]') then
    api.fail("delimiter must be one character other than a quote or a line break, got "
      .. api.describe(delim))
  end
  local impute = opts.impute
  if impute ~= nil and impute ~= "mean" and impute ~= "median" then
    api.check(impute, "number", "impute (\"mean\", \"median\" or a number)")
  end
  local one_hot = opts.one_hot
  if one_hot ~= nil and type(one_hot) ~= "boolean" then
    api.check(one_hot, "table", "one_hot (true or an array of column names)")
  end
  local t = opts.target
  if t ~= nil and type(t) ~= "string" then
    api.check(t, {"number", integer = true, min = 1}, "target (a column name or index)")
  end
  local na = {}
  for _, s in ipairs(check_na(opts.na)) do na[s] = true end
  na[""] = true
  return {delimiter = delim, impute = impute, one_hot = one_hot, target = t, na = na}
end

-- ---------------------------------------------------------------------------
-- Columns

-- A cell as a number, or nil (hexadecimal is text here: it is rarely data).
local function to_number(s)
  local v = tonumber(s)
  if v and s:find("[xX]") then return nil end
  return v
end

-- Column j of the records: its kind ("number" or "text"), its values (numbers,
-- strings, or false where missing), the lines of its missing cells, and the
-- first text cell (its line and text).
local function read_column(records, lines, j, na)
  local values, missing, first_text = {}, {}, nil
  local numbers, texts = 0, 0
  for i, r in ipairs(records) do
    local s = r[j]
    if na[s] then
      values[i] = false
      missing[#missing + 1] = lines[i]
    else
      local v = to_number(s)
      if v then
        numbers = numbers + 1
      else
        texts = texts + 1
        first_text = first_text or {line = lines[i], text = s}
      end
      values[i] = v or s
    end
  end
  return {kind = texts > 0 and "text" or "number", values = values, missing = missing,
          numbers = numbers, texts = texts, first_text = first_text}
end

-- The column index of `target` (a name or an index), or nil and a message.
local function target_index(names, target, path)
  if type(target) == "number" then
    if target > #names then
      return nil, string.format("%s: target column %d does not exist: the header has %d columns", path,
        target, #names)
    end
    return target
  end
  local found
  for j, name in ipairs(names) do
    if name == target then
      if found then
        return nil, string.format("%s: the header names two columns %q (%d and %d): give target as an index",
          path, target, found, j)
      end
      found = j
    end
  end
  if found then return found end
  local quoted = {}
  for j = 1, math.min(#names, 12) do quoted[j] = string.format("%q", names[j]) end
  return nil, string.format("%s: no column named %q; the columns are %s%s", path, target,
    table.concat(quoted, ", "), #names > 12 and ", ..." or "")
end

-- Fills the missing values of a numeric column (mean, median or a constant).
local function impute_column(col, how)
  local present = {}
  for _, v in ipairs(col.values) do
    if v then present[#present + 1] = v end
  end
  local fill = how
  if how == "mean" or how == "median" then
    if #present == 0 then return false end
    table.sort(present)
    local sum = 0
    for _, v in ipairs(present) do sum = sum + v end
    local k = #present
    fill = how == "mean" and sum / k or (present[(k + 1) // 2] + present[k // 2 + 1]) / 2
  end
  for i, v in ipairs(col.values) do
    if v == false then col.values[i] = fill end
  end
  return true
end

local function missing_message(path, cells, total)
  local shown = {}
  for i = 1, math.min(#cells, 5) do
    local c = cells[i]
    shown[i] = string.format("line %d column %d (%q)", c.line, c.column, c.name)
  end
  return string.format("%s: %d missing value%s (an empty cell or an na marker): %s%s; pass impute = "
    .. "\"mean\", \"median\" or a number to fill them", path, total, total == 1 and "" or "s",
    table.concat(shown, ", "), total > #shown and ", ..." or "")
end

local function wants_one_hot(one_hot, name)
  if one_hot == true then return true end
  if type(one_hot) ~= "table" then return false end
  for _, n in ipairs(one_hot) do
    if n == name then return true end
  end
  return false
end

local function text_message(path, col, j, name)
  local t = col.first_text
  if col.numbers > 0 then
    return string.format("%s:%d: column %d (%q) holds the text %q among %d numbers: if it marks a "
      .. "missing value, add it to na = {...}", path, t.line, j, name, t.text, col.numbers)
  end
  return string.format("%s: column %d (%q) is text (line %d: %q): a feature must be numeric; pass "
    .. "one_hot = {%q} to encode it as one 0/1 column per category, or use it as the target", path, j,
    name, t.line, t.text, name)
end

-- Appends the one-hot columns of a text column to `features` (value arrays)
-- and `names`, or returns a message for a missing cell.
local function add_one_hot(col, name, features, names, path, j, lines)
  for i, v in ipairs(col.values) do
    if v == false then
      return string.format("%s:%d: column %d (%q) is one-hot encoded and its cell is missing", path,
        lines[i], j, name)
    end
    col.values[i] = tostring(v)
  end
  local classes = labels.classes(col.values)
  for _, c in ipairs(classes) do
    local values = {}
    for i, v in ipairs(col.values) do values[i] = v == c and 1 or 0 end
    features[#features + 1], names[#names + 1] = values, name .. "=" .. c
  end
end

-- The feature columns (arrays of values) and their names, or nil and a message.
local function features_of(header, columns, skip, o, path, lines)
  local features, names, missing, total = {}, {}, {}, 0
  for j, name in ipairs(header) do
    local col = columns[j]
    if j ~= skip then
      if col.kind == "text" and not (col.numbers == 0 and wants_one_hot(o.one_hot, name)) then
        return nil, text_message(path, col, j, name)
      elseif col.kind == "text" then
        local err = add_one_hot(col, name, features, names, path, j, lines)
        if err then return nil, err end
      else
        if #col.missing > 0 and o.impute ~= nil and not impute_column(col, o.impute) then
          return nil, string.format("%s: column %d (%q) has no values to impute from", path, j, name)
        end
        for i, v in ipairs(col.values) do
          if v == false then
            total = total + 1
            if #missing < 5 then missing[#missing + 1] = {line = lines[i], column = j, name = name} end
          end
        end
        features[#features + 1], names[#names + 1] = col.values, name
      end
    end
  end
  if total > 0 then return nil, missing_message(path, missing, total) end
  return features, names
end

-- The m x k matrix whose columns are the arrays of `features`.
local function to_matrix(features, m)
  local rows = {}
  for i = 1, m do
    local row = {}
    for j, f in ipairs(features) do row[j] = f[i] end
    rows[i] = row
  end
  if #features == 0 then return core.zeros(m, 0) end
  return core.from_table(rows)
end

-- The target column as y: an m x 1 matrix, or a Lua array of strings.
local function target_of(col, name, j, path, lines)
  for i, v in ipairs(col.values) do
    if v == false then
      return nil, string.format("%s:%d: the target %q (column %d) is missing; targets are never "
        .. "imputed: remove the row or fill it", path, lines[i], name, j)
    end
  end
  if col.kind == "number" then return to_matrix({col.values}, #col.values) end
  local y = {}
  for i, v in ipairs(col.values) do y[i] = tostring(v) end
  return y
end

-- ---------------------------------------------------------------------------
-- The public function

local function read_text(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, path .. ": " .. tostring(rerr) end
  return (text:gsub("^\239\187\191", ""))
end

-- The records after the header, checked against its width; or nil and a message.
local function parse(text, o, path)
  local records, lines = split_records(text, o.delimiter, path)
  if not records then return nil, lines end
  if #records == 0 then return nil, path .. ": the file is empty (a header line is expected)" end
  local header = table.remove(records, 1)
  table.remove(lines, 1)
  local hint = delimiter_hint(text, o.delimiter)
  if #header == 1 and hint then
    return nil, string.format("%s: the header has a single column: %s", path, hint)
  end
  for i, r in ipairs(records) do
    if #r ~= #header then
      return nil, string.format("%s:%d: %d field%s, the header has %d (%s)", path, lines[i], #r,
        #r == 1 and "" or "s", #header, hint or (#r > #header and
        "a field holding the delimiter must be quoted" or
        "an empty cell is still written, as nothing between two delimiters"))
    end
  end
  if #records == 0 then return nil, path .. ": the file has a header but no data lines" end
  return header, records, lines
end

--- data.load_csv(path [, opts]) -> X, names; or with opts.target: X, y, names.
-- Reads a CSV file whose first line names the columns.
-- X is an m x n matrix (rows are samples) of the feature columns, in file
-- order, and names the array of their names. With `target` (a column name or a
-- 1-based index), that column is y: an m x 1 matrix when it is numeric, else a
-- Lua array of its m strings (class labels, e.g. for idl.IDLClassifier).
-- Options:
--   target     the column to predict (name or index); default none
--   delimiter  one character (default ","); when the field count is off, the
--              message says which delimiter the header line seems to use
--   na         the strings that mark a missing cell, besides the empty one
--              (default {"NA", "N/A", "na", "n/a", "NaN", "nan", "NULL", "null"})
--   impute     fill the missing cells of each feature column with its "mean",
--              its "median", or a number; default: report them (line, column)
--   one_hot    true (every text feature column) or an array of column names:
--              such a column becomes one 0/1 column per category, named
--              "<column>=<category>" (categories sorted)
-- @return X, y, names (or X, names without target); nil and a message naming the
--   file, line and column when the file cannot be read or does not fit
csvload.load_csv = api.public(FN, function(path, opts)
  local o = check_opts(path, opts)
  local text, err = read_text(path)
  if not text then return nil, FN .. ": cannot read " .. tostring(err) end
  local header, records, lines = parse(text, o, path)
  if not header then return nil, FN .. ": " .. records end
  local columns = {}
  for j = 1, #header do columns[j] = read_column(records, lines, j, o.na) end
  local t
  if o.target ~= nil then
    t, err = target_index(header, o.target, path)
    if not t then return nil, FN .. ": " .. err end
  end
  local features, names = features_of(header, columns, t, o, path, lines)
  if not features then return nil, FN .. ": " .. names end
  local X = to_matrix(features, #records)
  if not t then return X, names end
  local y
  y, err = target_of(columns[t], header[t], t, path, lines)
  if not y then return nil, FN .. ": " .. err end
  return X, y, names
end)

return csvload
