package tests

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// Two Ctrl-C at the -k password prompt: remedy exits 99 at once and
// leaves the terminal echoing, as it found it. No host is contacted.
func TestSecondCtrlCAtPromptRestoresTerminal(t *testing.T) {
	labkit.RequireTools(t, "script")
	bin := buildRemedy(t)
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The shell script starts shares remedy's process group, so it gets
	// each Ctrl-C too; dash (CI's /bin/sh) would die of it. The trap keeps
	// the shell alive to report, and a trap with a command is not inherited.
	line := "trap : INT; " + shell.Join(bin, "run", pb, "-i", "h1,", "-k") + "; echo exit=$?; stty -a"
	cmd := exec.CommandContext(ctx, "script", "-qec", line, "/dev/null")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "SSH password: "); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no password prompt: %s", out)
		}
	}
	time.Sleep(300 * time.Millisecond)
	stdin.Write([]byte{3})
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Ctrl-C again"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first Ctrl-C was not taken: %s", out)
		}
	}
	stdin.Write([]byte{3})
	if err := cmd.Wait(); err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	got := out.String()
	if !strings.Contains(got, "exit=99") {
		t.Errorf("want exit 99 after the second Ctrl-C: %s", got)
	}
	if !strings.Contains(got, " echo ") || strings.Contains(got, " -echo ") {
		t.Errorf("the terminal was left without echo: %s", got)
	}
}
