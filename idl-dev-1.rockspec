-- LuaRocks package of idl: `luarocks --lua-version=5.4 make` builds the C engine
-- with CMake and installs the Lua modules, idl.core, the `idl` executable and
-- libidl (with headers and idl.pc) into the tree.
rockspec_format = "3.0"
package = "idl"
version = "dev-1"
source = {
  url = "git+file://./idl",
}
description = {
  summary = "Implicit deep learning models: a C engine (BLAS/LAPACK, GSL) driven from Lua 5.4",
  detailed = [[
Implicit models yhat = A x + B u + c with x = (D x + E u + f)_+, trained by the
Fenchel-relaxed block coordinate methods or by implicit differentiation;
estimators with scikit-learn-like fit/predict/score, model selection and plots.]],
  license = "GPL-3.0-or-later",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  OPENBLAS = {library = "openblas"},
  LAPACKE = {header = "lapacke.h", library = "lapacke"},
  GSL = {header = "gsl/gsl_rng.h", library = "gsl"},
  READLINE = {header = "readline/readline.h", library = "readline"},
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    BUILD_TESTING = "OFF",
    IDL_INSTALL_CLIB = "OFF",
    IDL_INSTALL_LMOD = "$(LUADIR)",
    IDL_INSTALL_CMOD = "$(LIBDIR)",
  },
}
