package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"remedy/tests/lab/labkit"
)

// operator is how the tests reach a lab host from outside, as an operator
// would: the lab key, and the lab's known_hosts with every key again for
// [addr]:movedTo, the lines an operator adds when a host's SSH moves
// (SSH clients look keys up by host and port).
type operator struct {
	knownHosts string
	hostKeys   ssh.HostKeyCallback
	signer     ssh.Signer
	user       string // who logs in; root when empty
}

func newOperator(t *testing.T, lab *labkit.Lab, movedTo int) *operator {
	t.Helper()
	b, err := os.ReadFile(lab.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if addr, key, ok := strings.Cut(line, " "); ok {
			out += fmt.Sprintf("[%s]:%d %s\n", addr, movedTo, key)
		}
	}
	o := &operator{knownHosts: filepath.Join(t.TempDir(), "known_hosts")}
	if err := os.WriteFile(o.knownHosts, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.hostKeys, err = knownhosts.New(o.knownHosts); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(lab.Key)
	if err != nil {
		t.Fatal(err)
	}
	if o.signer, err = ssh.ParsePrivateKey(key); err != nil {
		t.Fatal(err)
	}
	return o
}

// login dials addr:port afresh, checks the host key strictly, and runs a
// command: what an operator's next ssh does.
func (o *operator) login(addr string, port int) error {
	user := o.user
	if user == "" {
		user = "root"
	}
	return labkit.Login(addr, port, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(o.signer)},
		HostKeyCallback: o.hostKeys, Timeout: 5 * time.Second})
}
