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
		Long: `doc prints the playbook format, the list of modules and of the Lua
libraries shipped with remedy (playbooks/lib: policy, aspera), or one
module's or library's functions with their Lua signatures ("globals" for
expect, fail, log and template). --luals prints the LuaLS definition file
instead, for editors.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeOnce(docNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			if luaLS {
				lua.WriteLuaLS(cmd.OutOrStdout())
				return nil
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			libs, err := lua.ReadLibDocs(loadOptions(nil).Shipped)
			if err != nil {
				return err
			}
			return badInput(lua.WriteDoc(cmd.OutOrStdout(), name, libs))
		},
	}
	cmd.Flags().BoolVar(&luaLS, "luals", false, "print LuaLS (lua-language-server) definitions")
	rootCmd.AddCommand(cmd)
}

// docNames are what remedy doc documents: the modules, then the shipped
// libraries, for completion.
func docNames() []string {
	libs, err := lua.ReadLibDocs(loadOptions(nil).Shipped)
	if err != nil {
		return lua.DocNames(nil) // the libraries are compiled in: a test holds them readable
	}
	return lua.DocNames(libs)
}
