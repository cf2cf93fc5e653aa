package main

// The Lua modules playbooks call.
import _ "remedy/lua/modules/all"
