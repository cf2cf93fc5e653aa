package main

import (
	"github.com/spf13/cobra"

	"remedy/lua"
)

func init() {
	var luaLS bool
	cmd := &cobra.Command{
		Use:   "doc [MODULE]",
		Short: "Show the Lua API playbooks can call",
		Long: `doc prints the playbook format and the list of modules, or one module's
functions with their Lua signatures ("globals" for expect, fail, log and
template). --luals prints the LuaLS definition file instead, for editors.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeOnce(lua.DocNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			if luaLS {
				lua.WriteLuaLS(cmd.OutOrStdout())
				return nil
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return badInput(lua.WriteDoc(cmd.OutOrStdout(), name))
		},
	}
	cmd.Flags().BoolVar(&luaLS, "luals", false, "print LuaLS (lua-language-server) definitions")
	rootCmd.AddCommand(cmd)
}
