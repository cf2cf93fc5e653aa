package tests

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	t.Run("the argv check sees a value read as an option", s.argvControl)
	t.Run("hostile values as root", s.injectionAsRoot)
	t.Run("hostile values through sudo", s.injectionThroughSudo)
	t.Run("hostile playbook variables stop the run before any host", s.hostilePlaybookVars)
	t.Run("aspera_bin must be root's alone", s.untrustedAsperaBin)
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
		"-f/etc/shadow",
		"--help",
		"-x",
		"@/etc/shadow",
		strings.Repeat("A", 60000) + "$(touch " + m + ")" + strings.Repeat("B", 60000),
	}
}

// injectionPlaybook passes every hostile value through each module
// argument that ends up on a remote command line, in a file, or in a
// firewall rule, and through each function a playbook's prefetch lists
// reads with, the shipped Aspera library's included; value i comes from
// the inventory, -e or the playbook itself in turn, and the "sources" task
// takes every value from every source. Each call is protected: a task
// returns, as JSON, what each call made of each value. The prefetch takes
// the reads those functions give for each value (short enough to share one
// command line), with the facts, as a playbook's prefetch does.
const injectionPlaybook = `local aspera = require("aspera")
local literals = { %s }
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
local reads = {
  domain_reads = function(x) return firewall.domain_reads(x) end,
  reach_command = function(x) return { net.reach_command { host = x, port = 443, timeout = 1 } } end,
  server_reads = function(x)
    return aspera.server_reads { alee = true, alee_domain = x, aspera_bin = "/opt/aspera/bin", aspera_conf = "/opt/aspera/etc/aspera.conf" }
  end,
  aspera_bin = function(x) return aspera.server_reads { alee = false, aspera_bin = x, aspera_conf = x } end,
  client_reads = function(x) return aspera.client_reads { server = x } end,
}
local function prefetch(v)
  local out = {}
  for _, sv in ipairs(values(v, false)) do
    for _, f in pairs(reads) do
      local ok, got = pcall(f, sv[2])
      if ok and #sv[2] < 1000 then
        for _, r in ipairs(got) do if type(r) == "table" then out[#out+1] = r end end
      end
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
for name, f in pairs(reads) do calls[name] = function(x) return json.encode(f(x)) end end
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
return { name = "security: hostile values", hosts = "all", prefetch = prefetch, tasks = tasks }
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
	rec := s.recordArgv(t, hosts)
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
	s.assertNoOptions(t, rec)
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

// argvTools are the tools remedy's modules and libraries run with values
// as arguments, and the ones the facts and the firewall read run. Each
// gets a wrapper earlier in the host's PATH that records its argv and
// runs the real one; dig, which the lab's machine lacks, gets one that
// records and prints nothing, as a dig that finds no answer would.
var argvTools = []string{"dig", "getent", "nc", "curl", "timeout", "bash", "cat", "stat", "namei", "find", "ss",
	"nft", "iptables", "ip6tables", "iptables-legacy", "iptables-nft", "ip6tables-legacy", "ip6tables-nft", "ipset",
	"ufw", "firewall-cmd", "systemctl", "service", "semanage", "df", "chmod", "chown", "mv", "cp", "rm", "mkdir"}

// installWrappers writes the wrappers, $2 with LOG and REAL filled in,
// into /usr/local/sbin, which comes first in root's PATH over SSH and in
// sudo's secure_path; each records into a file of its own under $1, and
// the names written go to $1.tools.
const installWrappers = `log=$1 wrapper=$2; shift 2
mkdir -m 1777 -p "$log"
for t in "$@"; do
	real=$(PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$t") || real=
	[ -n "$real" ] || [ "$t" = dig ] || continue
	[ -e "/usr/local/sbin/$t" ] && continue
	printf '%s\n' "$wrapper" | sed "s|LOG|$log|; s|REAL|$real|" >"/usr/local/sbin/$t"
	chmod 755 "/usr/local/sbin/$t"
	echo "/usr/local/sbin/$t" >>"$log.tools"
done`

// argvWrapper records its argv, NUL-separated, and runs the real tool;
// without one (dig) it ends there.
const argvWrapper = `#!/bin/sh
f=$(mktemp 'LOG/XXXXXX') && printf '%s\0' "$0" "$@" >"$f"
[ -n 'REAL' ] || exit 0
exec 'REAL' "$@"`

// argvRecorder is where the wrappers on some hosts record.
type argvRecorder struct {
	dir   string
	hosts []labkit.Host
}

// recordArgv installs the wrappers on hosts until the test ends.
func (s *securityLab) recordArgv(t *testing.T, hosts []labkit.Host) argvRecorder {
	t.Helper()
	rec := argvRecorder{dir: "/tmp/remedy-argv-" + s.token, hosts: hosts}
	for _, h := range hosts {
		args := append([]string{"sh", "-c", installWrappers, "sh", rec.dir, argvWrapper}, argvTools...)
		if out, err := s.lab.Exec(context.Background(), h.Name, args...); err != nil {
			t.Fatalf("%s: install the argv wrappers: %v: %s", h.Name, err, out)
		}
	}
	t.Cleanup(func() {
		for _, h := range hosts {
			script := `[ -f "$1.tools" ] && xargs rm -f <"$1.tools"; rm -rf "$1" "$1.tools"`
			if out, err := s.lab.Exec(context.Background(), h.Name, "sh", "-c", script, "sh", rec.dir); err != nil {
				t.Errorf("%s: remove the argv wrappers: %v: %s", h.Name, err, out)
			}
		}
	})
	return rec
}

// argvs returns every argv recorded on host since the last call, and
// forgets them.
func (s *securityLab) argvs(t *testing.T, rec argvRecorder, host string) [][]string {
	t.Helper()
	script := `for f in "$1"/*; do [ -f "$f" ] && base64 -w0 "$f" && echo && rm -f "$f"; done; true`
	out, err := s.lab.Exec(context.Background(), host, "sh", "-c", script, "sh", rec.dir)
	if err != nil {
		t.Fatalf("%s: read the recorded argv: %v", host, err)
	}
	var all [][]string
	for _, line := range strings.Fields(string(out)) {
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			t.Fatalf("%s: recorded argv: %v", host, err)
		}
		all = append(all, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
	}
	return all
}

// optionShaped reports whether a tool could take v, as one argument, for
// an option (-f, --help), a server (dig's @host) or a query option (+x).
func optionShaped(v string) bool { return v != "" && strings.ContainsRune("-@+", rune(v[0])) }

// optionArgs lists the argvs in which a hostile option-shaped value is an
// argument that no "--" before it marks as an operand.
func optionArgs(argvs [][]string, hostile []string) []string {
	var bad []string
	for _, argv := range argvs {
		for i, a := range argv {
			if i > 0 && optionShaped(a) && slices.Contains(hostile, a) && !slices.Contains(argv[1:i], "--") {
				bad = append(bad, fmt.Sprintf("%q", argv))
				break
			}
		}
	}
	return bad
}

// assertNoOptions fails when a tool on a host took a hostile value where
// it reads options. The wrappers must have recorded the facts read's
// cat /etc/os-release, argument by argument, and a hostile value after a
// "--" (the prefetch's getent and cat): else the check saw nothing.
func (s *securityLab) assertNoOptions(t *testing.T, rec argvRecorder) {
	t.Helper()
	for _, h := range rec.hosts {
		argvs := s.argvs(t, rec, h.Name)
		if !slices.ContainsFunc(argvs, func(a []string) bool { return slices.Equal(a, []string{"/usr/local/sbin/cat", "/etc/os-release"}) }) {
			t.Errorf("%s: the wrappers did not record the facts' cat /etc/os-release in %d commands: the check saw nothing", h.Name, len(argvs))
		}
		hostile := s.hostileValues()
		if !slices.ContainsFunc(argvs, func(a []string) bool {
			i := slices.Index(a, "--")
			return i > 0 && i+1 < len(a) && slices.Contains(hostile, a[i+1])
		}) {
			t.Errorf("%s: no hostile value reached a tool as an operand: the prefetch's reads did not run", h.Name)
		}
		for _, b := range optionArgs(argvs, hostile) {
			t.Errorf("%s: a hostile value reached a tool as an option: %.300s", h.Name, b)
		}
		t.Logf("%s: %d commands recorded", h.Name, len(argvs))
	}
}

// argvControl proves the argv check sees a hostile value a tool takes as
// an option: a playbook hands dig and getent one on purpose.
func (s *securityLab) argvControl(t *testing.T) {
	h := s.visible()[0]
	rec := s.recordArgv(t, []labkit.Host{h})
	pb := runnerFile(t, "options.lua", `return { tasks = { { name = "options on purpose", run = function()
	  cmd.query({ "dig", "+short", "-f/etc/shadow" })
	  cmd.query({ "getent", "ahosts", "--help" }, { ok_rc = { 0, 64 } })
	  cmd.query({ "getent", "ahosts", "--", "--help" }, { ok_rc = { 0, 2 } })
	end } } }`)
	if res := s.run(t, "run", pb, "-i", s.lab.Inventory, "-l", h.Name, "--known-hosts", s.lab.KnownHosts); res.code != 0 {
		t.Fatalf("want exit 0: %s", res)
	}
	bad := optionArgs(s.argvs(t, rec, h.Name), s.hostileValues())
	if len(bad) != 2 || !strings.Contains(bad[0]+bad[1], `"-f/etc/shadow"`) || !strings.Contains(bad[0]+bad[1], `"ahosts" "--help"`) {
		t.Fatalf("want dig's -f/etc/shadow and getent's --help found, and getent -- --help not: %v", bad)
	}
}

// hostilePlaybookVars gives the built-in playbooks' variables, and a
// playbook's own, values that would be options, servers or code where
// they become command arguments: remedy must refuse each as bad input
// (exit 5) before it contacts the host, naming the variable and where the
// value came from. The argv wrappers prove no command ran on the host.
func (s *securityLab) hostilePlaybookVars(t *testing.T) {
	h := s.visible()[0]
	rec := s.recordArgv(t, []labkit.Host{h})
	own := runnerFile(t, "typed.lua", `return { vars = { site = "@/etc/shadow" }, var_types = { site = "domain" },
	  prefetch = function(v) return { firewall.domain_reads(v.site)[2] } end,
	  tasks = { { name = "t", run = function(v) net.resolve(v.site) end } } }`)
	newline := runnerFile(t, "newline.json", mustJSON(t, map[string]any{"server": "x\n-f/etc/shadow"}))
	code := "@" + runnerFile(t, "code.json", mustJSON(t, map[string]any{"aspera_conf": "$(touch " + s.marker() + ")"}))
	for _, tc := range []struct {
		name, playbook string
		inv            map[string]any
		extra          []string
		want           string
	}{
		{"domain from -e", "aspera-server", nil, []string{"alee=true", "alee_domain=-f/etc/shadow"},
			`alee_domain "-f/etc/shadow" (from -e): not a domain name`},
		{"program directory from the inventory", "aspera-server", map[string]any{"aspera_bin": "--help"}, nil,
			`aspera_bin "--help" (from the inventory, host ` + h.Name + `): not an absolute path`},
		{"port from -e", "aspera-server", nil, []string{"ssh_port=-x"}, `ssh_port "-x" (from -e): not a port (1-65535)`},
		{"code from an -e file", "aspera-server", nil, []string{code}, `aspera_conf "$(touch ` + s.marker() + `)" (from -e): not an absolute path`},
		{"newline from an -e file", "aspera-client", nil, []string{"@" + newline},
			`server "x\n-f/etc/shadow" (from -e): not a host name or IP address`},
		{"server from the inventory", "aspera-client", map[string]any{"server": "@/etc/shadow"}, nil,
			`server "@/etc/shadow" (from the inventory, host ` + h.Name + `): not a host name or IP address`},
		{"a playbook's own literal", own, nil, nil, `site "@/etc/shadow" (from the playbook's vars): not a domain name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]any{"ansible_host": h.Addr, "ansible_user": "root", "ansible_ssh_private_key_file": s.lab.Key}
			for k, v := range tc.inv {
				vars[k] = v
			}
			inv := runnerFile(t, "inv.json", mustJSON(t, map[string]any{"all": map[string]any{"hosts": map[string]any{h.Name: vars}}}))
			args := []string{"audit", tc.playbook, "-i", inv, "--known-hosts", s.lab.KnownHosts}
			for _, e := range tc.extra {
				args = append(args, "-e", e)
			}
			res := s.run(t, args...)
			if res.code != 5 || !strings.Contains(res.stderr, tc.want) || strings.Contains(res.stdout, "Gathering Facts") {
				t.Errorf("want exit 5 before any host, saying %s: %s", tc.want, res)
			}
			if argvs := s.argvs(t, rec, h.Name); len(argvs) > 0 {
				t.Errorf("the host ran %d commands, first %q", len(argvs), argvs[0])
			}
			t.Logf("%s", firstLine(res.stderr, "remedy"))
		})
	}
	s.assertNoMarker(t)
}

// fakeUserdata stands in for asuserdata: it leaves a marker when it runs.
const fakeUserdata = `#!/bin/sh
touch %s
echo 'transfer_protocol_options_bind_udp_port: "33201"'
`

// untrustedAsperaBin puts a stand-in asuserdata where someone other than
// root could have put it or could swap it: in a directory anyone may
// write, owned by another user, behind a link into a writable directory,
// in /tmp. The Aspera playbook must not run it, must say why, and must
// read aspera.conf instead; the same program where root alone could have
// put it runs.
func (s *securityLab) untrustedAsperaBin(t *testing.T) {
	h := s.visible()[0]
	conf := "/opt/remedy-sec-conf/aspera.conf"
	ran := "/tmp/remedy-sec-userdata-ran-" + s.token
	setup := `set -e
mkdir -p /opt/remedy-sec-conf /opt/remedy-sec/open /opt/remedy-sec/theirs /opt/remedy-sec/ok /tmp/remedy-sec-bin
printf '%s' "$2" >/opt/remedy-sec-conf/aspera.conf
for d in open theirs ok; do printf '%s' "$1" >"/opt/remedy-sec/$d/asuserdata"; done
printf '%s' "$1" >/tmp/remedy-sec-bin/asuserdata
chmod 755 /opt/remedy-sec /opt/remedy-sec/* /opt/remedy-sec/*/asuserdata /tmp/remedy-sec-bin /tmp/remedy-sec-bin/asuserdata
chmod 777 /opt/remedy-sec/open
chown 65534 /opt/remedy-sec/theirs/asuserdata
ln -sfn /opt/remedy-sec/open /opt/remedy-sec/link`
	fake := fmt.Sprintf(fakeUserdata, ran)
	if out, err := s.lab.Exec(context.Background(), h.Name, "sh", "-c", setup, "sh", fake, asperaConfFile); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() {
		_, _ = s.lab.Exec(context.Background(), h.Name, "rm", "-rf", "/opt/remedy-sec", "/opt/remedy-sec-conf", "/tmp/remedy-sec-bin", ran)
	})
	for _, tc := range []struct{ dir, why string }{
		{"/opt/remedy-sec/open", "drwxrwxrwx root root open"},
		{"/opt/remedy-sec/theirs", "-rwxr-xr-x nobody"},
		{"/opt/remedy-sec/link", "drwxrwxrwx root root open"},
		{"/tmp/remedy-sec-bin", "drwxrwxrwt root root tmp"},
	} {
		msg := s.asperaSettings(t, h, tc.dir, conf)
		want := tc.dir + "/asuserdata is not run as root: someone other than root may change it or a directory on its way ("
		if !strings.Contains(msg, want) || !strings.Contains(msg, tc.why) || !strings.Contains(msg, "fasp 33101/udp ("+conf+")") {
			t.Errorf("aspera_bin=%s: settings %q, want the program refused (%s) and the ports from %s", tc.dir, msg, tc.why, conf)
		}
		if out, _ := s.lab.Exec(context.Background(), h.Name, "sh", "-c", `test -e "$1" && echo ran; true`, "sh", ran); len(out) > 0 {
			t.Fatalf("aspera_bin=%s: the untrusted asuserdata ran as root", tc.dir)
		}
		t.Logf("aspera_bin=%s: %s", tc.dir, msg)
	}
	if msg := s.asperaSettings(t, h, "/opt/remedy-sec/ok", conf); !strings.Contains(msg, "fasp 33201/udp (asuserdata -a)") {
		t.Errorf("aspera_bin=/opt/remedy-sec/ok: settings %q, want the ports from asuserdata -a", msg)
	}
	if out, _ := s.lab.Exec(context.Background(), h.Name, "sh", "-c", `test -e "$1" && echo ran; true`, "sh", ran); len(out) == 0 {
		t.Errorf("the trusted asuserdata did not run")
	}
}

// asperaSettings audits aspera-server's settings task on h with
// aspera_bin and aspera_conf, and returns its message.
func (s *securityLab) asperaSettings(t *testing.T, h labkit.Host, bin, conf string) string {
	t.Helper()
	res := s.run(t, "audit", "aspera-server", "-i", s.lab.Inventory, "-l", h.Name, "--known-hosts", s.lab.KnownHosts,
		"--tags", "always", "-e", "aspera_bin="+bin, "-e", "aspera_conf="+conf, "-o", "json")
	if res.code != 0 && res.code != 3 {
		t.Fatalf("aspera_bin=%s: want exit 0 or 3: %s", bin, res)
	}
	return parseRunJSON(t, res).host(t, h.Name).msg("Aspera settings")
}
