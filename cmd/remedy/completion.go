package main

import (
	"github.com/spf13/cobra"

	"remedy/playbooks"
)

// Shell completion (`remedy completion bash|zsh|fish`) offers, beyond
// cobra's flags and subcommands: the built-in playbooks for run and audit
// (besides .lua files), the modules for doc, and the values of -o and
// --become-method.

// completeOnce completes the first argument from names, and nothing after.
func completeOnce(names func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return names(), cobra.ShellCompDirectiveNoFileComp
	}
}

// completePlaybook offers the built-in playbooks and, as the shell does,
// files.
func completePlaybook(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return playbooks.Names(), cobra.ShellCompDirectiveDefault
}

// completeRunFlags registers the values of the flags run and audit share
// that have a fixed set (addConnFlags registers --become-method's).
func completeRunFlags(cmd *cobra.Command) {
	cmd.ValidArgsFunction = completePlaybook
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "junit"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("report", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"html", "md"}, cobra.ShellCompDirectiveFilterFileExt
	})
}
