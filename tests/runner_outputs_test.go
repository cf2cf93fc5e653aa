package tests

import (
	"encoding/xml"
	"strings"
	"testing"
)

// auditPlaybook would change one file and has a check that passes and one
// that fails.
const auditPlaybook = `return {
  name = "runner lab: audit", hosts = "all",
  tasks = {
    { name = "marker file", run = function()
        file.write { path = "/etc/remedy-audit-marker", content = "audited\n", mode = "0644" }
      end },
  },
  checks = {
    { name = "sshd_config exists", severity = "high", run = function()
        expect(file.read("/etc/ssh/sshd_config") ~= nil, "no sshd_config")
      end },
    { name = "marker present", severity = "low", run = function()
        expect(file.read("/etc/remedy-audit-marker") ~= nil, "the marker file is missing")
      end },
  },
}`

type junitSuites struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func (r *remedyRunner) auditJUnit(t *testing.T) {
	pb := runnerFile(t, "audit.lua", auditPlaybook)
	hosts := r.visible()[:3]
	var names []string
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	res := r.run(t, "audit", pb, "-i", r.lab.Inventory, "-l", strings.Join(names, ","), "--known-hosts", r.lab.KnownHosts, "-o", "junit")
	if res.code != 3 {
		t.Fatalf("drift: want exit 3: %s", res)
	}
	var doc junitSuites
	if err := xml.Unmarshal([]byte(res.stdout), &doc); err != nil {
		t.Fatalf("-o junit is not XML: %v\n%s", err, res)
	}
	if len(doc.Suites) != len(hosts) {
		t.Fatalf("%d test suites, want one per host (%d)", len(doc.Suites), len(hosts))
	}
	for _, s := range doc.Suites {
		failed := map[string]bool{}
		for _, c := range s.Cases {
			failed[c.Name] = c.Failure != nil
		}
		// The would-be change and the failed check are failures; the
		// passing check is not.
		if !failed["marker file"] || !failed["check: marker present"] || failed["check: sshd_config exists"] {
			t.Errorf("suite %s: failures %v", s.Name, failed)
		}
	}
	for _, h := range hosts {
		if out, err := r.lab.Exec(t.Context(), h.Name, "test", "-e", "/etc/remedy-audit-marker"); err == nil {
			t.Errorf("%s: audit wrote the marker file (%s)", h.Name, out)
		}
	}
}
