package lua_test

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/playbooks"
)

// TestShippedLibrariesAreDocumented: remedy doc lists each shipped
// library, and every function a library's table holds is there with its
// signature and a doc comment; a function without one fails here, not
// in front of a user.
func TestShippedLibrariesAreDocumented(t *testing.T) {
	libs, err := lua.ReadLibDocs(luatest.Shipped.Shipped)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range libs {
		names = append(names, l.Name)
	}
	if strings.Join(names, " ") != "aspera policy" {
		t.Fatalf("libraries %v", names)
	}
	var overview bytes.Buffer
	if err := lua.WriteDoc(&overview, "", libs); err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if !strings.Contains(overview.String(), "\n  "+l.Name+" ") {
			t.Errorf("the overview does not list %s:\n%s", l.Name, overview.String())
		}
		var b bytes.Buffer
		if err := lua.WriteDoc(&b, l.Name, libs); err != nil {
			t.Fatal(err)
		}
		// Every function the library's source defines on its table.
		raw, err := fs.ReadFile(playbooks.Lib, l.Name+".lua")
		if err != nil {
			t.Fatal(err)
		}
		src := string(raw)
		defined := regexp.MustCompile(`(?m)^function `+l.Name+`\.(\w+)\(`).FindAllStringSubmatch(src, -1)
		if len(defined) == 0 {
			t.Fatalf("%s defines no functions?", l.Name)
		}
		for _, d := range defined {
			if !strings.Contains(b.String(), "\n"+l.Name+"."+d[1]+"(") {
				t.Errorf("remedy doc %s does not show %s.%s:\n%s", l.Name, l.Name, d[1], b.String())
			}
		}
		for _, m := range l.Members {
			if m.Func && m.Doc == "" {
				t.Errorf("%s.%s has no doc comment (--- above it)", l.Name, m.Name)
			}
		}
	}
	var b bytes.Buffer
	if err := lua.WriteDoc(&b, "policy", libs); err != nil ||
		!strings.Contains(b.String(), "policy.parse_ss(text: string) -> {proto: string, addr: string, port: integer}[]\n    Parses `ss -H -l -n -t -u` output") {
		t.Fatalf("policy: %v\n%s", err, b.String())
	}
	if err := lua.WriteDoc(&b, "polcy", libs); err == nil || !strings.Contains(err.Error(), "globals, ") || !strings.Contains(err.Error(), "aspera, policy") {
		t.Fatalf("unknown name: %v", err)
	}
}
