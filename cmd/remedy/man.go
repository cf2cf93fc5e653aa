package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func init() {
	var dir string
	cmd := &cobra.Command{
		Use:   "man",
		Short: "Write remedy's man pages (section 1) into a directory",
		Long: `man writes a man page for remedy and for each subcommand, generated from
the same flags and help text the commands print, e.g.:

  remedy man --dir /usr/local/share/man/man1 && man remedy-audit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return badInput(fmt.Errorf("man: %w", err))
			}
			header := &doc.GenManHeader{Title: "REMEDY", Section: "1", Source: versionString()}
			if err := doc.GenManTree(rootCmd, header, dir); err != nil {
				return fmt.Errorf("man: write pages to %s: %w", dir, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "man pages written to %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "`DIR` to write the pages into")
	rootCmd.AddCommand(cmd)
}
