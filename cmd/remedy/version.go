package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are stamped at build time by make build and make
// install (go build -ldflags "-X main.version=... -X main.commit=...",
// from git describe); left empty, the build information Go embeds says.
var version, commit string

func init() {
	rootCmd.Version = versionString()
	rootCmd.SetVersionTemplate("{{.Version}}\n")
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print remedy's version and how it was built",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), versionString())
		},
	})
}

// versionString is "remedy VERSION COMMIT GO OS/ARCH": the stamped
// version and commit, else the build information Go embeds (the module
// version for `go install`, the VCS revision for a build in a checkout).
func versionString() string {
	v, revision := buildVersion()
	s := "remedy " + v
	if revision != "" {
		s += " " + revision
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// buildVersion is remedy's version and its commit, "-dirty" when built
// from a tree with changes not committed; what reports name.
func buildVersion() (string, string) {
	if version != "" {
		return version, commit
	}
	v, revision, dirty := "(devel)", "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if revision != "" {
		revision += dirty
	}
	return v, revision
}
