--- Figures of the experiment scripts (re-exported by idl.experiment as
-- idl.experiment.figure): an idl.plot figure drawn into the run's output
-- directory and recorded, with its caption, in the results record.
-- @module idl.experiment.figures

local core = require "idl.core"
local api = require "idl._api"
local checks = require "idl.experiment.checks"

local figures = {}

--- experiment.figure(res, kind, file, caption, opts) -> the image path or nil:
-- draws idl.plot[kind](opts) into res.out/file and records {file, caption} in
-- res.figures. When gnuplot is missing or fails, the data and script are
-- still written (idl.plot's behaviour), the figure is recorded with
-- rendered = false, and the first message is kept in res.plot_message and
-- printed once to stderr.
figures.figure = api.public("idl.experiment.figure", function(res, kind, file, caption, opts)
  local plot = require "idl.plot"
  checks.results(res)
  if type(kind) ~= "string" or type(plot[kind]) ~= "function" then
    api.fail("kind must name an idl.plot function (lines, scatter, errorbars, heatmap), got "
      .. api.describe(kind))
  end
  api.check(file, "string", "file")
  api.check(caption, "string", "caption")
  api.check(opts, "table", "opts (idl.plot's options)")
  opts.path = res.out .. "/" .. file
  if opts.series ~= nil then
    -- A series with nothing to draw (e.g. no positive value on a log axis) is
    -- left out and named in the caption; with none left there is no figure.
    checks.rows(opts.series, "opts.series")
    local kept, dropped = {}, {}
    for i, s in ipairs(opts.series) do
      local n = 0
      if type(s.y) == "table" then
        n = #s.y
      elseif core.is_matrix(s.y) then
        n = s.y:rows() * s.y:cols()
      elseif s.y ~= nil then
        api.failf("opts.series[%d].y must be a table or a matrix, got %s", i, api.describe(s.y))
      end
      if n > 0 then kept[#kept + 1] = s else dropped[#dropped + 1] = tostring(s.label or "?") end
    end
    if #dropped > 0 then
      caption = caption .. " (not drawn, no values" .. (opts.logy and " > 0" or "") .. ": "
        .. table.concat(dropped, ", ") .. ")"
    end
    if #kept == 0 then
      res.figures[#res.figures + 1] = {file = file, caption = caption, rendered = false}
      res.notes[#res.notes + 1] = file .. " not drawn: no series has values to draw"
      return nil
    end
    opts.series = kept
  end
  local path, msg = plot[kind](opts)
  res.figures[#res.figures + 1] = {file = file, caption = caption, rendered = path ~= nil}
  if not path then
    res.plot_message = res.plot_message or msg
    if not res.warned then
      io.stderr:write(res.name, ": figure ", file, " not rendered: ", tostring(msg), "\n")
      res.warned = true
    end
  end
  return path
end)

return figures
