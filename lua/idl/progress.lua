--- A one-line progress display for training loops, shown only on a terminal.
--
--     local bar = progress.new{total = 200, label = "two_loops"}
--     for r = 1, 200 do ...; bar:update(r, {G = g, train = l, eval = e}) end
--     bar:finish()
--
-- The line is rewritten in place ("\r") with the round, the named figures (in
-- the order given by `fields`), the rate in rounds per second and the time
-- left. When the stream is not a terminal (a pipe, a file, a test run) or
-- `enabled` is false, nothing at all is written. Terminal detection: the
-- engine's idl.isatty(fd) when present, else the shell's `test -t fd`, run
-- once per descriptor (Lua itself cannot ask).
-- @module idl.progress

local core = require "idl.core"
local api = require "idl._api"

local progress = {}

local tty_cache = {}

--- progress.is_terminal(fd) -> true when file descriptor fd (1 stdout, 2 stderr)
-- is a terminal. IDL_PROGRESS=0 or 1 in the environment overrides the test.
progress.is_terminal = api.public("idl.progress.is_terminal", function(fd)
  fd = api.check(fd, {"number", integer = true, min = 0, max = 1 << 30}, "fd")
  local env = os.getenv("IDL_PROGRESS")
  if env == "0" then return false end
  if env == "1" then return true end
  if tty_cache[fd] == nil then
    if core.isatty then
      tty_cache[fd] = core.isatty(fd) and true or false
    else
      local ok = os.execute(string.format("test -t %d", fd))
      tty_cache[fd] = ok == true
    end
  end
  return tty_cache[fd]
end)

local Bar = {}
Bar.__index = Bar

--- progress.new{total =, label = "", enabled = true, stream = io.stderr,
-- fields = {names...}, force = false} -> a bar. force = true writes even when
-- the stream is not a terminal (for tests and logs that want the text).
progress.new = api.public("idl.progress.new", function(opts)
  opts = api.options(opts, {total = true, label = true, enabled = true, stream = true, fields = true,
    force = true}, "options")
  api.check(opts.total, {"number", integer = true, min = 0, optional = true}, "total")
  api.check(opts.label, {"string", optional = true}, "label")
  api.check(opts.fields, {"table", optional = true}, "fields")
  -- a stream is a file or any object with a write method (a test's sink)
  local st = opts.stream
  if st ~= nil and io.type(st) ~= "file" and not (type(st) == "table" and type(st.write) == "function") then
    api.fail("stream must be a file or an object with a write method, got " .. api.describe(st))
  end
  local stream = opts.stream or io.stderr
  local fd = stream == io.stdout and 1 or 2
  local on = opts.enabled ~= false and (opts.force or progress.is_terminal(fd))
  return setmetatable({total = opts.total, label = opts.label or "", on = on, stream = stream,
    fields = opts.fields, start = core.clock(), width = 0}, Bar)
end)

local function fmt(v)
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.floor(v) and math.abs(v) < 1e6 then return string.format("%d", v) end
  return string.format("%.3e", v)
end

local function duration(s)
  if s ~= s or s == math.huge then return "?" end
  if s < 60 then return string.format("%.0fs", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end

--- bar:text(round, values) -> the line bar:update would show (without "\r").
Bar.text = api.method(Bar, "idl.progress.Bar:text", function(self, round, values)
  round = api.check(round, {"number", integer = true}, "round")
  api.check(values, {"table", optional = true}, "values")
  local parts = {}
  if self.label ~= "" then parts[#parts + 1] = self.label end
  parts[#parts + 1] = self.total and string.format("%d/%d", round, self.total) or tostring(round)
  local names = self.fields
  if not names then
    names = {}
    for k in pairs(values or {}) do names[#names + 1] = k end
    table.sort(names)
  end
  for _, k in ipairs(names) do
    local v = values and values[k]
    if v ~= nil then parts[#parts + 1] = k .. " " .. fmt(v) end
  end
  local elapsed = core.clock() - self.start
  local rate = elapsed > 0 and round / elapsed or 0
  parts[#parts + 1] = string.format("%.2f r/s", rate)
  if self.total and rate > 0 then parts[#parts + 1] = "eta " .. duration((self.total - round) / rate) end
  return table.concat(parts, "  ")
end)

--- bar:update(round, values) -> bar: rewrites the line (no-op when off).
Bar.update = api.method(Bar, "idl.progress.Bar:update", function(self, round, values)
  round = api.check(round, {"number", integer = true}, "round")
  api.check(values, {"table", optional = true}, "values")
  if not self.on then return self end
  local line = self:text(round, values)
  local pad = self.width > #line and string.rep(" ", self.width - #line) or ""
  self.width = #line
  self.stream:write("\r", line, pad)
  if self.stream.flush then self.stream:flush() end
  return self
end)

--- bar:finish([message]) -> bar: ends the line (and prints message after it).
Bar.finish = api.method(Bar, "idl.progress.Bar:finish", function(self, message)
  api.check(message, {"string", optional = true}, "message")
  if not self.on then return self end
  if self.width > 0 then self.stream:write("\n") end
  if message then self.stream:write(message, "\n") end
  self.width = 0
  return self
end)

return progress
