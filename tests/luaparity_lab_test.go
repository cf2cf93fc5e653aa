package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// TestLuaParityOnLab: what a playbook sees of the inventory (the magic
// variables) is what ansible-playbook sees on the same inventory, and
// an audit's verdicts never lie: a check that breaks is an error (exit 2,
// not drift), and a host the run was interrupted on is incomplete in
// every format, never compliant. On real lab hosts, through the binary.
func TestLuaParityOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 3, Profiles: []string{"none"}})
	p := &parityLab{remedyRunner: remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}}
	p.inventory = runnerFile(t, "hosts.ini", p.inventoryINI())
	t.Run("magic variables as ansible-playbook has them", p.magicVars)
	t.Run("a check that breaks is an error, exit 2", p.checkError)
	t.Run("an interrupted host is incomplete in every format", p.interrupted)
}

type parityLab struct {
	remedyRunner
	inventory string
}

// inventoryINI puts the first two hosts in web, a child of prod, and the
// third in db, each with a role; db's is set in the group's vars.
func (p *parityLab) inventoryINI() string {
	var b strings.Builder
	line := func(i int, extra string) {
		h := p.lab.Hosts[i]
		fmt.Fprintf(&b, "%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s%s\n", h.Name, h.Addr, p.lab.Key, extra)
	}
	b.WriteString("[web]\n")
	line(0, " role=front")
	line(1, " role=front")
	b.WriteString("[db]\n")
	line(2, "")
	b.WriteString("[db:vars]\nrole=store\n[prod:children]\nweb\n")
	return b.String()
}

// magicPlaybook reports, per host, what Ansible's magic variables say.
// The same line is what magicAnsible's debug task prints.
const magicPlaybook = `return { name = "magic", hosts = "all", checks = {
  { name = "magic", run = function(v)
      local db = v.groups.db[1]
      return string.format("%s in %s; all=%s; web=%s; %s is %s; check=%s",
        v.inventory_hostname, table.concat(v.group_names, ","), table.concat(v.groups.all, ","),
        template("{{ groups.web | join(',') }}"), db, v.hostvars[db].role, tostring(v.ansible_check_mode))
    end },
} }`

const magicAnsible = `- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ inventory_hostname }} in {{ group_names | join(',') }}; all={{ groups.all | join(',') }}; web={{ groups.web | join(',') }}; {{ groups.db[0] }} is {{ hostvars[groups.db[0]].role }}; check={{ ansible_check_mode | lower }}"
`

// magicVars: remedy's and ansible-playbook's lines agree host by host,
// and -l narrows the hosts run on, not what groups and hostvars show.
func (p *parityLab) magicVars(t *testing.T) {
	pb := runnerFile(t, "magic.lua", magicPlaybook)
	res := p.run(t, "audit", pb, "-i", p.inventory, "--known-hosts", p.lab.KnownHosts, "-o", "json")
	if res.code != 0 {
		t.Fatalf("audit: want exit 0: %s", res)
	}
	doc := parseRunJSON(t, res)
	ansible := ansibleDebugLines(t, p.lab, p.inventory, magicAnsible, "-C")
	for _, h := range p.lab.Hosts {
		got := doc.host(t, h.Name).msg("magic")
		if got != ansible[h.Name] {
			t.Errorf("%s: remedy says %q, ansible-playbook %q", h.Name, got, ansible[h.Name])
		}
	}
	if want := fmt.Sprintf("%s in prod,web; all=", p.lab.Hosts[0].Name); !strings.HasPrefix(ansible[p.lab.Hosts[0].Name], want) || !strings.HasSuffix(ansible[p.lab.Hosts[0].Name], "is store; check=true") {
		t.Fatalf("ansible-playbook printed %q: the inventory is not what this test means", ansible[p.lab.Hosts[0].Name])
	}
	first := p.lab.Hosts[0].Name
	res = p.run(t, "run", pb, "-i", p.inventory, "--known-hosts", p.lab.KnownHosts, "-o", "json", "-l", first)
	doc = parseRunJSON(t, res)
	ansible = ansibleDebugLines(t, p.lab, p.inventory, magicAnsible, "-l", first)
	if res.code != 0 || len(doc.Hosts) != 1 || doc.host(t, first).msg("magic") != ansible[first] || !strings.HasSuffix(ansible[first], "check=false") {
		t.Errorf("-l %s: remedy says %q, ansible-playbook %q: %s", first, doc.host(t, first).msg("magic"), ansible[first], res)
	}
}

// ansibleDebugLines runs ansible-playbook's debug task and returns the
// message it printed for each host.
func ansibleDebugLines(t *testing.T, lab *labkit.Lab, inventory, playbook string, args ...string) map[string]string {
	t.Helper()
	a := &habitsLab{remedyRunner: remedyRunner{lab: lab}}
	code, out := a.ansible(t, append([]string{"-i", inventory, runnerFile(t, "magic.yml", playbook)}, args...)...)
	if code != 0 {
		t.Fatalf("ansible-playbook: exit %d\n%s", code, out)
	}
	lines := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ok: \[([^\]]+)\] => \{\n\s+"msg": "(.*)"\n\}`).FindAllStringSubmatch(out, -1) {
		lines[m[1]] = m[2]
	}
	if len(lines) == 0 {
		t.Fatalf("ansible-playbook printed no debug message:\n%s", out)
	}
	return lines
}

// brokenPlaybook breaks on the first web host (error with a table),
// finds something on the second, and passes on the db host.
const brokenPlaybook = `return { name = "verdicts", hosts = "all", checks = {
  { name = "policy table", severity = "high", run = function(v)
      if v.inventory_hostname == v.groups.web[1] then
        error({ code = 1, why = "unparsed" })
      end
      return "read"
    end },
  { name = "no telnet", severity = "high", run = function(v)
      expect(v.inventory_hostname ~= v.groups.web[2], "telnet listens on 23")
    end },
} }`

// verdictJSON is the part of -o json that carries verdicts.
type verdictJSON struct {
	Interrupted bool `json:"interrupted"`
	Hosts       []struct {
		Name        string `json:"name"`
		Verdict     string `json:"verdict"`
		Interrupted bool   `json:"interrupted"`
		Tasks       []struct {
			Name  string `json:"name"`
			State string `json:"state"`
			Error bool   `json:"error"`
			Msg   string `json:"msg"`
		} `json:"tasks"`
	} `json:"hosts"`
}

func decodeVerdicts(t *testing.T, res runResult) verdictJSON {
	t.Helper()
	var doc verdictJSON
	if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, res)
	}
	return doc
}

// checkError: a Lua error in a check is "error" (exit 2), a finding is
// "fail", and the host whose check broke is incomplete, not compliant.
func (p *parityLab) checkError(t *testing.T) {
	pb := runnerFile(t, "verdicts.lua", brokenPlaybook)
	report := filepath.Join(t.TempDir(), "report.md")
	res := p.run(t, "audit", pb, "-i", p.inventory, "--known-hosts", p.lab.KnownHosts, "-o", "json", "--report", report)
	if res.code != 2 {
		t.Fatalf("a check that breaks: want exit 2, not 3: %s", res)
	}
	doc := decodeVerdicts(t, res)
	want := map[string][2]string{ // verdict, state of "policy table" / "no telnet"
		p.lab.Hosts[0].Name: {"incomplete", "error/pass"},
		p.lab.Hosts[1].Name: {"non-compliant", "pass/fail"},
		p.lab.Hosts[2].Name: {"compliant", "pass/pass"},
	}
	for _, h := range doc.Hosts {
		var states []string
		for _, task := range h.Tasks[1:] {
			states = append(states, task.State)
		}
		if got := [2]string{h.Verdict, strings.Join(states, "/")}; got != want[h.Name] {
			t.Errorf("%s: verdict and states %v, want %v", h.Name, got, want[h.Name])
		}
	}
	var broke struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Error bool   `json:"error"`
		Msg   string `json:"msg"`
	}
	for _, h := range doc.Hosts {
		if h.Name == p.lab.Hosts[0].Name {
			broke = h.Tasks[1]
		}
	}
	if !broke.Error || !regexp.MustCompile(`verdicts\.lua:4: \{code = 1, why = "unparsed"\}$`).MatchString(broke.Msg) {
		t.Errorf("error({code = 1, ...}): want the table and its line: %+v", broke)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1 compliant, 1 non-compliant, 0 unreachable, 1 incomplete", "| error | ", "verdicts.lua:4: {code = 1, why = \"unparsed\"}"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report: no %q in\n%s", s, md)
		}
	}
	res = p.run(t, "audit", pb, "-i", p.inventory, "--known-hosts", p.lab.KnownHosts)
	broken := regexp.MustCompile(`fatal: \[` + p.lab.Hosts[0].Name + `\]: ERROR! => \S*verdicts\.lua:4: \{code = 1`)
	finding := regexp.MustCompile(`fatal: \[` + p.lab.Hosts[1].Name + `\]: FAILED! => \S*verdicts\.lua:9: telnet listens on 23`)
	if res.code != 2 || !broken.MatchString(res.stdout) || !finding.MatchString(res.stdout) {
		t.Errorf("text: want ERROR! for the broken check, FAILED! for the finding: %s", res)
	}
}

// interrupted: a signal while every host runs a slow check leaves each
// host incomplete in JSON, JUnit, text, HTML and Markdown, and exit 99.
func (p *parityLab) interrupted(t *testing.T) {
	for i, c := range []struct {
		sig    syscall.Signal
		output string
		report string
	}{
		{syscall.SIGTERM, "json", "report.md"},
		{syscall.SIGINT, "junit", "report.html"},
		{syscall.SIGTERM, "text", ""},
	} {
		sleep := fmt.Sprintf("42.%d7", i)
		pb := runnerFile(t, "slow.lua", `return { name = "slow", hosts = "all", checks = {
  { name = "quick", run = function() return "done" end },
  { name = "slow", run = function() cmd.query({"sleep", "`+sleep+`"}) end },
} }`)
		args := []string{"audit", pb, "-i", p.inventory, "--known-hosts", p.lab.KnownHosts, "-o", c.output}
		report := ""
		if c.report != "" {
			report = filepath.Join(t.TempDir(), c.report)
			args = append(args, "--report", report)
		}
		res := p.interrupt(t, c.sig, "sleep "+sleep, args...)
		if res.code != 99 {
			t.Fatalf("%s: want exit 99: %s", c.sig, res)
		}
		var out string
		switch c.output {
		case "json":
			doc := decodeVerdicts(t, res)
			if !doc.Interrupted || len(doc.Hosts) != 3 {
				t.Fatalf("json: %s", res)
			}
			for _, h := range doc.Hosts {
				if h.Verdict != "incomplete" || !h.Interrupted {
					t.Errorf("json: %s: verdict %q interrupted %v", h.Name, h.Verdict, h.Interrupted)
				}
			}
		case "junit":
			if n := strings.Count(res.stdout, `type="interrupted"`); n != 3 || !strings.Contains(res.stdout, `errors="3"`) {
				t.Errorf("junit: want an interrupted error per host: %s", res)
			}
		case "text":
			out = res.stdout
			for _, h := range p.lab.Hosts {
				if !strings.Contains(out, "AUDIT ["+h.Name+"] incomplete") {
					t.Errorf("text: %s not incomplete: %s", h.Name, res)
				}
			}
			if !strings.Contains(out, "INCOMPLETE (interrupted while running): ") {
				t.Errorf("text: no INCOMPLETE line: %s", res)
			}
		}
		if report != "" {
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			out = string(b)
			for _, s := range []string{"interrupted while it ran on this host", "incomplete"} {
				if strings.Count(out, s) < 3 {
					t.Errorf("%s: want %q for each host:\n%s", c.report, s, out)
				}
			}
		}
		if regexp.MustCompile(`class="badge compliant"|: compliant\n|\| compliant \||\] compliant`).MatchString(out) {
			t.Errorf("an interrupted host is called compliant:\n%s", out)
		}
	}
}

// interrupt starts remedy, waits until every host runs remote, sends sig
// and returns what remedy did.
func (p *parityLab) interrupt(t *testing.T, sig syscall.Signal, remote string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := p.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForRemote(t, remote, len(p.lab.Hosts))
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	res := runFinished(t, cmd.Wait(), stdout, stderr, time.Since(start))
	waitForRemote(t, remote, 0)
	return res
}
