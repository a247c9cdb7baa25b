--- Results tables of the experiment scripts: mean and standard deviation,
-- number formatting, aligned text and markdown tables (re-exported by
-- idl.experiment, whose names they keep: idl.experiment.text_table, ...).
-- A table is a list of rows keyed by column name; a missing value is shown as "-".
-- @module idl.experiment.tables

local api = require "idl._api"
local json = require "idl.json"
local checks = require "idl.experiment.checks"

local tables = {}

--- experiment.mean_std(values) -> mean, standard deviation (the sample one,
-- divided by n - 1; 0 for a single value), n. NaN values count as NaN.
tables.mean_std = api.public("idl.experiment.mean_std", function(values)
  api.check(values, "table", "values")
  local n = #values
  if n < 1 then api.fail("no values") end
  for i = 1, n do
    if type(values[i]) ~= "number" then
      api.failf("values[%d] must be a number, got %s", i, api.describe(values[i]))
    end
  end
  local sum = 0
  for i = 1, n do sum = sum + values[i] end
  local mean = sum / n
  if n == 1 then return mean, 0, 1 end
  local ss = 0
  for i = 1, n do ss = ss + (values[i] - mean) ^ 2 end
  return mean, math.sqrt(ss / (n - 1)), n
end)

--- experiment.fmt(v [, digits = 4]) -> text: numbers with `digits` significant
-- digits (integers as they are), strings as they are, nil as "-".
local DIGITS = {"number", integer = true, min = 0, max = 99, optional = true}

tables.fmt = api.public("idl.experiment.fmt", function(v, digits)
  api.check(digits, DIGITS, "digits")
  if v == nil or v == json.null then return "-" end
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  return string.format("%." .. (digits or 4) .. "g", v)
end)

--- experiment.fmt_pm(mean, std [, digits = 3]) -> "mean ± std".
tables.fmt_pm = api.public("idl.experiment.fmt_pm", function(mean, std, digits)
  api.check(digits, DIGITS, "digits")
  return tables.fmt(mean, digits or 3) .. " ± " .. tables.fmt(std, digits or 2)
end)

-- The cells of a table as text.
local function cells(columns, rows)
  local out = {}
  for r, row in ipairs(rows) do
    local line = {}
    for i, c in ipairs(columns) do line[i] = tables.fmt(row[c]) end
    out[r] = line
  end
  return out
end

-- The display width of a UTF-8 string (its number of code points).
local function width(s)
  return utf8.len(s) or #s
end

--- experiment.text_table(columns, rows [, headers]) -> an aligned plain-text
-- table (headers: the column titles, default the column names).
tables.text_table = api.public("idl.experiment.text_table", function(columns, rows, headers)
  checks.columns_rows(columns, rows)
  headers = checks.titles(columns, headers)
  local body = cells(columns, rows)
  local w = {}
  for i, h in ipairs(headers) do
    w[i] = width(h)
    for _, line in ipairs(body) do w[i] = math.max(w[i], width(line[i])) end
  end
  local function render(line)
    local parts = {}
    for i, s in ipairs(line) do parts[i] = s .. string.rep(" ", w[i] - width(s)) end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local lines = {render(headers)}
  local rule = {}
  for i = 1, #headers do rule[i] = string.rep("-", w[i]) end
  lines[2] = table.concat(rule, "  ")
  for _, line in ipairs(body) do lines[#lines + 1] = render(line) end
  return table.concat(lines, "\n") .. "\n"
end)

--- experiment.markdown_table(columns, rows [, headers]) -> a GitHub markdown
-- table (pipes in cells escaped).
tables.markdown_table = api.public("idl.experiment.markdown_table", function(columns, rows, headers)
  checks.columns_rows(columns, rows)
  headers = checks.titles(columns, headers)
  local function render(line)
    local parts = {}
    for i, s in ipairs(line) do parts[i] = (s:gsub("|", "\\|")) end
    return "| " .. table.concat(parts, " | ") .. " |"
  end
  local lines = {render(headers)}
  local rule = {}
  for i = 1, #headers do rule[i] = "---" end
  lines[2] = "|" .. table.concat(rule, "|") .. "|"
  for _, line in ipairs(cells(columns, rows)) do lines[#lines + 1] = render(line) end
  return table.concat(lines, "\n") .. "\n"
end)

return tables
