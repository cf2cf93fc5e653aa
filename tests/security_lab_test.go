package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// The security lab tests share one lab: hostile values must reach remote
// commands only as data, and secrets must never leave remedy's memory.
// They reuse the runner tests' remedyRunner (the real binary, a HOME of
// its own).
func TestSecurityOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 3, Profiles: []string{"nftables", "ufw", "iptables-legacy"}})
	s := &securityLab{remedyRunner: remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}, token: randomToken(t)}
	t.Run("the marker check sees a command that runs", s.markerControl)
	t.Run("hostile values as root", s.injectionAsRoot)
	t.Run("hostile values through sudo", s.injectionThroughSudo)
	t.Run("hostile become user", s.hostileBecomeUser)
	t.Run("hostile connection variables", s.hostileConnection)
	t.Run("canary passwords never leave remedy", s.canaryPasswords)
	t.Run("refused passwords are not repeated", s.refusedPasswords)
	t.Run("canary key passphrase never leaves remedy", s.canaryPassphrase)
}

type securityLab struct {
	remedyRunner
	token string // in every marker and canary: nothing else on the machine holds it
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// marker is the file every hostile value would create if any part of it
// ran as a command, on a host or on the controller.
func (s *securityLab) marker() string { return "/tmp/remedy-pwned-" + s.token }

// hostileValues are the shapes of input that break naive command building.
// Each would create the marker if it reached a shell as code.
func (s *securityLab) hostileValues() []string {
	m := s.marker()
	return []string{
		"$(touch " + m + ")",
		"`touch " + m + "`",
		"x'; touch " + m + "; echo '",
		`x"; touch ` + m + `; echo "`,
		"x\ntouch " + m + "\n",
		"; touch " + m,
		"| touch " + m,
		"&& touch " + m,
		"-oProxyCommand=touch " + m,
		"--version; touch " + m,
		"$(id>" + m + ")",
		strings.Repeat("A", 60000) + "$(touch " + m + ")" + strings.Repeat("B", 60000),
	}
}

// injectionPlaybook passes every hostile value through each module
// argument that ends up on a remote command line, in a file, or in a
// firewall rule; value i comes from the inventory, -e or the playbook
// itself in turn, and the "sources" task takes every value from every
// source. Each call is protected: a task returns, as JSON, what each call
// made of each value.
const injectionPlaybook = `local literals = { %s }
local function from(v, source, i)
  if source == 0 then return { "inventory " .. i, v["inv_" .. i] } end
  if source == 1 then return { "-e " .. i, v["e_" .. i] } end
  return { "playbook " .. i, literals[i] }
end
local function values(v, every)
  local out = { { "-e k=v", v.e_kv } }
  for i = 1, #literals do
    for source = 0, 2 do
      if every or source == i %% 3 then out[#out+1] = from(v, source, i) end
    end
  end
  return out
end
local calls = {
  sources = function(x) return cmd.query({ "printf", "%%s", x }).stdout end,
  printf = function(x) return cmd.query({ "printf", "%%s", x }).stdout end,
  argv0 = function(x) return cmd.query({ x }, { ok_rc = { 0, 1, 2, 126, 127 } }).stdout end,
  stdin = function(x) return cmd.query({ "cat" }, { stdin = x }).stdout end,
  creates = function(x) cmd.run({ "true" }, { creates = x }) return "" end,
  content = function(x)
    file.write { path = "/etc/remedy-sec/content", content = x, mode = "0600" }
    return file.read("/etc/remedy-sec/content")
  end,
  template = function(x) return template("{{ x }}", { x = x }) end,
  path = function(x) file.write { path = "/etc/remedy-sec/" .. x, content = "data\n" } return "" end,
  mode = function(x) file.write { path = "/etc/remedy-sec/mode", content = "data\n", mode = x } return "" end,
  owner = function(x) file.write { path = "/etc/remedy-sec/owner", content = "data\n", owner = x } return "" end,
  validate = function(x)
    file.write { path = "/etc/remedy-sec/validated", content = "data\n", validate = { "grep", "-qF", "--", x, "%%s" } }
    return ""
  end,
  line = function(x) file.line { path = "/etc/remedy-sec/lines", line = x, create = true } return "" end,
  regexp = function(x) file.line { path = "/etc/remedy-sec/lines", regexp = x, state = "absent" } return "" end,
  resolve = function(x) return json.encode(net.resolve(x)) end,
  reach = function(x) return json.encode(net.reach { host = x, port = 22, timeout = 1 }) end,
  reload = function(x) service.reload { name = x } return "" end,
  pidfile = function(x) service.reload { name = "remedy-sec", pidfile = x } return "" end,
  fw_comment = function(x)
    firewall.allow { dir = "in", proto = "tcp", port = 33099, comment = x }
    firewall.remove { comment = x }
    return ""
  end,
  fw_src = function(x) firewall.allow { dir = "in", proto = "tcp", port = 33098, src = x } return "" end,
  fw_port = function(x) firewall.allow { dir = "in", proto = "tcp", port = x } return "" end,
  fw_proto = function(x) return json.encode(firewall.verdict { dir = "in", proto = x, port = 22 }) end,
  fw_domain = function(x) firewall.allow_domain { domain = x } return "" end,
  sshd_to = function(x) sshd.move_port { to = x } return "" end,
}
local names = {}
for name in pairs(calls) do names[#names+1] = name end
table.sort(names)
local tasks = { { name = "prepare", tags = { "prepare" }, run = function() cmd.run({ "mkdir", "-p", "/etc/remedy-sec" }) end } }
for _, name in ipairs(names) do
  tasks[#tasks+1] = { name = name, tags = { name }, run = function(v)
    local results = {}
    for _, sv in ipairs(values(v, name == "sources")) do
      local ok, got = pcall(calls[name], sv[2])
      results[#results+1] = { source = sv[1], value = sv[2], ok = ok, got = tostring(got) }
    end
    return json.encode(results)
  end }
end
return { name = "security: hostile values", hosts = "all", tasks = tasks }
`

// injectionCall is one module call's outcome, as the playbook reports it.
type injectionCall struct {
	Source, Value, Got string
	OK                 bool
}

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`
}

// injectionFiles writes the playbook, a JSON (so YAML) inventory whose
// hosts carry the hostile values as inv_N, and an -e file with them as e_N.
func (s *securityLab) injectionFiles(t *testing.T, user string, become bool) (pb, inv, extra string) {
	t.Helper()
	values := s.hostileValues()
	lits := make([]string, len(values))
	vars := map[string]any{}
	evars := map[string]any{}
	for i, v := range values {
		lits[i] = luaString(v)
		vars[fmt.Sprintf("inv_%d", i+1)] = v
		evars[fmt.Sprintf("e_%d", i+1)] = v
	}
	vars["ansible_user"], vars["ansible_ssh_private_key_file"] = user, s.lab.Key
	if become {
		vars["ansible_become_password"] = s.lab.OpsPassword
	}
	hosts := map[string]any{}
	for _, h := range s.visible() {
		hosts[h.Name] = map[string]any{"ansible_host": h.Addr}
	}
	doc := map[string]any{"all": map[string]any{"vars": vars, "hosts": hosts}}
	pb = runnerFile(t, "hostile.lua", fmt.Sprintf(injectionPlaybook, strings.Join(lits, ", ")))
	return pb, runnerFile(t, "hostile.json", mustJSON(t, doc)), "@" + runnerFile(t, "extra.json", mustJSON(t, evars))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// injectionAsRoot runs on a host of each profile, for the firewall
// commands each builds.
func (s *securityLab) injectionAsRoot(t *testing.T) {
	s.injection(t, "root", false, s.visible())
}

// injectionThroughSudo runs on one host, and only the calls that run a
// command or write a file themselves: sudo changes how those reach the
// host, not how a module builds its argv.
func (s *securityLab) injectionThroughSudo(t *testing.T) {
	s.injection(t, s.lab.OpsUser, true, s.visible()[:1],
		"--tags", "prepare,sources,printf,argv0,stdin,creates,content,path,owner,validate,line,pidfile")
}

func (s *securityLab) injection(t *testing.T, user string, become bool, hosts []labkit.Host, extraArgs ...string) {
	pb, inv, extra := s.injectionFiles(t, user, become)
	var names []string
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	args := []string{"run", pb, "-i", inv, "-l", strings.Join(names, ","), "--known-hosts", s.lab.KnownHosts, "-e", extra,
		"-e", "e_kv=$(id>" + s.marker() + ")", "-o", "json", "--command-timeout", "30s"}
	if become {
		args = append(args, "-b")
	}
	res := s.run(t, append(args, extraArgs...)...)
	s.assertNoMarker(t)
	if res.code != 0 {
		t.Fatalf("want exit 0 (every call is protected): %s", res)
	}
	doc := parseRunJSON(t, res)
	t.Logf("%d hosts, %d module calls each: %v", len(hosts), callCount(doc), res.took.Round(time.Second))
	for _, lh := range hosts {
		h := doc.host(t, lh.Name)
		for _, task := range h.Tasks[2:] {
			var calls []injectionCall
			if err := json.Unmarshal([]byte(task.Msg), &calls); err != nil {
				t.Fatalf("%s: task %s: %v: %q", lh.Name, task.Name, err, task.Msg)
			}
			assertAsData(t, lh.Name+" "+task.Name, calls)
			logRefusal(t, lh.Name+" "+task.Name, calls)
		}
	}
}

// callCount counts the module calls the first host reported.
func callCount(doc jsonRun) int {
	n := 0
	for _, task := range doc.Hosts[0].Tasks {
		n += strings.Count(task.Msg, `"source":`)
	}
	return n
}

// roundTrips are the calls whose result must be the value itself: the
// value is an argument, standard input, file content or a template value.
var roundTrips = map[string]bool{"sources": true, "printf": true, "stdin": true, "content": true, "template": true}

// optionParsed matches what getopt-style tools say about an unknown
// option: a value with a leading dash was read as one.
var optionParsed = regexp.MustCompile(`invalid option|unrecognized option|illegal option|unknown option`)

// assertAsData checks each call either kept the value intact or refused it
// with an error that names what was wrong, not a crash of the runtime.
func assertAsData(t *testing.T, task string, calls []injectionCall) {
	t.Helper()
	if len(calls) == 0 {
		t.Errorf("%s: no calls reported", task)
	}
	for _, c := range calls {
		name := strings.Fields(task)[1]
		switch {
		case c.Value == "":
			t.Errorf("%s: %s: the value did not reach the playbook", task, c.Source)
		case roundTrips[name] && (!c.OK || c.Got != c.Value):
			t.Errorf("%s: %s: %.80q came back as %.200q (ok %v)", task, c.Source, c.Value, c.Got, c.OK)
		case !c.OK && (c.Got == "" || strings.Contains(c.Got, "runtime error") || strings.Contains(c.Got, "goroutine")):
			t.Errorf("%s: %s: refused without a clear error: %.300q", task, c.Source, c.Got)
		case strings.HasPrefix(c.Value, "-") && optionParsed.MatchString(c.Got):
			t.Errorf("%s: %s: %.40q reached a command as an option, not as data: %.300q", task, c.Source, c.Value, c.Got)
		}
	}
}

// logRefusal logs the first refusal of a task's calls: what an operator
// would read.
func logRefusal(t *testing.T, task string, calls []injectionCall) {
	for _, c := range calls {
		if !c.OK {
			t.Logf("%s refused %.40q: %.200s", task, c.Value, c.Got)
			return
		}
	}
}

// markerControl proves the marker check sees a command that does run: a
// playbook that asks for a shell on purpose creates the marker.
func (s *securityLab) markerControl(t *testing.T) {
	pb := runnerFile(t, "shell.lua", `return { tasks = { { name = "shell on purpose", run = function()
	  cmd.run({ "sh", "-c", "touch `+s.marker()+`" })
	end } } }`)
	h := s.visible()[0]
	if res := s.run(t, "run", pb, "-i", s.lab.Inventory, "-l", h.Name, "--known-hosts", s.lab.KnownHosts); res.code != 0 {
		t.Fatalf("want exit 0: %s", res)
	}
	if out, err := s.lab.Exec(context.Background(), h.Name, "rm", s.marker()); err != nil {
		t.Fatalf("%s: the marker a shell created is not there: %v: %s", h.Name, err, out)
	}
	s.assertNoMarker(t)
}

// assertNoMarker fails when any hostile value ran: the marker exists on a
// host or on the controller.
func (s *securityLab) assertNoMarker(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(s.marker()); err == nil {
		t.Errorf("the controller has %s: a hostile value ran as a command", s.marker())
	}
	for _, h := range s.lab.Hosts {
		out, err := s.lab.Exec(context.Background(), h.Name, "sh", "-c", `test -e "$1" && echo present || echo absent`, "sh", s.marker())
		if err != nil || strings.TrimSpace(string(out)) != "absent" {
			t.Errorf("%s: marker %s: %q, %v: a hostile value ran as a command", h.Name, s.marker(), out, err)
		}
	}
}

// hostileBecomeUser passes a hostile --become-user: sudo gets it as a user
// name and the run fails on every host with sudo's answer.
func (s *securityLab) hostileBecomeUser(t *testing.T) {
	pb := runnerFile(t, "become.lua", becomePlaybook)
	for _, user := range []string{"root; touch " + s.marker(), "$(touch " + s.marker() + ")", "-u root touch " + s.marker()} {
		res := s.run(t, "run", pb, "-i", s.opsInventory(t, s.lab.OpsPassword), "-b", "--become-user", user, "--known-hosts", s.lab.KnownHosts)
		if res.code != 2 && res.code != 5 {
			t.Errorf("--become-user %q: want every host failed (exit 2) or the flag refused (exit 5): %s", user, res)
		}
		t.Logf("--become-user %q: exit %d: %s", user, res.code, firstLine(res.stdout+res.stderr, "sudo"))
	}
	s.assertNoMarker(t)
}

// hostileConnection gives connection variables that would run the marker
// on the controller if remedy handed them to an ssh binary or a shell:
// remedy starts no local process, so each is a bad address, a user that
// cannot log in, or a ProxyCommand that is read, not run.
func (s *securityLab) hostileConnection(t *testing.T) {
	h := s.visible()[0]
	touch := "touch " + s.marker()
	hosts := map[string]any{
		"proxy-command": map[string]any{"ansible_host": h.Addr, "ansible_ssh_common_args": `-o ProxyCommand="sh -c '` + touch + `'"`},
		"hostile-user":  map[string]any{"ansible_host": h.Addr, "ansible_user": "$(" + touch + ")"},
		"dash-address":  map[string]any{"ansible_host": "-oProxyCommand=" + touch},
		"dash-key":      map[string]any{"ansible_host": h.Addr, "ansible_ssh_private_key_file": "-oProxyCommand=" + touch},
	}
	inv := runnerFile(t, "connection.json", mustJSON(t, map[string]any{"all": map[string]any{
		"vars": map[string]any{"ansible_user": "root", "ansible_ssh_private_key_file": s.lab.Key}, "hosts": hosts}}))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	res := s.run(t, "run", pb, "-i", inv, "--known-hosts", s.lab.KnownHosts, "--timeout", "3s", "-o", "json")
	s.assertNoMarker(t)
	if res.code == 0 || res.code == 99 {
		t.Fatalf("want the hostile hosts unreachable or refused: %s", res)
	}
	if res.code == 5 {
		t.Logf("refused as bad input: %s", firstLine(res.stderr, "remedy"))
		return
	}
	for _, jh := range parseRunJSON(t, res).Hosts {
		t.Logf("%s: unreachable %v: %s (%s)", jh.Name, jh.Unreachable, jh.Error, jh.statuses())
	}
}

// firstLine returns the first line of out that contains word.
func firstLine(out, word string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, word) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// reportFiles lists the files a run wrote under dir.
func reportFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
