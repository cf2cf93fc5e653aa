// Package all links every module shipped with remedy: a blank import of
// it gives a program (the CLI, a test) the whole Lua API. A new module
// adds its import here.
package all

import (
	_ "remedy/lua/modules/cmd"
	_ "remedy/lua/modules/core"
	_ "remedy/lua/modules/file"
	_ "remedy/lua/modules/firewall"
	_ "remedy/lua/modules/host"
	_ "remedy/lua/modules/net"
	_ "remedy/lua/modules/service"
	_ "remedy/lua/modules/sshd"
)
