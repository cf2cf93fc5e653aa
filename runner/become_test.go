package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeSudo answers setupBecome's probes the way sudo does: exit 0 when
// no password is needed or the right one arrives on stdin, 1 otherwise.
type fakeSudo struct {
	nopasswd bool
	password string
	lines    []string
	stdin    []byte
}

func (f *fakeSudo) run(_ context.Context, line string, stdin []byte) (int, []byte, error) {
	f.lines = append(f.lines, line)
	f.stdin = append(f.stdin, stdin...)
	if strings.HasPrefix(line, "sudo -n ") {
		if f.nopasswd {
			return 0, nil, nil
		}
		return 1, []byte("sudo: a password is required"), nil
	}
	if string(stdin) == f.password+"\n" {
		return 0, nil, nil
	}
	return 1, []byte("sudo: 1 incorrect password attempt"), nil
}

func TestSetupBecome(t *testing.T) {
	const secret = "s3cr3t pass'word"
	tests := []struct {
		name     string
		sudo     fakeSudo
		spec     Become
		askPass  bool
		errMatch string
	}{
		{"nopasswd rule: no password sent even when given", fakeSudo{nopasswd: true}, Become{Password: secret}, false, ""},
		{"password accepted", fakeSudo{password: secret}, Become{Password: secret}, true, ""},
		{"password needed, none given", fakeSudo{password: secret}, Become{}, false, "-K"},
		{"wrong password", fakeSudo{password: "other"}, Become{Password: secret}, false, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := setupBecome(context.Background(), tt.spec, nil, tt.sudo.run)
			if tt.errMatch != "" {
				if !errors.Is(err, ErrBecome) || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %v, want ErrBecome mentioning %q", err, tt.errMatch)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows the password: %v", err)
				}
			} else if err != nil || b.askPass != tt.askPass || b.user != "root" {
				t.Fatalf("setupBecome = %+v, %v; want askPass %v as root", b, err, tt.askPass)
			}
			for _, l := range tt.sudo.lines {
				if strings.Contains(l, secret) {
					t.Errorf("the password is on a command line: %s", l)
				}
			}
		})
	}
}

// A host whose key was not vouched for gets no sudo password: sudo must
// do without (a NOPASSWD rule), or the host fails saying why.
func TestSetupBecomeWithheldPassword(t *testing.T) {
	const secret = "s3cr3t"
	withheld := errors.New("password not sent to h1: its host key was accepted on first use")
	sudo := &fakeSudo{password: secret}
	_, err := setupBecome(context.Background(), Become{Password: secret}, withheld, sudo.run)
	if !errors.Is(err, ErrBecome) || !errors.Is(err, withheld) {
		t.Errorf("err = %v, want ErrBecome saying why the password was withheld", err)
	}
	if strings.Contains(string(sudo.stdin), secret) {
		t.Errorf("the password went to sudo: stdin %q", sudo.stdin)
	}
	sudo = &fakeSudo{nopasswd: true}
	if b, err := setupBecome(context.Background(), Become{Password: secret}, withheld, sudo.run); err != nil || b.askPass {
		t.Errorf("NOPASSWD sudo on that host: %+v, %v; want it used without a password", b, err)
	}
}

func TestBecomeWrapPutsPasswordOnStdinOnly(t *testing.T) {
	b := &become{user: "app", password: "pw'; rm -rf /", askPass: true}
	line, stdin := b.wrap("cat > /etc/x", []byte("data\n"))
	if line != `sudo -k -S -p '' -u app -- sh -c 'cat > /etc/x'` {
		t.Errorf("line = %s", line)
	}
	if string(stdin) != "pw'; rm -rf /\ndata\n" {
		t.Errorf("stdin = %q", stdin)
	}
	b = &become{user: "root"}
	line, stdin = b.wrap("id -u", nil)
	if line != "sudo -n -u root -- sh -c 'id -u'" || stdin != nil {
		t.Errorf("no-password wrap = %s, %q", line, stdin)
	}
}

// fakeSu answers as util-linux su does without a terminal: it prints its
// prompt on stderr, reads the password line from stdin, and runs the
// command (which prints the marker first) only when it is right.
type fakeSu struct {
	password string // empty: su asks for none (pam_rootok, pam_wheel trust)
	stdins   [][]byte
}

func (f *fakeSu) run(_ context.Context, line string, stdin []byte) (int, []byte, error) {
	f.stdins = append(f.stdins, stdin)
	if !strings.HasPrefix(line, "su -c ") || stdin == nil {
		return 127, nil, nil
	}
	if f.password == "" {
		return 0, []byte(suStarted), nil
	}
	if string(stdin) == f.password+"\n" {
		return 0, []byte("Password: " + suStarted), nil
	}
	return 1, []byte("Password: su: Authentication failure\n"), nil
}

func TestSetupBecomeSu(t *testing.T) {
	const secret = "r00t pw"
	for _, tt := range []struct {
		name     string
		su       fakeSu
		spec     Become
		askPass  bool
		errMatch string
	}{
		{"no password asked: none sent", fakeSu{}, Become{Method: "su", Password: secret}, false, ""},
		{"password accepted", fakeSu{password: secret}, Become{Method: "su", Password: secret}, true, ""},
		{"password needed, none given", fakeSu{password: secret}, Become{Method: "su"}, false, "su to root needs a password"},
		{"wrong password", fakeSu{password: "other"}, Become{Method: "su", Password: secret}, false, "Authentication failure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := setupBecome(context.Background(), tt.spec, nil, tt.su.run)
			if tt.errMatch != "" {
				if !errors.Is(err, ErrBecome) || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %v, want ErrBecome mentioning %q", err, tt.errMatch)
				}
				return
			}
			if err != nil || b.askPass != tt.askPass || b.method != "su" {
				t.Fatalf("setupBecome = %+v, %v; want su, askPass %v", b, err, tt.askPass)
			}
			if !tt.askPass && strings.Contains(string(tt.su.stdins[0]), secret) {
				t.Errorf("the password went to a su that did not ask: %q", tt.su.stdins)
			}
		})
	}
}

func TestBecomeWrapSu(t *testing.T) {
	b := &become{method: "su", user: "root", password: "pw'; rm -rf /", askPass: true}
	line, stdin := b.wrap("cat > /etc/x", []byte("data\n"))
	want := `su -c 'printf %s BECOME-SUCCESS-remedy: >&2 && exec sh -c '\''cat > /etc/x'\''' -- root`
	if line != want || string(stdin) != "pw'; rm -rf /\ndata\n" {
		t.Errorf("wrap = %s, %q\nwant %s", line, stdin, want)
	}
	own, started := b.commandStderr([]byte("Password: " + suStarted + "warn\n"))
	if !started || string(own) != "warn\n" {
		t.Errorf("commandStderr = %q, %v; want the command's own stderr without su's prompt", own, started)
	}
	if _, started := b.commandStderr([]byte("Password: su: Authentication failure\n")); started {
		t.Error("a refused su counted as started")
	}
}
