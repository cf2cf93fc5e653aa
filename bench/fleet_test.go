package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// A fake host answers a recorded batch with the recorded output, framed
// with the boundary of the batch it is sent now, and refuses what the
// recording lacks.
func TestFleetReplaysRecordedAnswers(t *testing.T) {
	pub, priv, err := clientKey()
	if err != nil {
		t.Fatal(err)
	}
	f, err := newFleet(pub)
	if err != nil {
		t.Fatal(err)
	}
	f.replies = map[string]exchange{
		"read remedy-FRAME": {Command: "read remedy-FRAME", Stdout: "\nremedy-FRAME:facts\ndebian\n", Stderr: "remedy-pgid:7\n", Exit: 3},
	}
	if err := f.listen(2); err != nil {
		t.Fatal(err)
	}
	defer f.close()
	dir := t.TempDir()
	if err := f.writeLab(dir, priv); err != nil {
		t.Fatal(err)
	}
	inv, _ := os.ReadFile(filepath.Join(dir, "inventory.ini"))
	if n := strings.Count(string(inv), "ansible_host=127.0.0.1"); n != 2 {
		t.Fatalf("inventory lists %d hosts, want 2:\n%s", n, inv)
	}
	key, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(filepath.Join(dir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", f.listeners[1].Addr().String(), &ssh.ClientConfig{User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: check, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := func(cmd string) (string, string, error) {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var stdout, stderr bytes.Buffer
		s.Stdout, s.Stderr = &stdout, &stderr
		err = s.Run(cmd)
		return stdout.String(), stderr.String(), err
	}
	live := "remedy-0123456789abcdef0123456789abcdef"
	stdout, stderr, err := run("read " + live)
	if want := "\n" + live + ":facts\ndebian\n"; stdout != want || stderr != "remedy-pgid:7\n" {
		t.Errorf("stdout %q stderr %q, want %q", stdout, stderr, want)
	}
	if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 3 {
		t.Errorf("exit: %v, want status 3", err)
	}
	if _, _, err := run("rm -rf /"); err == nil {
		t.Error("a command the recording lacks succeeded")
	}
	if u := f.unknownCommands(); len(u) != 1 || u[0] != "rm -rf /" {
		t.Errorf("unknown commands %q", u)
	}
}

// The committed recording answers every command the audit of this tree
// sends, as the fleet benchmark replays it: a change to the audit's reads
// that was not recorded again (bench record) fails here, not half an
// hour into make bench.
func TestRecordingAnswersTheAudit(t *testing.T) {
	rec, err := readRecording("testdata/audit-nftables.json")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "remedy")
	if out, err := exec.Command("go", "build", "-o", bin, "remedy/cmd/remedy").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if _, err := fleetRuns(bin, rec, 1, 1, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

func TestSpliceDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	os.WriteFile(path, []byte("# B\n<!-- bench:fleet -->\nold\n<!-- /bench:fleet -->\nafter\n"), 0o644)
	if err := spliceDoc(path, "fleet", "new table\n\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "# B\n<!-- bench:fleet -->\nnew table\n<!-- /bench:fleet -->\nafter\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := spliceDoc(path, "hosts-20", "x"); err == nil {
		t.Error("no markers: no error")
	}
	os.WriteFile(path, []byte("# B\n<!-- bench:more -->\n"), 0o644)
	for _, table := range []string{"t1", "t2"} {
		if err := spliceDoc(path, "hosts-7", table); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = os.ReadFile(path)
	if want := "# B\n### 7 hosts\n\n<!-- bench:hosts-7 -->\nt2\n<!-- /bench:hosts-7 -->\n\n<!-- bench:more -->\n"; string(got) != want {
		t.Errorf("a new block: got %q, want %q", got, want)
	}
}

// A host count measured again replaces its earlier medians in the
// scaling table, which compares each count with the next.
func TestScaleKeepsTheLatestOfEachCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	lines := `{"hosts":20,"tool":"remedy","wall_s":1,"max_rss_mib":20}
{"hosts":100,"tool":"remedy","wall_s":9,"max_rss_mib":50}
{"hosts":100,"tool":"remedy","wall_s":4,"max_rss_mib":50}
{"hosts":500,"tool":"remedy","wall_s":20,"max_rss_mib":250}
`
	os.WriteFile(path, []byte(lines), 0o644)
	var out strings.Builder
	if err := scaleCmd(path, "", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| remedy | 20 → 100 | 1.00 s → 4.00 s | 4.00x | 5x | yes |", "| remedy | 100 → 500 | 4.00 s → 20.00 s | 5.00x | 5x | yes |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "9.00 s") {
		t.Errorf("the earlier run of 100 hosts is still there:\n%s", out.String())
	}
}

// A batch that differs from its recording in one read is shown where it
// differs, not by its beginning, which every batch shares.
func TestDivergenceShowsTheReadThatDiffers(t *testing.T) {
	f := &fleet{replies: map[string]exchange{
		"sh -c BATCH sh " + frameToken + " 'sshd -T' 'cat /etc/hostname'": {},
		"sh -c OTHER": {},
	}}
	got := f.divergence("sh -c BATCH sh remedy-0123456789abcdef0123456789abcdef 'sshd -T' 'cat /etc/hosts'")
	for _, want := range []string{"at byte 52", `cat /etc/hosts'`, `cat /etc/hostname'`} {
		if !strings.Contains(got, want) {
			t.Errorf("divergence = %s, want it to contain %q", got, want)
		}
	}
	if got := (&fleet{}).divergence("true"); !strings.Contains(got, "nothing recorded") {
		t.Errorf("divergence with no recording = %s", got)
	}
}
