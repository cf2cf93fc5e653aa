package runner

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
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

func TestMethodsOrderAndPassword(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	e := Endpoint{KeyFiles: []string{writeKey(t, ed, "")}, explicitKey: true}
	c := &Credentials{}
	if auth, err := c.methods(e); err != nil || len(auth) != 1 {
		t.Errorf("a key and no password: %d methods, %v; want the key alone", len(auth), err)
	}
	c = &Credentials{Password: "-k typed"}
	if auth, err := c.methods(e); err != nil || len(auth) != 3 {
		t.Errorf("a key and -k: %d methods, %v; want key, password, keyboard-interactive", len(auth), err)
	}
	answers, err := answerPassword("pw")("", "", []string{"Password: ", "Again: "}, []bool{false, false})
	if err != nil || len(answers) != 2 || answers[0] != "pw" || answers[1] != "pw" {
		t.Errorf("keyboard-interactive answers %q, %v", answers, err)
	}
}
