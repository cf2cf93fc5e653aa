package runner

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func writeKey(t *testing.T, key crypto.PrivateKey, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSignerKeyTypes(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key  crypto.PrivateKey
		want string
	}{{ed, ssh.KeyAlgoED25519}, {rsaKey, ssh.KeyAlgoRSA}, {ecKey, ssh.KeyAlgoECDSA256}} {
		c := &Credentials{}
		s, err := c.signer(writeKey(t, tt.key, ""), true)
		if err != nil || s.PublicKey().Type() != tt.want {
			t.Errorf("%s key: signer %v, %v", tt.want, s, err)
		}
	}
}

func TestSignerAsksPassphraseOnce(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	const pass = "correct horse"
	file := writeKey(t, ed, pass)
	asked := 0
	c := &Credentials{Prompt: func(q string) (string, error) {
		asked++
		if !strings.Contains(q, file) {
			t.Errorf("the prompt %q does not name the key file", q)
		}
		return pass, nil
	}}
	for range 3 {
		if s, err := c.signer(file, true); err != nil || s == nil {
			t.Fatalf("signer: %v", err)
		}
	}
	if asked != 1 {
		t.Errorf("passphrase asked %d times for one key, want once", asked)
	}
}

func TestSignerErrors(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	const pass = "s3cret-passphrase"
	file := writeKey(t, ed, pass)

	wrong := &Credentials{Prompt: func(string) (string, error) { return "wrong", nil }}
	_, err := wrong.signer(file, true)
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") || strings.Contains(err.Error(), pass) {
		t.Errorf("wrong passphrase: %v", err)
	}

	noTerminal := &Credentials{}
	if _, err := noTerminal.signer(file, true); err == nil || !strings.Contains(err.Error(), "ssh-agent") {
		t.Errorf("encrypted key without a prompt: %v", err)
	}

	missing := filepath.Join(t.TempDir(), "id_ed25519")
	if s, err := (&Credentials{}).signer(missing, false); s != nil || err != nil {
		t.Errorf("a missing default key: %v, %v; want it skipped", s, err)
	}
	if _, err := (&Credentials{}).signer(missing, true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing key named by the operator: %v, want ErrNotExist", err)
	}
}

// mayTell lets a password go: these tests are about the methods' order.
func mayTell() error { return nil }

// A key file an inventory names that never ends (/dev/zero), blocks (a
// FIFO) or is no file is refused at once.
func TestKeyFileMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxKeyFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{fifo, dir, big, "/dev/zero"} {
		done := make(chan error, 1)
		go func() {
			_, err := (&Credentials{}).signer(file, true)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), file) {
				t.Errorf("%s: err = %v, want it refused, named", file, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading after 5 s", file)
		}
	}
}

func TestMethodsOrderAndPassword(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	e := Endpoint{KeyFiles: []string{writeKey(t, ed, "")}, explicitKey: true}
	c := &Credentials{}
	if auth, err := c.methods(e, mayTell); err != nil || len(auth) != 1 {
		t.Errorf("a key and no password: %d methods, %v; want the key alone", len(auth), err)
	}
	c = &Credentials{Password: "-k typed"}
	if auth, err := c.methods(e, mayTell); err != nil || len(auth) != 3 {
		t.Errorf("a key and -k: %d methods, %v; want key, password, keyboard-interactive", len(auth), err)
	}
}

// An agent full of other keys must not stop the key file from being
// offered: x/crypto/ssh tries a method name once, so both must be one
// publickey method.
func TestAgentKeysDoNotHideKeyFiles(t *testing.T) {
	_, agentKey, _ := ed25519.GenerateKey(rand.Reader)
	_, fileKey, _ := ed25519.GenerateKey(rand.Reader)
	ring := agent.NewKeyring()
	if err := ring.Add(agent.AddedKey{PrivateKey: agentKey}); err != nil {
		t.Fatal(err)
	}
	c := &Credentials{agent: ring.(agent.ExtendedAgent), agentOK: true}
	auth, err := c.methods(Endpoint{KeyFiles: []string{writeKey(t, fileKey, "")}, explicitKey: true}, mayTell)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ssh.NewSignerFromKey(fileKey)
	if err != nil {
		t.Fatal(err)
	}
	var offered int
	err = handshakeAccepting(t, auth, func(k ssh.PublicKey) bool {
		offered++
		return bytes.Equal(k.Marshal(), want.PublicKey().Marshal())
	})
	if err != nil || offered != 2 {
		t.Errorf("agent key refused, key file accepted: %v after %d keys offered; want success after 2", err, offered)
	}
}

// handshakeAccepting runs a client handshake with auth against an
// in-memory server that accepts the public keys accept says yes to.
func handshakeAccepting(t *testing.T, auth []ssh.AuthMethod, accept func(ssh.PublicKey) bool) error {
	t.Helper()
	_, hostKey, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if accept(k) {
			return nil, nil
		}
		return nil, errors.New("not this key")
	}}
	srv.AddHostKey(hostSigner)
	// A unix socket, not net.Pipe: both ends send their version at once,
	// which an unbuffered pipe deadlocks on.
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "sshd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		serverSide, err := l.Accept()
		if err != nil {
			return
		}
		defer serverSide.Close()
		if conn, _, _, err := ssh.NewServerConn(serverSide, srv); err == nil {
			conn.Close()
		}
	}()
	clientSide, err := net.DialTimeout("unix", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer clientSide.Close()
	clientSide.SetDeadline(time.Now().Add(30 * time.Second))
	cfg := &ssh.ClientConfig{User: "root", Auth: auth, HostKeyCallback: ssh.FixedHostKey(hostSigner.PublicKey())}
	conn, _, _, err := ssh.NewClientConn(clientSide, "pipe", cfg)
	if err == nil {
		conn.Close()
	}
	return err
}
