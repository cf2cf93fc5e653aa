package labkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// keyPair is an SSH key in OpenSSH's file formats.
type keyPair struct {
	private []byte // PEM, as ssh-keygen writes it
	public  []byte // authorized_keys line
	key     ssh.PublicKey
}

// newKeyPair generates an ed25519 or ecdsa (P-256) key. Generating in Go
// instead of running ssh-keygen per host keeps a 50-host Up fast; RSA is left
// out because generating it would dominate Up's time.
func newKeyPair(kind, comment string) (keyPair, error) {
	var priv crypto.Signer
	var err error
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = fmt.Errorf("unsupported key type")
	}
	if err != nil {
		return keyPair{}, fmt.Errorf("generate %s key: %w", kind, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode %s key: %w", kind, err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return keyPair{}, fmt.Errorf("encode %s key: %w", kind, err)
	}
	line := ssh.MarshalAuthorizedKey(pub)
	line = append(line[:len(line)-1], []byte(" "+comment+"\n")...)
	return keyPair{private: pem.EncodeToMemory(block), public: line, key: pub}, nil
}

// hostKeyTypes are the host keys every lab host has, as sshd names their files.
var hostKeyTypes = []string{"ecdsa", "ed25519"}
