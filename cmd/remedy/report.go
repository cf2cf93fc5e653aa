package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"remedy/runner/merge"
	"remedy/runner/output"
	"remedy/runner/recap"
)

// mergeFlags are remedy report merge's flags.
type mergeFlags struct {
	output  string
	report  string
	partial bool
}

func init() {
	report := &cobra.Command{
		Use:   "report",
		Short: "Work with the results of runs: merge the -o json of shards",
		Args:  cobra.NoArgs,
	}
	f := &mergeFlags{}
	mergeCmd := &cobra.Command{
		Use:   "merge FILE.json...",
		Short: "Merge the -o json results of --shard runs into one recap, JSON document and report",
		Long: `merge reads the -o json documents of runs that each took a shard of one
fleet (--shard K/N) and prints the recap one run of the whole fleet would
have printed: the failures and the PLAY RECAP (-o text), one -o json
document (-o json) or JUnit XML (-o junit). --report writes the merged
report, HTML or Markdown, or the merged JSON when FILE ends in .json.

It refuses documents of another schema_version, of another playbook or
mode, a host in two documents, and two documents of the same shard, naming
the file. A shard missing from the files (a job whose pod failed, a lost
file) fails the merge with exit 5 after printing it, as the merge covers
part of the fleet and its "all ok" would not be the fleet's;
--partial takes such a merge, saying on stderr which shards it lacks.

Exit codes: those of a run over the merged hosts, so the worst shard's:
0 all ok, 2 a task failed, 3 drift found (an audit), 4 a host was
unreachable, 99 a shard was interrupted; 5 a file could not be read or
merged, or a shard is missing without --partial.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return mergeReports(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	mergeCmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text, json or junit")
	mergeCmd.Flags().BoolVar(&f.partial, "partial", false, "accept files that lack some of the N shards: the merge then covers part of the fleet")
	mergeCmd.Flags().StringVar(&f.report, "report", "", "write the merged report to `FILE`.html or FILE.md, or the merged JSON to FILE.json")
	_ = mergeCmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "junit"}, cobra.ShellCompDirectiveNoFileComp))
	_ = mergeCmd.RegisterFlagCompletionFunc("report", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"html", "md", "json"}, cobra.ShellCompDirectiveFilterFileExt
	})
	mergeCmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
	}
	report.AddCommand(mergeCmd)
	rootCmd.AddCommand(report)
}

// mergeReports is remedy report merge: read, check and merge the shards'
// documents, print the merge, write the report, and exit as a run of the
// merged hosts would.
func mergeReports(stdout, stderr io.Writer, files []string, f *mergeFlags) error {
	if f.output != "text" && f.output != "json" && f.output != "junit" {
		return badInput(fmt.Errorf("-o %q: want text, json or junit", f.output))
	}
	writeReport, err := mergedReportWriter(f.report)
	if err != nil {
		return badInput(err)
	}
	parts := make([]merge.Part, 0, len(files))
	for _, file := range files {
		r, err := readResults(file)
		if err != nil {
			return badInput(err)
		}
		parts = append(parts, merge.Part{File: file, Recap: r})
	}
	merged, missing, err := merge.Recaps(parts)
	if err != nil {
		return badInput(err)
	}
	if len(missing) > 0 && f.partial {
		fmt.Fprintf(stderr, "remedy: no file of shard %s: the merge covers part of the fleet\n", strings.Join(missing, ", "))
	}
	if err := writeMerge(stdout, merged, f, writeReport); err != nil {
		return err
	}
	if len(missing) > 0 && !f.partial {
		return badInput(fmt.Errorf("merge lacks shard %s (--partial accepts part of the fleet)", strings.Join(missing, ", ")))
	}
	return runOutcome(merged)
}

// writeMerge prints the merge in the -o format and writes --report.
func writeMerge(stdout io.Writer, merged recap.Recap, f *mergeFlags, writeReport func(io.Writer, recap.Recap) error) error {
	var err error
	switch f.output {
	case "json":
		err = output.WriteJSON(stdout, merged)
	case "junit":
		err = output.WriteJUnit(stdout, merged)
	default:
		color := false
		if file, ok := stdout.(*os.File); ok {
			color = output.TerminalTextOptions(file, 0).Color
		}
		err = output.WriteSummary(stdout, merged, color)
	}
	if err != nil {
		return err
	}
	if writeReport != nil {
		return writeFileWith(f.report, func(w io.Writer) error { return writeReport(w, merged) })
	}
	return nil
}

// readResults reads one -o json document; its errors name the file.
func readResults(file string) (recap.Recap, error) {
	fh, err := os.Open(file)
	if err != nil {
		return recap.Recap{}, err
	}
	defer fh.Close()
	r, err := output.ReadJSON(fh)
	if err != nil {
		return recap.Recap{}, fmt.Errorf("%s: %w", file, err)
	}
	return r, nil
}

// mergedReportWriter is how --report FILE is written, by its extension:
// the merged JSON document for .json, else the HTML or Markdown report.
// nil when there is no --report.
func mergedReportWriter(path string) (func(io.Writer, recap.Recap) error, error) {
	if path == "" {
		return nil, nil
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return output.WriteJSON, nil
	}
	format, err := output.ReportFormatFor(path)
	if err != nil {
		return nil, fmt.Errorf("%w, or .json", err)
	}
	return func(w io.Writer, r recap.Recap) error { return output.WriteReport(w, r, format) }, nil
}
