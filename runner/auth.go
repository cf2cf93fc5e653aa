package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/melbahja/goph"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Prompt asks the operator for a secret (a key passphrase) without
// echoing it; the CLI reads the terminal, tests answer directly.
type Prompt func(question string) (string, error)

// Credentials are the ways remedy can authenticate, shared by every host
// of a run so each key file is read, and each passphrase asked, once.
type Credentials struct {
	Password string // -k, or an inventory ansible_password
	Prompt   Prompt // nil: an encrypted key without an agent is an error

	mu      sync.Mutex
	signers map[string]ssh.Signer // by key file
	agent   agent.ExtendedAgent
	agentOK bool // the agent was looked for
}

// methods returns the auth methods to offer for a target, in the order
// OpenSSH tries them: agent keys, key files, then the password, which
// goes only when mayTell (asked after the host key check) says so.
//
// Agent and file keys go in ONE publickey method: x/crypto/ssh tries each
// method name once, so a second publickey method (goph.UseAgent's beside
// goph.Key's) is never offered once the first is refused, and a key file
// would be skipped whenever the agent holds only other keys.
func (c *Credentials) methods(t Endpoint, mayTell func() error) (goph.Auth, error) {
	var files []ssh.Signer
	for _, f := range t.KeyFiles {
		s, err := c.signer(f, t.explicitKey)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		certs, err := certSigners(s, append([]string{f + "-cert.pub"}, t.CertFiles...), t.CertFiles)
		if err != nil {
			return nil, err
		}
		files = append(append(files, certs...), s)
	}
	var auth goph.Auth
	ag := c.sshAgent()
	if ag != nil || len(files) > 0 {
		auth = append(auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			return agentThenFiles(ag, files), nil
		}))
	}
	pw := c.Password
	if t.Password != "" {
		pw = t.Password
	}
	if pw != "" {
		auth = append(auth, passwordMethods(pw, mayTell)...)
	}
	return auth, nil
}

// certSigners are s with each certificate for its key among files, as
// OpenSSH offers a key's certificate before the key itself: KEY-cert.pub
// beside a key file, and CertificateFile lines. A file that is missing
// is skipped unless named (required), as OpenSSH finds KEY-cert.pub only
// when it is there; one that does not read as a certificate is an error.
func certSigners(s ssh.Signer, files, required []string) ([]ssh.Signer, error) {
	var out []ssh.Signer
	for _, f := range files {
		data, err := readKeyFile(f)
		if errors.Is(err, os.ErrNotExist) && !slices.Contains(required, f) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
		cert, ok := pub.(*ssh.Certificate)
		if err != nil || !ok {
			return nil, fmt.Errorf("certificate %s: not an OpenSSH certificate", f)
		}
		if !bytes.Equal(cert.Key.Marshal(), s.PublicKey().Marshal()) {
			continue
		}
		cs, err := ssh.NewCertSigner(cert, s)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", f, err)
		}
		out = append(out, cs)
	}
	return out, nil
}

// passwordMethods are password, then keyboard-interactive answering its
// password prompts, which some sshd configurations use instead: goph's
// KeyboardInteractive, with the password given only when mayTell allows.
// A refusal ends the login with its reason once no other method is left.
func passwordMethods(pw string, mayTell func() error) []ssh.AuthMethod {
	return []ssh.AuthMethod{
		ssh.PasswordCallback(func() (string, error) {
			if err := mayTell(); err != nil {
				return "", err
			}
			return pw, nil
		}),
		ssh.KeyboardInteractive(func(user, instruction string, questions []string, echos []bool) ([]string, error) {
			if err := mayTell(); err != nil {
				return nil, err
			}
			answers := make([]string, len(questions))
			for i, q := range questions {
				if strings.Contains(strings.ToLower(q), "password") {
					answers[i] = pw
				}
			}
			return answers, nil
		}),
	}
}

// agentThenFiles lists the agent's keys before the key files'. An agent
// that cannot list its keys just offers none, as OpenSSH goes on without it.
func agentThenFiles(ag agent.ExtendedAgent, files []ssh.Signer) []ssh.Signer {
	if ag == nil {
		return files
	}
	signers, err := ag.Signers()
	if err != nil {
		return files
	}
	return append(signers, files...)
}

// sshAgent connects to SSH_AUTH_SOCK once per run.
func (c *Credentials) sshAgent() agent.ExtendedAgent {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.agentOK {
		c.agentOK = true
		if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
			if conn, err := net.Dial("unix", sock); err == nil {
				c.agent = agent.NewClient(conn)
			}
		}
	}
	return c.agent
}

// signer loads a private key file once, asking for its passphrase when it
// is encrypted. A missing default key file (not named by the operator or
// the inventory) is no error: OpenSSH skips those too.
func (c *Credentials) signer(file string, explicit bool) (ssh.Signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.signers[file]; ok {
		return s, nil
	}
	s, err := c.loadSigner(file)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		s, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.signers == nil {
		c.signers = map[string]ssh.Signer{}
	}
	c.signers[file] = s
	return s, nil
}

// maxKeyFile bounds a private key file; the largest OpenSSH writes (RSA,
// 16384 bits) is about 13 kB.
const maxKeyFile = 1 << 20

// readKeyFile reads a private key file, which must be a regular file of
// at most maxKeyFile bytes: a key path an inventory names could be
// /dev/zero, which never ends, or a FIFO, which blocks. It is opened
// without blocking and checked on the open file.
func readKeyFile(file string) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", file, info.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a private key", file, maxKeyFile)
	}
	return data, nil
}

// loadSigner parses a key file through goph, first without a passphrase
// so an unencrypted key never prompts.
func (c *Credentials) loadSigner(file string) (ssh.Signer, error) {
	pem, err := readKeyFile(file)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	s, err := goph.GetSignerForRawKey(pem, "")
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		if err != nil {
			return nil, fmt.Errorf("private key %s: %w", file, err)
		}
		return s, nil
	}
	if c.Prompt == nil {
		return nil, fmt.Errorf("private key %s is encrypted and no terminal can ask its passphrase; load it into ssh-agent", file)
	}
	pass, err := c.Prompt(fmt.Sprintf("Enter passphrase for key '%s': ", file))
	if err != nil {
		return nil, fmt.Errorf("private key %s: passphrase: %w", file, err)
	}
	s, err = goph.GetSignerForRawKey(pem, pass)
	if err != nil {
		return nil, fmt.Errorf("private key %s: wrong passphrase or unreadable key: %w", file, err)
	}
	return s, nil
}
