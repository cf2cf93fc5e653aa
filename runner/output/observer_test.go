package output

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestTee: every observer behind a Tee sees the whole run, so the text
// stream it prints is the one it prints alone, and a Final renders at End.
func TestTee(t *testing.T) {
	var alone, teed, doc bytes.Buffer
	replay(NewText(&alone, TextOptions{}), auditRecap())
	final := NewFinal(&doc, WriteJSON)
	replay(Tee{NewText(&teed, TextOptions{}), final}, auditRecap())
	if teed.String() != alone.String() {
		t.Errorf("text behind a Tee differs:\n%s", teed.String())
	}
	if err := final.Err(); err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(doc.Bytes(), &decoded); err != nil || decoded["playbook"] != "Aspera HSTS network" {
		t.Errorf("Final wrote %q: %v", doc.String(), err)
	}
}

func TestFinalReportsWriteError(t *testing.T) {
	final := NewFinal(failingWriter{}, WriteJUnit)
	replay(final, auditRecap())
	if final.Err() == nil {
		t.Error("a failing writer reported no error")
	}
}

func TestTerminalTextOptionsOffForFiles(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opt := TerminalTextOptions(f, 2)
	if opt.Color || opt.Progress || opt.Verbosity != 2 {
		t.Errorf("TerminalTextOptions(file) = %+v: want no colour, no progress, verbosity kept", opt)
	}
}
