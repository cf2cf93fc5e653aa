package firewall

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The refresh unit comes after what loads the sets at boot.
func TestRefreshUnitOrdering(t *testing.T) {
	for _, tt := range []struct {
		sys  System
		want string
	}{
		{debian, "After=network-online.target nftables.service\n"},
		{System{Backend: Firewalld, Zone: "public", Bus: true}, "After=network-online.target firewalld.service\n"},
		{System{Backend: IptablesNft, OSFamily: "debian"}, "After=network-online.target netfilter-persistent.service\n"},
	} {
		files, _ := refreshJob(tt.sys, jobUnit(alee.Name), setNames(alee.Name), []string{"inet filter rmd_api_ibmaspera_com_4"}, alee)
		if unit := files[1].Content; !strings.Contains(unit, tt.want) {
			t.Errorf("%s: the unit lacks %q:\n%s", tt.sys.Backend, tt.want, unit)
		}
	}
}

// JobPaths names every file refreshJob writes, whatever the init, under
// the job's name or its legacy one (hostNames), each once.
func TestJobPathsCoverRefreshJob(t *testing.T) {
	for _, name := range []string{alee.Name, "a-b.alee.test"} {
		for _, init := range []string{"systemd", "sysv", "none"} {
			d := alee
			d.Name, d.Init = name, init
			paths := JobPaths(d.Name)
			if len(slices.Compact(slices.Sorted(slices.Values(paths)))) != len(paths) {
				t.Errorf("JobPaths(%q) = %q: a path twice", d.Name, paths)
			}
			for _, unit := range []string{jobUnit(d.Name), legacyJobUnit(d.Name)} {
				files, _ := refreshJob(debian, unit, setNames(d.Name), []string{"inet filter rmd_api_ibmaspera_com_4"}, d)
				for _, f := range files {
					if !slices.Contains(paths, f.Path) {
						t.Errorf("init %s: refreshJob writes %s, which JobPaths(%q) = %q lacks", init, f.Path, d.Name, paths)
					}
				}
			}
		}
	}
}

// A refresh that fails (here: the name does not resolve yet, as at a
// boot whose resolver is not up) is tried again after refreshRetry
// seconds, not a period later: the real script, with getent and nft
// stand-ins on PATH.
func TestRefreshRetriesSoon(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out one retry")
	}
	dir := t.TempDir()
	tool := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// getent answers from its second call on; nft records what it loads.
	tool("getent", `n=$(cat "$0.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.n"
[ "$n" -gt 0 ] && [ "$1" = ahostsv4 ] && echo "198.18.8.3 STREAM $3"; exit 0`)
	tool("nft", `cat >> "$0.in"`)
	files, _ := refreshJob(debian, jobUnit(alee.Name), setNames(alee.Name), []string{"inet filter rmd_api_ibmaspera_com_4"}, alee)
	script := filepath.Join(dir, "refresh")
	if err := os.WriteFile(script, []byte(files[0].Content), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if took := time.Since(start); took < refreshRetry*time.Second || took > 3*refreshRetry*time.Second {
		t.Errorf("took %s, want one retry of %ds", took, refreshRetry)
	}
	loaded, err := os.ReadFile(filepath.Join(dir, "nft.in"))
	if err != nil || !strings.Contains(string(loaded), "add element inet filter rmd_api_ibmaspera_com_4 { 198.18.8.3 timeout 900s }") {
		t.Errorf("nft loaded %q (%v)", loaded, err)
	}
	if !strings.Contains(string(out), "does not resolve") {
		t.Errorf("the first try's complaint is missing: %s", out)
	}
}
