-- busted_config_spec.lua: where the specs run. ctest runs them inside the idl
-- executable (busted --ignore-lua); bare `busted` runs them under lua5.4 with
-- the modules of ./lua and idl.core of ./build/lib (.busted).
local idl = require "idl"

describe("the specs' interpreter", function()
  it("is the idl executable under ctest, lua5.4 with build/lib's idl.core under bare busted", function()
    local exe = os.getenv("IDL_EXE")
    if exe then
      local p = io.popen("readlink -f '" .. exe .. "'")
      local real = p:read("l")
      p:close()
      assert.are.equal(real, idl.executable())
    else
      assert.matches("/lua5%.4$", idl.executable())
      local core = package.searchpath("idl.core", package.cpath)
      assert.matches("/build/lib/idl/core%.so$", core)
      assert.matches("/lua/idl/init%.lua$", package.searchpath("idl", package.path))
    end
  end)
end)
