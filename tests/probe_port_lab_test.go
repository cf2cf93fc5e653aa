package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// connPort is where sshd listens in TestProbePortOnLab: not 22, and not a
// port any playbook variable names.
const connPort = 2222

// TestProbePortOnLab checks that the fresh login after a firewall change
// dials the port the connection really uses. sshd on the host listens on
// connPort alone; remedy reaches it through an ssh config Port in its
// HOME, or through -e ansible_port. A firewall change on the input path
// must then log in again on connPort, also when the playbook sets
// v.ansible_port to something else, and on the new port once
// sshd.move_port has moved the connection there.
func TestProbePortOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 1, Profiles: []string{"nftables"}})
	h := lab.Hosts[0]
	bin := buildRemedy(t)
	op := newOperator(t, lab, connPort)
	moved := newOperator(t, lab, movedPort)
	writeTestFile(t, op.knownHosts, readTestFile(t, op.knownHosts)+readTestFile(t, moved.knownHosts))
	labSh(t, lab, h.Name, "nft insert rule inet filter input tcp dport "+strconv.Itoa(connPort)+" accept")
	listenOnly(t, lab, h, connPort)

	sshConfig := t.TempDir()
	writeTestFile(t, filepath.Join(sshConfig, ".ssh", "config"), "Host "+h.Name+"\n  Port "+strconv.Itoa(connPort)+"\n")
	const allow = `firewall.allow { dir = "in", proto = "udp", port = 33001, comment = "probe port" }`
	const remove = `firewall.remove { comment = "remedy: probe port" }`
	for _, c := range []struct {
		name, home, body string
		args             []string
	}{
		{"ssh config Port", sshConfig, allow, nil},
		{"ssh config Port, the playbook sets v.ansible_port = 22", sshConfig, "v.ansible_port = 22\n" + allow, nil},
		{"-e ansible_port", t.TempDir(), allow, []string{"-e", "ansible_port=" + strconv.Itoa(connPort)}},
		{"-e ansible_port, the playbook sets v.ansible_port = 2200", t.TempDir(), "v.ansible_port = 2200\n" + allow, []string{"-e", "ansible_port=" + strconv.Itoa(connPort)}},
		// Last, as it leaves sshd on movedPort: the move takes the
		// connection along, and the next change logs in there.
		{"a port moved earlier in the run", sshConfig, "sshd.move_port { to = " + strconv.Itoa(movedPort) + " }\n" + allow, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			pb := sshdPlaybook(t, "return { tasks = { { name = \"allow\", run = function(v)\n"+c.body+"\nend } } }")
			args := append([]string{"run", pb, "-i", lab.Inventory, "--known-hosts", op.knownHosts}, c.args...)
			doc, code := runRemedy(t, bin, c.home, 3*time.Minute, args...)
			if got := doc.statuses(h.Name); code != 0 || got != "allow=changed" {
				t.Fatalf("exit %d, %s, want allow=changed\n%s", code, got, doc.out)
			}
			if strings.Contains(c.body, "move_port") {
				return // the connection's port is gone: nothing to undo with
			}
			undo := sshdPlaybook(t, "return { tasks = { { name = \"remove\", run = function() "+remove+" end } } }")
			if doc, code := runRemedy(t, bin, c.home, 3*time.Minute, append([]string{"run", undo, "-i", lab.Inventory, "--known-hosts", op.knownHosts}, c.args...)...); code != 0 {
				t.Fatalf("remove: exit %d\n%s", code, doc.out)
			}
		})
	}
}

// listenOnly moves the host's sshd to port alone with a drop-in and a
// SIGHUP, and waits until it listens there and nowhere else.
func listenOnly(t *testing.T, lab *labkit.Lab, h labkit.Host, port int) {
	t.Helper()
	labSh(t, lab, h.Name, "mkdir -p /etc/ssh/sshd_config.d && echo 'Port "+strconv.Itoa(port)+"' > /etc/ssh/sshd_config.d/00-port.conf && kill -HUP \"$(cat /run/sshd.pid)\"")
	want := ":" + strconv.Itoa(port) + " "
	labSh(t, lab, h.Name, `for i in $(seq 100); do
  l=$(ss -Htlnp | grep '"sshd"')
  if echo "$l" | grep -q '`+want+`' && ! echo "$l" | grep -qv '`+want+`'; then exit 0; fi
  sleep 0.1
done
echo "sshd does not listen on `+strconv.Itoa(port)+` alone: $l" >&2; exit 1`)
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
