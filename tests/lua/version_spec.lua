-- version_spec.lua: `idl --version` (and -v) print the version that
-- CMakeLists.txt's project() declares, and exit 0 without starting the REPL.
local source = os.getenv("IDL_SOURCE_DIR") or "."
local exe = os.getenv("IDL_EXE") or "build/bin/idl"

local function declared_version()
  local f = assert(io.open(source .. "/CMakeLists.txt"))
  local text = f:read("a")
  f:close()
  return assert(text:match("project%(idl VERSION ([%d%.]+)"))
end

local function run(args)
  local p = io.popen("'" .. exe .. "' " .. args .. " </dev/null 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  return out
end

describe("idl --version", function()
  it("prints the declared version and exits 0", function()
    local expected = "idl " .. declared_version() .. " (Lua 5.4) -- implicit deep learning\nexit=0\n"
    assert.are.equal(expected, run("--version"))
    assert.are.equal(expected, run("-v"))
  end)

  it("runs the rest of the command line after it", function()
    assert.matches("^idl [%d%.]+ .-\n42\nexit=0\n$", run("--version -e 'print(42)'"))
  end)
end)
