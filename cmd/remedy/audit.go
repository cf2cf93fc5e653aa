package main

import (
	"github.com/spf13/cobra"
)

func init() {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "audit PLAYBOOK",
		Short: "Say what a playbook would change, host by host, changing nothing",
		Long: `audit runs a playbook in check mode with diffs: every read happens on the
real hosts, nothing is written, and each task says what it would change.
--report writes an HTML or Markdown report for a change board.

Exit codes: 0 nothing would change and every check passed, 3 drift found
(something would change or a check failed), 2 a task could not run,
4 a host was unreachable, 5 bad command line, inventory or playbook,
99 interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.check, f.diff = true, true
			return runPlaybook(cmd.Context(), cmd.OutOrStdout(), args[0], f, true)
		},
	}
	addRunFlags(cmd, f)
	rootCmd.AddCommand(cmd)
}
