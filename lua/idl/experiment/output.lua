--- CSV and JSON output of the experiment scripts (re-exported by
-- idl.experiment, whose names they keep: idl.experiment.write_csv, ...).
-- Files are written atomically. A missing value is an empty CSV field and is
-- left out of a JSON row.
-- @module idl.experiment.output

local api = require "idl._api"
local json = require "idl.json"
local util = require "idl._util"
local checks = require "idl.experiment.checks"

local output = {}

--- experiment.mkdir(dir) -> dir, creating it and its parents; raises on failure.
output.mkdir = api.public("idl.experiment.mkdir", function(dir)
  api.check(dir, "string", "dir")
  if not os.execute("mkdir -p " .. util.sh_quote(dir)) then
    api.fail("cannot create the directory " .. dir)
  end
  return dir
end)

--- output.write_text(path, text): text written to path atomically
-- (util.write_file: no half files, every write checked).
function output.write_text(path, text)
  util.write_file(path, text)
end

--- output.json_text(value) -> strict JSON (NaN and infinities as null), keys
-- sorted, two-space indent, with a final newline.
function output.json_text(value)
  return json.encode(value, {indent = true}) .. "\n"
end

-- One CSV field: numbers round-trip exactly (shortest of %.15g..%.17g), NaN
-- and infinities as nan/inf/-inf, strings quoted when they need it.
local function csv_field(v)
  if v == nil or v == json.null then return "" end
  if type(v) == "number" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    if math.type(v) == "integer" then return string.format("%d", v) end
    local s
    for digits = 15, 17 do
      s = string.format("%." .. digits .. "g", v)
      if tonumber(s) == v then break end
    end
    return s
  end
  local s = tostring(v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- experiment.csv_text(columns, rows) -> the CSV text: a header line with the
-- column names, then one line per row (a table keyed by column name).
output.csv_text = api.public("idl.experiment.csv_text", function(columns, rows)
  checks.columns_rows(columns, rows)
  local lines = {}
  local head = {}
  for i, c in ipairs(columns) do head[i] = csv_field(c) end
  lines[1] = table.concat(head, ",")
  for r, row in ipairs(rows) do
    local fields = {}
    for i, c in ipairs(columns) do fields[i] = csv_field(row[c]) end
    lines[r + 1] = table.concat(fields, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end)

--- experiment.write_csv(path, columns, rows) -> path (see csv_text).
output.write_csv = api.public("idl.experiment.write_csv", function(path, columns, rows)
  api.check(path, "string", "path")
  output.write_text(path, output.csv_text(columns, rows))
  return path
end)

-- Splits one CSV line into fields (quoted fields may hold commas and "").
local function split_csv_line(line)
  local fields, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "unterminated quote" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      if i <= n and line:sub(i, i) ~= "," then return nil, "text after a closing quote" end
      i = i + 1
    else
      local c = line:find(",", i, true) or n + 1
      fields[#fields + 1] = line:sub(i, c - 1)
      i = c + 1
    end
  end
  return fields
end

--- experiment.read_csv(path) -> columns, rows, or nil and a message. Rows are
-- keyed by column name; fields that read as numbers (nan and inf included)
-- become numbers, empty fields are absent. Quoted fields may not hold newlines.
output.read_csv = api.public("idl.experiment.read_csv", function(path)
  api.check(path, "string", "path")
  local f, err = io.open(path, "rb")
  if not f then return nil, "idl.experiment.read_csv: " .. err end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, "idl.experiment.read_csv: " .. path .. ": " .. tostring(rerr) end
  if text ~= "" and text:sub(-1) ~= "\n" then text = text .. "\n" end
  local columns, rows, line_no = nil, {}, 0
  for line in text:gmatch("(.-)\n") do
    line_no = line_no + 1
    line = line:gsub("\r$", "")
    local fields, msg = split_csv_line(line)
    if not fields then
      return nil, string.format("idl.experiment.read_csv: %s:%d: %s", path, line_no, msg)
    end
    if not columns then
      columns = fields
    else
      if #fields ~= #columns then
        return nil, string.format("idl.experiment.read_csv: %s:%d: %d fields, the header has %d",
          path, line_no, #fields, #columns)
      end
      local row = {}
      for i, c in ipairs(columns) do
        local v = fields[i]
        if v ~= "" then
          local lower = v:lower()
          row[c] = tonumber(v) or (lower == "nan" and 0 / 0) or (lower == "inf" and math.huge)
            or (lower == "-inf" and -math.huge) or v
        end
      end
      rows[#rows + 1] = row
    end
  end
  if not columns then return nil, "idl.experiment.read_csv: " .. path .. " is empty" end
  return columns, rows
end)

--- experiment.write_json(path, value) -> path: strict JSON (NaN and infinities
-- as null), keys sorted, two-space indent.
output.write_json = api.public("idl.experiment.write_json", function(path, value)
  api.check(path, "string", "path")
  output.write_text(path, output.json_text(value))
  return path
end)

return output
