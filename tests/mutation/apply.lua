-- tests/mutation/apply.lua ROOT ID: applies the mutation ID of
-- tests/mutation/mutations.lua to the tree at ROOT, in place. Fails loudly
-- (exit status 2) when the original text is not found exactly once, so the
-- list is kept up to date as the code moves. `ID` = "--check" checks every
-- mutation without changing anything; "--list" prints "id<TAB>file<TAB>test"
-- for each mutation that the suite runs; "--documented" prints the ones that
-- are kept but not run, with the reason no reasonable test kills them.
local root, id = arg[1], arg[2]
if not root or not id then
  io.stderr:write("usage: lua5.4 tests/mutation/apply.lua ROOT ID|--check|--list\n")
  os.exit(2)
end
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local mutations = dofile(here .. "/mutations.lua")

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local t = f:read("a")
  f:close()
  return t
end

local function count(text, s)
  local n, i = 0, 1
  while true do
    local a, b = text:find(s, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

-- The mutated text of mutation mu, or nil and why not.
local function mutated(mu)
  local path = root .. "/" .. mu.file
  local text, err = read(path)
  if not text then return nil, "cannot read " .. path .. ": " .. tostring(err) end
  local n = count(text, mu.from)
  if n ~= 1 then
    return nil, string.format("%s: the original text is found %d times in %s (expected once): "
      .. "update tests/mutation/mutations.lua", mu.id, n, mu.file)
  end
  local a, b = text:find(mu.from, 1, true)
  return text:sub(1, a - 1) .. mu.to .. text:sub(b + 1), path
end

local seen, problems = {}, {}
for _, mu in ipairs(mutations) do
  if seen[mu.id] then problems[#problems + 1] = "duplicate id " .. mu.id end
  seen[mu.id] = true
  if mu.from == mu.to then problems[#problems + 1] = mu.id .. ": from and to are equal" end
  if not mu.survives and type(mu.test) ~= "string" then problems[#problems + 1] = mu.id .. ": no test" end
end

if id == "--list" then
  for _, mu in ipairs(mutations) do
    if not mu.survives then print(mu.id .. "\t" .. mu.file .. "\t" .. mu.test) end
  end
  os.exit(0)
elseif id == "--documented" then
  for _, mu in ipairs(mutations) do
    if mu.survives then print(string.format("not run (documented survivor) %s: %s", mu.id, mu.survives)) end
  end
  os.exit(0)
elseif id == "--check" then
  for _, mu in ipairs(mutations) do
    local ok, why = mutated(mu)
    if not ok then problems[#problems + 1] = why end
  end
  if #problems > 0 then
    io.stderr:write(table.concat(problems, "\n"), "\n")
    os.exit(2)
  end
  print(#mutations .. " mutations, every original text found once")
  os.exit(0)
end

if #problems > 0 then io.stderr:write(table.concat(problems, "\n"), "\n"); os.exit(2) end
for _, mu in ipairs(mutations) do
  if mu.id == id then
    local text, path = mutated(mu)
    if not text then io.stderr:write(path, "\n"); os.exit(2) end
    local f = assert(io.open(path, "wb"))
    assert(f:write(text))
    assert(f:close())
    os.exit(0)
  end
end
io.stderr:write("no mutation '" .. id .. "' in tests/mutation/mutations.lua\n")
os.exit(2)
