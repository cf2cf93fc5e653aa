package lua

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"remedy/lua/remote"
)

var update = flag.Bool("update", false, "rewrite lua/types/remedy.lua from the registered modules")

const luaLSFile = "types/remedy.lua"

// The shipped LuaLS file must list exactly the functions the VM registers.
func TestLuaLSDefinitionsInSync(t *testing.T) {
	var b bytes.Buffer
	WriteLuaLS(&b)
	if *update {
		if err := os.WriteFile(luaLSFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shipped, err := os.ReadFile(luaLSFile)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range Modules() {
		for _, f := range m.Funcs {
			want = append(want, m.QualifiedName(f))
		}
	}
	sort.Strings(want)
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^function ([\w.]+)\(`).FindAllStringSubmatch(string(shipped), -1) {
		got = append(got, m[1])
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s lists %v,\nthe VM registers %v;\nrun: go test ./lua -run TestLuaLS -update", luaLSFile, got, want)
	}
	if _, err := compileChunk(shipped, luaLSFile); err != nil {
		t.Fatalf("%s is not valid Lua: %v", luaLSFile, err)
	}
	if !bytes.Equal(shipped, b.Bytes()) {
		t.Fatalf("%s is stale (docs or types changed); run: go test ./lua -run TestLuaLS -update", luaLSFile)
	}
}

// The LuaLS task class must offer exactly the keys Load accepts.
func TestLuaLSTaskFields(t *testing.T) {
	block := luaLSHeader[strings.Index(luaLSHeader, "---@class remedy.Task\n"):]
	block = block[:strings.Index(block, "\n\n")]
	var got []string
	for _, m := range regexp.MustCompile(`---@field (\w+)\??`).FindAllStringSubmatch(block, -1) {
		got = append(got, m[1])
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(TaskKeys(), " ") {
		t.Fatalf("remedy.Task fields %v, task keys %v", got, TaskKeys())
	}
}

func TestWriteDoc(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDoc(&b, "", nil); err != nil || !strings.Contains(b.String(), "file       Reads and writes files") {
		t.Fatalf("overview: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := WriteDoc(&b, "file", nil); err != nil || !strings.Contains(b.String(), "file.write(opts: {path: string,") {
		t.Fatalf("file: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := WriteDoc(&b, "globals", nil); err != nil || !strings.Contains(b.String(), "expect(cond: any, fmt?: string, ...: any) -> any") {
		t.Fatalf("globals: %v\n%s", err, b.String())
	}
	if err := WriteDoc(&b, "nope", nil); err == nil {
		t.Fatal("unknown module: want an error")
	}
}

// host.facts is Facts through its JSON tags; the documented class must
// name every one of them.
func TestFactsClassMatchesFacts(t *testing.T) {
	var want []string
	ft := reflect.TypeOf(remote.Facts{})
	for i := range ft.NumField() {
		name, _, _ := strings.Cut(ft.Field(i).Tag.Get("json"), ",")
		want = append(want, name)
	}
	m, _ := LookupModule("host")
	var got []string
	for _, c := range m.Types {
		if c.Name == "remedy.Facts" {
			for _, f := range c.Fields {
				got = append(got, f.Name)
			}
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("remedy.Facts documents %v; Facts has %v", got, want)
	}
}
