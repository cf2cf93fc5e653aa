package luatest

import (
	"context"
	"os"

	"remedy/lua/remote"
	"remedy/lua/shell"
)

// FixtureHost is a host whose reads were captured: Answer gives each
// command's output, and false for a command the fixtures do not hold,
// which is recorded in Ran and answered with nothing, as a change would
// be. A batch of reads is answered read by read, as the batch script
// would. Files answers ReadFile; Execs counts sessions.
type FixtureHost struct {
	Answer func(cmd string) (remote.Output, bool)
	Files  map[string]string
	Ran    []string
	Execs  int
}

func (h *FixtureHost) Name() string { return "fixture" }

func (h *FixtureHost) Exec(ctx context.Context, cmd string, stdin []byte) (remote.Output, error) {
	h.Execs++
	b, ok := shell.ParseBatch(cmd)
	if !ok {
		return h.answer(cmd), nil
	}
	outs := make([]remote.Output, len(b.Lines))
	for i, line := range b.Lines {
		outs[i] = h.answer(line)
	}
	return remote.Output{Stdout: b.Frame(outs)}, nil
}

func (h *FixtureHost) answer(cmd string) remote.Output {
	if out, ok := h.Answer(cmd); ok {
		return out
	}
	h.Ran = append(h.Ran, cmd)
	return remote.Output{}
}

func (h *FixtureHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if text, ok := h.Files[path]; ok {
		return []byte(text), nil
	}
	return nil, os.ErrNotExist
}

func (h *FixtureHost) Probe(ctx context.Context, port int) error    { return nil }
func (h *FixtureHost) MovePort(ctx context.Context, port int) error { return nil }
func (h *FixtureHost) Port() int                                    { return 22 }

// Parts is the output of a read in parts (shell.PartsPrelude) holding
// the given name and content pairs, framed as a host would frame them.
func Parts(nameContent ...string) []byte {
	b := shell.NewBatch(nil)
	var out []byte
	for i := 0; i+1 < len(nameContent); i += 2 {
		out = append(append(out, b.Part(nameContent[i])...), nameContent[i+1]...)
	}
	return out
}
