package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	var luaPath []string
	cmd := &cobra.Command{
		Use:   "lint PLAYBOOK...",
		Short: "Check playbooks without contacting any host",
		Long: `lint checks each playbook: Lua syntax, the shape of the table it returns
(unknown task keys, notify without a handler), globals, module functions
and module options that do not exist, and task variables the playbook neither sets nor
registers (a warning: they must come from the inventory or -e).

Exit codes: 0 no errors (warnings may be printed), 5 errors found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			errs := 0
			for _, path := range args {
				for _, issue := range lintPlaybook(path, luaPath) {
					fmt.Fprintln(cmd.OutOrStdout(), issue)
					if !issue.Warning {
						errs++
					}
				}
			}
			if errs > 0 {
				return badInput(fmt.Errorf("lint: %d error(s)", errs))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&luaPath, "lua-path", nil, "`DIR` where require finds Lua modules (repeatable)")
	rootCmd.AddCommand(cmd)
}
