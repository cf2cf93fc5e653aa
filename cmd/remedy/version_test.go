package main

import (
	"strings"
	"testing"
)

// --version prints what `remedy version` prints, with the version and
// commit make stamps into the binary.
func TestVersionFlag(t *testing.T) {
	defer func(v, c, root string) { version, commit, rootCmd.Version = v, c, root }(version, commit, rootCmd.Version)
	version, commit = "1.2.3", "0123456789ab"
	rootCmd.Version = versionString()
	flag, code := runRemedy(t, "--version")
	sub, _ := runRemedy(t, "version")
	if code != exitOK || !strings.HasPrefix(flag, "remedy 1.2.3 0123456789ab go") || flag != sub {
		t.Errorf("--version: exit %d, %q; version: %q", code, flag, sub)
	}
}
