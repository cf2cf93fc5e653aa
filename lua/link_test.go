package lua_test

// The engine's tests run playbooks that call the shipped modules, which
// import the engine: an external test package may link them in.
import _ "remedy/lua/modules/all"
