-- make_corpus.lua: writes the seed corpora of the fuzzers (run from the
-- source directory: build/bin/idl tests/fuzz/make_corpus.lua). The seeds are
-- committed; this script says where they come from.
--   corpus/csv:   valid CSV files (header or not, ',' ';' and tab, CRLF,
--                 blank lines, exponents, nan and inf, a byte order mark, quoted
--                 names) and cut variants, and a first line mixing numbers and text;
--   corpus/model: model files written by idl's own save (meta fields of every
--                 type), and truncated, corrupted and other-version variants,
--                 CRLF and byte-order-mark copies, a NaN kappa and an infinite lambda.
local idl = require "idl"

local dir = "tests/fuzz/corpus"
local function put(path, text)
  local f = assert(io.open(dir .. "/" .. path, "wb"))
  f:write(text)
  f:close()
end
local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

-- CSV ----------------------------------------------------------------------
local csv = {
  header = "x,y,label\n1,2,3\n4.5,-6e-3,7E+2\n",
  plain = "1,2\n3,4\n5,6\n",
  semicolon = "a;b\n0.1;0.2\n",
  tabs = "u1\tu2\n1\t2\n",
  crlf = "a,b\r\n1,2\r\n3,4\r\n",
  blank_lines = "\n\n1,2\n\n  \n3,4\n",
  spaces = " 1 , 2 \n\t3,\t4\n",
  special = "a,b\nnan,inf\n-inf,-0\n1e308,4.9e-324\n",
  one_column = "7\n8\n9\n",
  ragged = "1,2\n3\n",
  not_numbers = "a,b\n1,x\n",
  header_only = "a,b,c\n",
  bom = "\239\187\191a,b\n1,2\n",
  mixed_first_line = "1,NA\n2,3\n",
  quoted_names = "\"2019\",\"a\"\"b\",c\n1,2,3\n",
}
local m = idl.randn(4, 3, idl.rng(1))
idl.write_csv(dir .. "/csv/written.csv", m, {"alpha", "beta", "gamma"})
for name, text in pairs(csv) do put("csv/" .. name .. ".csv", text) end
local written = read(dir .. "/csv/written.csv")
put("csv/written_cut.csv", written:sub(1, #written // 2))

-- Model files --------------------------------------------------------------
local rng = idl.rng(2)
local n, h, p = 2, 3, 1
local theta = {A = idl.randn(p, h, rng), B = idl.randn(p, n, rng), c = idl.randn(p, 1, rng),
  D = idl.randn(h, h, rng, 0, 0.2), E = idl.randn(h, n, rng), f = idl.randn(h, 1, rng)}
idl.project_inf_(theta.D, 0.5)
local model = idl.model.new{theta = theta, lambda = idl.full(h, 1, 0.1),
  constraint = {kind = "spectral", kappa = 0.8},
  meta = {note = "a note with spaces % and\nnewline", epochs = 12, ok = true,
    labels = {"a", "b", 3}, scale = idl.ones(1, 2)}}
model:save(dir .. "/model/model.idl")
local text = read(dir .. "/model/model.idl")
put("model/truncated_half.idl", text:sub(1, #text // 2))
put("model/no_end_line.idl", text:gsub("end %x+\n$", ""))
put("model/bad_checksum.idl", text:gsub("end %x+\n$", "end 00000000\n"))
put("model/version2.idl", (text:gsub("^IDL%-MODEL 1", "IDL-MODEL 2")))
put("model/crlf.idl", (text:gsub("\n", "\r\n")))
put("model/bom.idl", "\239\187\191" .. text)
local function resummed(body) return body .. "end " .. idl.model._checksum(body) .. "\n" end
local body = text:match("^(.*\n)end %x+\n$")
put("model/kappa_nan.idl", resummed((body:gsub("constraint spectral %S+", "constraint spectral nan"))))
put("model/lambda_inf.idl", resummed((body:gsub("(matrix lambda 3 1\n)[^\n]*", "%11e999"))))
idl.model.new{theta = theta}:save(dir .. "/model/plain.idl")
idl.model.new{theta = theta, constraint = {kind = "lmi", kappa = 0.9}, loss = "softmax_xent"}
  :save(dir .. "/model/lmi.idl")
print("corpus written to " .. dir)
