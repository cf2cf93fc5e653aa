package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// magicVars is what Ansible's groups and group_names magic variables
// hold for an inventory, as `ansible -m debug` prints them.
type magicVars struct {
	Groups     map[string][]string `json:"groups"`
	GroupNames map[string][]string `json:"group_names"`
}

// ansibleMagic runs the real ansible's debug module (which contacts no
// host) for each host's groups and group_names, or says why it cannot.
func ansibleMagic(t *testing.T, sources []string) []byte {
	t.Helper()
	bin, err := exec.LookPath("ansible")
	if err != nil {
		requireOracle(t, err)
		return nil
	}
	doc := magicVars{GroupNames: map[string][]string{}}
	for _, v := range []string{"groups", "group_names"} {
		args := []string{"all", "-o", "-m", "debug", "-a", "var=" + v}
		for _, s := range sources {
			args = append(args, "-i", s)
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = oracleDir
		cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_INVENTORY_UNPARSED_FAILED=true")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ansible %v: %v\n%s", args, err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			host, rest, ok := strings.Cut(sc.Text(), " | SUCCESS => ")
			if !ok {
				t.Fatalf("ansible printed %q", sc.Text())
			}
			var res map[string]json.RawMessage
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				t.Fatal(err)
			}
			if v == "groups" {
				if err := json.Unmarshal(res[v], &doc.Groups); err != nil {
					t.Fatal(err)
				}
				continue
			}
			var names []string
			if err := json.Unmarshal(res[v], &names); err != nil {
				t.Fatal(err)
			}
			doc.GroupNames[host] = names
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestMagicVarsMatchAnsible holds groups and group_names, which
// playbooks read through the magic variables, to ansible's on every
// oracle inventory.
func TestMagicVarsMatchAnsible(t *testing.T) {
	for _, tc := range oracleCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", tc.name+".magic.json")
			live := ansibleMagic(t, tc.sources)
			if *update && live != nil {
				if err := os.WriteFile(path, live, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if live != nil && !bytes.Equal(live, data) {
				t.Errorf("%s is stale: live ansible prints\n%s", path, live)
			}
			var want magicVars
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(oracleSources(tc.sources))
			if err != nil {
				t.Fatal(err)
			}
			got := magicVars{Groups: map[string][]string{}, GroupNames: map[string][]string{}}
			for _, g := range inv.GroupNames() {
				got.Groups[g], _ = inv.GroupHosts(g)
			}
			all, _ := inv.GroupHosts("all")
			for _, h := range all {
				got.GroupNames[h], _ = inv.HostGroups(h)
			}
			for g, hosts := range got.Groups {
				if hosts == nil {
					got.Groups[g] = []string{}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("differs from ansible\ngot:  %v\nwant: %v", got, want)
			}
		})
	}
}
