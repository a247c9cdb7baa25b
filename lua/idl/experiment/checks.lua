--- The argument checks the idl.experiment modules share (errors go through
-- idl._api: they name the public function called and blame its caller).
-- @module idl.experiment.checks

local api = require "idl._api"

local checks = {}

--- checks.rows(rows, what) -> rows: an array of tables (rows keyed by column name).
function checks.rows(rows, what)
  api.check(rows, "table", what)
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then api.failf("%s[%d] must be a table, got %s", what, i, api.describe(row)) end
  end
  return rows
end

--- checks.columns_rows(columns, rows): a table's columns (an array of names) and rows.
function checks.columns_rows(columns, rows)
  api.check(columns, "table", "columns")
  checks.rows(rows, "rows")
end

--- checks.titles(columns, headers) -> the titles of a printed table, one
-- string per column: headers (default the column names), strings or numbers.
function checks.titles(columns, headers)
  local given = headers ~= nil
  if given then api.check(headers, "table", "headers") end
  local source, t = headers or columns, {}
  for i in ipairs(columns) do
    local h = source[i]
    if type(h) ~= "string" and type(h) ~= "number" then
      api.failf("%s[%d] must be a string (a column title), got %s", given and "headers" or "columns", i,
        api.describe(h))
    end
    t[i] = tostring(h)
  end
  return t
end

--- checks.results(res) -> res: a results record of experiment.results.
function checks.results(res)
  api.check(res, "table", "res (a record from experiment.results)")
  api.check(res.out, "string", "res.out")
  for _, k in ipairs{"figures", "notes", "files"} do api.check(res[k], "table", "res." .. k) end
  return res
end

return checks
