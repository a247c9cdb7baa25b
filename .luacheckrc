-- luacheck configuration: Lua 5.4, snake_case, no accidental globals.
std = "lua54"
max_line_length = 110
files["tests/lua"] = {std = "+busted"}
ignore = {"212/_.*", "213/_.*"} -- unused arguments/loop variables named with a leading _
