package template_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"remedy/lua/template"
)

var update = flag.Bool("update", false, "rewrite testdata/ansible.json from ansible-playbook")

const ansibleCaptured = "testdata/ansible.json"

// comparable are the renderCases Ansible renders too: remedy's lists
// count from 1 (a.2), Jinja's from 0, so paths with an index differ on
// purpose (docs/writing-checks.md), and so do the errors; a backslash
// would go through YAML's escapes before Jinja's.
func comparable() []string {
	index := regexp.MustCompile(`\.\d`)
	var out []string
	for _, tc := range renderCases {
		if tc.err == "" && strings.Contains(tc.tmpl, "{{") && !index.MatchString(tc.tmpl) && !strings.Contains(tc.tmpl, `\`) {
			out = append(out, tc.tmpl)
		}
	}
	return out
}

// ansibleRender renders each template with ansible-playbook's debug
// module over renderVars (it contacts no host), or says why it cannot.
func ansibleRender(t *testing.T, tmpls []string) map[string]string {
	t.Helper()
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ansible-core is required under CI (tests/install-deps.sh installs it): %v", err)
		}
		t.Logf("ansible-core not installed, checking captured output only: %v", err)
		return nil
	}
	vars, err := json.Marshal(renderVars)
	if err != nil {
		t.Fatal(err)
	}
	var pb strings.Builder
	fmt.Fprintf(&pb, "- hosts: localhost\n  gather_facts: false\n  vars: %s\n  tasks:\n", vars)
	for _, tmpl := range tmpls {
		q, _ := json.Marshal(tmpl) // a JSON string is a YAML string
		fmt.Fprintf(&pb, "    - debug:\n        msg: %s\n", q)
	}
	path := filepath.Join(t.TempDir(), "filters.yml")
	if err := os.WriteFile(path, []byte(pb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-i", "localhost,", "-c", "local", path)
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCALHOST_WARNING=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	// The default callback prints each result as a JSON object.
	results := regexp.MustCompile(`(?s)ok: \[localhost\] => (\{\n.*?\n\})\n`).FindAllSubmatch(out, -1)
	if len(results) != len(tmpls) {
		t.Fatalf("ansible-playbook printed %d results for %d templates:\n%s", len(results), len(tmpls), out)
	}
	got := map[string]string{}
	for i, m := range results {
		var res struct {
			Msg any `json:"msg"`
		}
		if err := json.Unmarshal(m[1], &res); err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		got[tmpls[i]] = fmt.Sprint(res.Msg)
	}
	return got
}

// TestFiltersAsAnsible renders every comparable case as ansible-playbook
// rendered it (captured in testdata/ansible.json, checked against a live
// ansible-playbook when it is installed). Python writes booleans True and
// False; remedy writes Lua's true and false.
func TestFiltersAsAnsible(t *testing.T) {
	tmpls := comparable()
	live := ansibleRender(t, tmpls)
	if *update && live != nil {
		b, _ := json.MarshalIndent(live, "", "  ")
		if err := os.WriteFile(ansibleCaptured, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(ansibleCaptured)
	if err != nil {
		t.Fatal(err)
	}
	var captured map[string]string
	if err := json.Unmarshal(data, &captured); err != nil {
		t.Fatal(err)
	}
	if live != nil {
		b, _ := json.MarshalIndent(live, "", "  ")
		if !bytes.Equal(append(b, '\n'), data) {
			t.Errorf("%s is stale: live ansible-playbook renders\n%s", ansibleCaptured, b)
		}
	}
	pyBool := strings.NewReplacer("True", "true", "False", "false")
	for _, tmpl := range tmpls {
		want, ok := captured[tmpl]
		if !ok {
			t.Errorf("%q: not captured (go test -update)", tmpl)
			continue
		}
		got, err := template.Render(tmpl, mapLookup(renderVars))
		if err != nil || got != pyBool.Replace(want) {
			t.Errorf("%s: remedy renders %q (%v), ansible %q", tmpl, got, err, want)
		}
	}
}
