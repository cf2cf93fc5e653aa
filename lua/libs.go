package lua

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// libraries finds and compiles required modules, once per playbook, so
// every host's VM shares the byte code.
type libraries struct {
	dirs   []Dir
	mu     sync.Mutex
	protos map[string]*glua.FunctionProto
}

var moduleName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

func (l *libraries) compile(name string) (*glua.FunctionProto, error) {
	if !moduleName.MatchString(name) {
		return nil, fmt.Errorf("bad module name: use letters, digits, _ and - separated by dots")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.protos[name]; ok {
		return p, nil
	}
	rel := strings.ReplaceAll(name, ".", "/") + ".lua"
	var searched []string
	for _, d := range l.dirs {
		src, err := fs.ReadFile(d.FS, rel)
		if errors.Is(err, fs.ErrNotExist) {
			searched = append(searched, path.Join(d.Name, rel))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(d.Name, rel), err)
		}
		p, err := compileChunk(src, path.Join(d.Name, rel))
		if err != nil {
			return nil, err
		}
		l.protos[name] = p
		return p, nil
	}
	return nil, fmt.Errorf("not found in %s", strings.Join(searched, ", "))
}

// compileChunk parses and compiles Lua source. A syntax error reads
// "file:line: ...", like a runtime error.
func compileChunk(src []byte, chunk string) (*glua.FunctionProto, error) {
	ast, err := parse.Parse(bytes.NewReader(src), chunk)
	if err != nil {
		return nil, syntaxError(chunk, err)
	}
	p, err := glua.Compile(ast, chunk)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", chunk, err)
	}
	return p, nil
}

func syntaxError(chunk string, err error) error {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", chunk, err)
	}
	if pe.Pos.Line == parse.EOF {
		return fmt.Errorf("%s: at end of file: %s", chunk, strings.TrimSpace(pe.Message))
	}
	return fmt.Errorf("%s:%d:%d: near %q: %s", chunk, pe.Pos.Line, pe.Pos.Column, pe.Token, strings.TrimSpace(pe.Message))
}
