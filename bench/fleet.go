package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// A fake fleet is many SSH servers in this process, one listener on the
// loopback each, that answer remedy's commands with what a lab host
// answered the same commands once (a recording). It lets the controller
// be measured with thousands of hosts, far beyond what lab namespaces on
// the same two cores allow; the servers' own CPU and memory are this
// process's, not remedy's, so they are not counted.

// recording is what one lab host answered to each command of an audit.
type recording struct {
	Host     string     `json:"host"`    // the lab host recorded, and its profile
	Command  string     `json:"command"` // the remedy command line recorded
	Commands []exchange `json:"commands"`
}

// exchange is one command and its answer. Batch boundaries, drawn at
// random for each run, are replaced by frameToken in all three texts.
type exchange struct {
	Command string `json:"command"` // the exec request's payload, as the server got it
	Stdout  string `json:"stdout"`
	Stderr  string `json:"stderr"`
	Exit    int    `json:"exit"`
}

// frame is a boundary remedy draws for a batch of reads (lua/shell).
var frame = regexp.MustCompile(`remedy-[0-9a-f]{32}`)

const frameToken = "remedy-FRAME"

func readRecording(path string) (*recording, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	var r recording
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	if len(r.Commands) == 0 {
		return nil, fmt.Errorf("recording %s: no commands", path)
	}
	return &r, nil
}

// fleet is the servers and what they answer with: replies, or, when
// recording, what upstream answers.
type fleet struct {
	cfg       *ssh.ServerConfig
	hostKey   ssh.Signer
	replies   map[string]exchange // by command
	upstream  *ssh.Client         // recording: the lab host every command goes to
	listeners []net.Listener

	mu       sync.Mutex
	recorded []exchange
	unknown  map[string]bool // commands neither recorded nor replayable
}

// newFleet makes a fleet that lets in clientKey only.
func newFleet(clientKey ssh.PublicKey) (*fleet, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	want := clientKey.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(k.Marshal(), want) {
				return nil, nil
			}
			return nil, errors.New("not the fleet's key")
		},
	}
	cfg.AddHostKey(hostKey)
	return &fleet{cfg: cfg, hostKey: hostKey, unknown: map[string]bool{}}, nil
}

// listen starts n hosts, each on a port of its own on the loopback.
func (f *fleet) listen(n int) error {
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("fleet host %d: %w", len(f.listeners)+1, err)
		}
		f.listeners = append(f.listeners, l)
		go f.serve(l)
	}
	return nil
}

func (f *fleet) close() {
	for _, l := range f.listeners {
		l.Close()
	}
	f.listeners = nil
}

func (f *fleet) serve(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go f.serveConn(conn)
	}
}

func (f *fleet) serveConn(conn net.Conn) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, f.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go f.session(ch, reqs)
	}
}

// session answers one exec request; anything else (a shell, SFTP, a
// pty) is refused, as the audit asks for none of it.
func (f *fleet) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" || len(req.Payload) < 4 {
			req.Reply(false, nil)
			continue
		}
		cmd := string(req.Payload[4:])
		req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		exit := f.exec(ch, cmd)
		ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(exit)))
		return
	}
}

// exec answers cmd on ch and returns its exit status.
func (f *fleet) exec(ch ssh.Channel, cmd string) int {
	if f.upstream != nil {
		return f.record(ch, cmd)
	}
	go io.Copy(io.Discard, ch)
	boundary := frame.FindString(cmd)
	if boundary == "" {
		b := make([]byte, 16)
		rand.Read(b)
		boundary = "remedy-" + hex.EncodeToString(b)
	}
	x, ok := f.replies[frame.ReplaceAllString(cmd, frameToken)]
	if !ok {
		f.mu.Lock()
		f.unknown[cmd] = true
		f.mu.Unlock()
		fmt.Fprintf(ch.Stderr(), "bench fleet: no recorded answer to this command\n")
		return 127
	}
	io.WriteString(ch, strings.ReplaceAll(x.Stdout, frameToken, boundary))
	io.WriteString(ch.Stderr(), strings.ReplaceAll(x.Stderr, frameToken, boundary))
	return x.Exit
}

// record runs cmd on the lab host, passes its answer on and keeps it.
func (f *fleet) record(ch ssh.Channel, cmd string) int {
	sess, err := f.upstream.NewSession()
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "bench record: %v\n", err)
		return 255
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout = io.MultiWriter(ch, &stdout)
	sess.Stderr = io.MultiWriter(ch.Stderr(), &stderr)
	stdin, err := sess.StdinPipe()
	if err != nil {
		return 255
	}
	go func() { io.Copy(stdin, ch); stdin.Close() }()
	exit := 0
	if err := sess.Run(cmd); err != nil {
		var ee *ssh.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintf(ch.Stderr(), "bench record: %v\n", err)
			return 255
		}
		exit = ee.ExitStatus()
	}
	norm := func(s string) string { return frame.ReplaceAllString(s, frameToken) }
	f.mu.Lock()
	f.recorded = append(f.recorded, exchange{Command: norm(cmd), Stdout: norm(stdout.String()), Stderr: norm(stderr.String()), Exit: exit})
	f.mu.Unlock()
	return exit
}

// writeLab writes what remedy needs to audit the fleet into dir, as a
// lab does: inventory.ini, known_hosts and the key, id_ed25519.
func (f *fleet) writeLab(dir string, clientKey []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, clientKey, 0o600); err != nil {
		return err
	}
	var inv, known strings.Builder
	inv.WriteString("[fleet]\n")
	for i, l := range f.listeners {
		port := l.Addr().(*net.TCPAddr).Port
		fmt.Fprintf(&inv, "f%d ansible_host=127.0.0.1 ansible_port=%d ansible_user=root ansible_ssh_private_key_file=%s\n", i+1, port, keyFile)
		known.WriteString(knownhosts.Line([]string{knownhosts.Normalize("127.0.0.1:" + strconv.Itoa(port))}, f.hostKey.PublicKey()) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "inventory.ini"), []byte(inv.String()), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known.String()), 0o600)
}

// unknownCommands are the commands the fleet had no answer to.
func (f *fleet) unknownCommands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cmds []string
	for c := range f.unknown {
		cmds = append(cmds, c)
	}
	return cmds
}

// divergence says where cmd parts from the recorded command that shares
// the longest beginning with it: a batch differs from its recording in
// one read, which the first 300 bytes of the batch would not show.
func (f *fleet) divergence(cmd string) string {
	cmd = frame.ReplaceAllString(cmd, frameToken)
	best, at := "", -1
	for c := range f.replies {
		n := 0
		for n < len(c) && n < len(cmd) && c[n] == cmd[n] {
			n++
		}
		if n > at {
			best, at = c, n
		}
	}
	if at < 0 {
		return fmt.Sprintf("%.300q (nothing recorded)", cmd)
	}
	from := max(0, at-150)
	return fmt.Sprintf("at byte %d, sent ...%.300q, recorded ...%.300q", at, cmd[from:], best[from:])
}

// clientKey makes the key remedy logs in to the fleet with, as a PEM
// file's bytes.
func clientKey() (ssh.PublicKey, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "bench fleet")
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return sshPub, pem.EncodeToMemory(block), nil
}
