package runner

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

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
// OpenSSH tries them: agent keys, key files, then the password.
func (c *Credentials) methods(t Endpoint) ([]ssh.AuthMethod, error) {
	var auth []ssh.AuthMethod
	if ag := c.sshAgent(); ag != nil {
		auth = append(auth, ssh.PublicKeysCallback(ag.Signers))
	}
	var signers []ssh.Signer
	for _, f := range t.KeyFiles {
		s, err := c.signer(f, t.explicitKey)
		if err != nil {
			return nil, err
		}
		if s != nil {
			signers = append(signers, s)
		}
	}
	if len(signers) > 0 {
		auth = append(auth, ssh.PublicKeys(signers...))
	}
	pw := c.Password
	if t.Password != "" {
		pw = t.Password
	}
	if pw != "" {
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(answerPassword(pw)))
	}
	return auth, nil
}

// answerPassword answers keyboard-interactive prompts, which some sshd
// configurations use instead of plain password auth.
func answerPassword(pw string) ssh.KeyboardInteractiveChallenge {
	return func(_, _ string, questions []string, _ []bool) ([]string, error) {
		answers := make([]string, len(questions))
		for i := range answers {
			answers[i] = pw
		}
		return answers, nil
	}
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

func (c *Credentials) loadSigner(file string) (ssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(pem)
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
	s, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
	if err != nil {
		return nil, fmt.Errorf("private key %s: wrong passphrase or unreadable key: %w", file, err)
	}
	return s, nil
}
