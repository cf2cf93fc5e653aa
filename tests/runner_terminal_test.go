package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"remedy/lua/shell"
)

// Two Ctrl-C at the -k password prompt: remedy exits 99 at once and
// leaves the terminal echoing, as it found it. No host is contacted.
func TestSecondCtrlCAtPromptRestoresTerminal(t *testing.T) {
	bin := buildRemedy(t)
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The shell script starts shares remedy's process group, so it gets
	// each Ctrl-C too; dash (CI's /bin/sh) would die of it. The trap keeps
	// the shell alive to report, and a trap with a command is not inherited.
	line := "trap : INT; " + shell.Join(bin, "run", pb, "-i", "h1,", "-k") + "; echo exit=$?; stty -a"
	tm := startOnTerminal(t, ctx, line, nil)
	tm.waitFor(t, "SSH password: ", 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	tm.stdin.Write([]byte{3})
	tm.waitFor(t, "Ctrl-C again", 10*time.Second) // the first Ctrl-C was taken
	tm.stdin.Write([]byte{3})
	if err := tm.cmd.Wait(); err != nil {
		t.Fatalf("script: %v\n%s", err, tm.out)
	}
	got := tm.out.String()
	if !strings.Contains(got, "exit=99") {
		t.Errorf("want exit 99 after the second Ctrl-C: %s", got)
	}
	if !strings.Contains(got, " echo ") || strings.Contains(got, " -echo ") {
		t.Errorf("the terminal was left without echo: %s", got)
	}
}
