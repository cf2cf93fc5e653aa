package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"remedy/runner/output"
)

func init() {
	var luaPath []string
	cmd := &cobra.Command{
		Use:   "lint PLAYBOOK...",
		Short: "Check playbooks without contacting any host",
		Long: `lint checks each playbook: Lua syntax, the shape of the table it returns
(unknown task keys, notify without a handler), globals, module functions
and module options that do not exist, what the sandbox leaves out (io.*,
os.execute, load, loadstring, dofile, loadfile, debug.*, ...) with what to
use instead, require of modules it cannot find, placeholders of a literal
template() that template() would refuse (a filter it does not know), and
task variables the
playbook neither sets nor registers (a warning: they must come from the
inventory or -e).

Exit codes: 0 no errors (warnings may be printed), 5 errors found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if errs := lintPlaybooks(cmd.OutOrStdout(), args, luaPath); errs > 0 {
				return badInput(fmt.Errorf("lint: %d error(s)", errs))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&luaPath, "lua-path", nil, "`DIR` where require finds Lua modules (repeatable)")
	rootCmd.AddCommand(cmd)
}

// lintPlaybooks prints what lint finds in each playbook and counts the
// errors; warnings are printed and not counted.
func lintPlaybooks(w io.Writer, paths, luaPath []string) int {
	errs := 0
	for _, path := range paths {
		for _, issue := range lintPlaybook(path, luaPath) {
			fmt.Fprintln(w, output.Visible(issue.String()))
			if !issue.Warning {
				errs++
			}
		}
	}
	return errs
}
