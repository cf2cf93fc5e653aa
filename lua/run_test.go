package lua

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePlaybook writes src as a playbook file in a temp dir.
func writePlaybook(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runPlaybook loads src and runs it on h, returning every result.
func runPlaybook(t *testing.T, h Host, src string, o RunOptions) ([]Result, error) {
	t.Helper()
	p, err := Load(writePlaybook(t, src), LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var got []Result
	err = p.Run(context.Background(), h, o, func(r Result) { got = append(got, r) })
	return got, err
}

func statuses(rs []Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Name+"="+string(r.Status))
	}
	return strings.Join(s, " ")
}

func TestRunMinimal(t *testing.T) {
	h := newLocalHost(t)
	got, err := runPlaybook(t, h, `return { name = "m", hosts = "all", tasks = {
		{ name = "one", run = function(v) return "hi " .. v.who end },
	}, vars = { who = "pb" } }`, RunOptions{Vars: map[string]any{"who": "inv"}})
	if err != nil {
		t.Fatal(err)
	}
	if statuses(got) != "one=ok" || got[0].Msg != "hi inv" {
		t.Fatalf("got %+v", got)
	}
}
