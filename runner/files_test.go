package runner

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// shellServer runs each command it is sent with this machine's sh and
// refuses SFTP, as a host without an sftp-server: files are read with
// the read a batch sends (shell.ReadFileArgv).
func shellServer(t *testing.T) *ssh.Client {
	return execServer(t, func(cmd string, ch ssh.Channel) {
		sh := exec.Command("sh", "-c", cmd)
		sh.Stdout, sh.Stderr = ch, ch.Stderr()
		err := sh.Run()
		var exitErr *exec.ExitError
		switch {
		case errors.As(err, &exitErr):
			exit(ch, uint32(exitErr.ExitCode()))
		case err != nil:
			ch.Stderr().Write([]byte(err.Error()))
			exit(ch, 255)
		default:
			exit(ch, 0)
		}
	}, nil)
}

// Without SFTP, a missing file is fs.ErrNotExist, as over SFTP, and any
// other failure is not: the read's own exit status tells them apart.
func TestReadFileWithoutSFTP(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "it's here")
	if err := os.WriteFile(present, []byte("a\n\nb"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		want    string
		missing bool
		fails   bool
	}{
		{path: present, want: "a\n\nb"},
		{path: filepath.Join(dir, "missing"), missing: true, fails: true},
		{path: dir, fails: true}, // cat cannot read a directory
	}
	for _, tt := range tests {
		c := testConn(shellServer(t))
		got, err := c.ReadFile(t.Context(), tt.path)
		if (err != nil) != tt.fails || errors.Is(err, fs.ErrNotExist) != tt.missing || string(got) != tt.want {
			t.Errorf("ReadFile(%s): %q, %v; want %q, missing %v, failing %v", tt.path, got, err, tt.want, tt.missing, tt.fails)
		}
	}
}
