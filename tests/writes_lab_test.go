package tests

import (
	"strings"
	"testing"

	"remedy/tests/lab/labkit"
)

// Writes on a host where another user can reach the file's directory, and
// files reached through symbolic links: the real binary over SSH, as root
// and through sudo, with the results checked inside the host.
func TestHostWritesOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 1, Profiles: []string{"none"}})
	l := &luaLab{lab: lab, bin: buildRemedy(t), home: t.TempDir()}
	l.ops = l.opsInventory(t)
	t.Run("another user swaps the temporary path between steps", l.swappedTemp)
	t.Run("a symbolic link is written through, as root and through sudo", l.throughSymlink)
	t.Run("a failing restorecon after the rename says the file was created", l.failingRestorecon)
}

// swapScript is the other user's move, run as the lab's ops user (who may
// write /srv/shared, a group-writable directory as many sites keep for a
// team) from remedy's validator, that is between two of the write's
// steps. It renames every temporary entry of remedy's aside and puts its
// own in its place: for a temporary file, a file of its own; for a
// private directory, a directory of its own holding such a file. Whatever
// remedy then does by that path acts on the other user's file.
const swapScript = `#!/bin/sh
cd /srv/shared || exit 1
for e in .app.conf.remedy-*; do
	[ -e "$e" ] || continue
	mv -- "$e" "$e.moved"
	if [ -d "$e.moved" ]; then mkdir -- "$e"; f=$e/app.conf; else f=$e; fi
	printf 'attacker\n' > "$f"
	chmod 0666 "$f"
done
`

func (l *luaLab) swappedTemp(t *testing.T) {
	h := l.lab.Hosts[0].Name
	l.sh(t, h, `set -e
install -d -m 2775 -o root -g ops /srv/shared
printf 'old\n' > /srv/shared/app.conf && chmod 0644 /srv/shared/app.conf
cat > /usr/local/bin/remedy-test-swap-as-ops <<'EOF'
`+swapScript+`EOF
printf '#!/bin/sh\nexec setpriv --reuid=ops --regid=ops --init-groups /usr/local/bin/remedy-test-swap-as-ops\n' > /usr/local/bin/remedy-test-swap
chmod 0755 /usr/local/bin/remedy-test-swap /usr/local/bin/remedy-test-swap-as-ops`)
	pb := l.playbook(t, `return { tasks = { { name = "write", run = function()
	file.write { path = "/srv/shared/app.conf", content = "ours\n", owner = "root:root", mode = "0644",
		validate = { "/usr/local/bin/remedy-test-swap", "%s" } }
end } } }`)
	doc, _ := l.remedy(t, "run", pb)
	got := l.sh(t, h, `cd /srv/shared; stat -c '%U:%G %a %F' app.conf; cat app.conf
find . -user ops -type f -exec stat -c '%U:%G %a' {} \; -exec cat {} \;`)
	if doc.statuses(h) != "write=changed" {
		t.Errorf("the write: %s (%s)", doc.statuses(h), doc.msg(h, "write"))
	}
	// The target holds remedy's content, in remedy's file; the other
	// user's file is still theirs, as they left it.
	want := "root:root 644 regular file\nours\nops:ops 666\nattacker\n"
	if got != want {
		t.Errorf("after the swap:\n%s\nwant:\n%s", got, want)
	}
}

func (l *luaLab) throughSymlink(t *testing.T) {
	h := l.lab.Hosts[0].Name
	for _, tc := range []struct {
		name string
		run  func(*testing.T, ...string) (jsonRun, int)
	}{{"root", l.remedy}, {"sudo", l.remedyAsOps}} {
		t.Run(tc.name, func(t *testing.T) {
			l.sh(t, h, `set -e; rm -rf /etc/remedy-real.d /etc/remedy-link.conf
mkdir /etc/remedy-real.d && printf 'old\n' > /etc/remedy-real.d/app.conf
chown ops:ops /etc/remedy-real.d/app.conf && chmod 0640 /etc/remedy-real.d/app.conf
ln -s remedy-real.d/app.conf /etc/remedy-link.conf`)
			pb := l.playbook(t, `return { tasks = { { name = "write", run = function()
	file.line { path = "/etc/remedy-link.conf", line = "new", backup = false }
end } } }`)
			first, _ := tc.run(t, "run", pb)
			second, _ := tc.run(t, "run", pb)
			if first.statuses(h) != "write=changed" || second.statuses(h) != "write=ok" {
				t.Errorf("first %s (%s), second %s; want changed, then ok", first.statuses(h), first.msg(h, "write"), second.statuses(h))
			}
			got := l.sh(t, h, `stat -c '%F' /etc/remedy-link.conf; readlink /etc/remedy-link.conf
stat -c '%U:%G %a' /etc/remedy-real.d/app.conf; cat /etc/remedy-real.d/app.conf; ls -A /etc/remedy-real.d`)
			want := "symbolic link\nremedy-real.d/app.conf\nops:ops 640\nold\nnew\napp.conf\n"
			if got != want {
				t.Errorf("after writing through the link:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// SELinux cannot run in the lab: a fake getenforce says Enforcing, so
// remedy gathers SELinux as on, and a fake restorecon on the host's PATH
// fails, as it does on a filesystem without labels.
func (l *luaLab) failingRestorecon(t *testing.T) {
	h := l.lab.Hosts[0].Name
	l.sh(t, h, `set -e; rm -f /etc/remedy-labelled.conf
printf '#!/bin/sh\necho Enforcing\n' > /usr/local/sbin/getenforce
printf '#!/bin/sh\necho "restorecon: Could not set context for $2: Operation not supported" >&2\nexit 255\n' > /usr/local/sbin/restorecon
chmod 0755 /usr/local/sbin/getenforce /usr/local/sbin/restorecon`)
	defer l.sh(t, h, "rm -f /usr/local/sbin/getenforce /usr/local/sbin/restorecon /etc/remedy-labelled.conf")
	pb := l.playbook(t, `return { tasks = { { name = "write", run = function()
	file.write { path = "/etc/remedy-labelled.conf", content = "x\n" }
end } } }`)
	doc, _ := l.remedy(t, "run", pb)
	msg := doc.msg(h, "write")
	if doc.statuses(h) != "write=failed" || !strings.Contains(msg, "/etc/remedy-labelled.conf: created, but restorecon -- /etc/remedy-labelled.conf failed: exit status 255: restorecon: Could not set context") {
		t.Errorf("got %s: %s", doc.statuses(h), msg)
	}
	if got := l.sh(t, h, "cat /etc/remedy-labelled.conf; ls -A /etc | grep -c remedy-labelled"); got != "x\n1\n" {
		t.Errorf("the file and what is beside it: %q", got)
	}
}
