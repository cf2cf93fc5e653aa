package lua

import (
	"fmt"
	"io"
	"strings"
)

// displayName is how docs name a module; the global functions have none.
func displayName(m Module) string {
	if m.Name == "" {
		return "globals"
	}
	return m.Name
}

// signature renders f as "file.write(opts) -> res" with types.
func signature(m Module, f Func) string {
	var ps []string
	for _, p := range f.Params {
		ps = append(ps, p.Name+": "+p.Type)
	}
	s := m.QualifiedName(f) + "(" + strings.Join(ps, ", ") + ")"
	var rs []string
	for _, r := range f.Returns {
		rs = append(rs, r.Type)
	}
	if len(rs) > 0 {
		s += " -> " + strings.Join(rs, ", ")
	}
	return s
}

// WriteDoc writes the API reference: an overview of every module and
// library when name is "", else one module ("globals" for expect, log,
// ...) or one of libs, the Lua libraries shipped with remedy.
func WriteDoc(w io.Writer, name string, libs []LibDoc) error {
	if name == "" {
		return writeOverview(w, libs)
	}
	for _, m := range Modules() {
		if displayName(m) == name {
			writeModule(w, m)
			return nil
		}
	}
	for _, l := range libs {
		if l.Name == name {
			writeLibrary(w, l)
			return nil
		}
	}
	return fmt.Errorf("no module or library %q (they are: %s)", name, strings.Join(DocNames(libs), ", "))
}

// DocNames are the names WriteDoc documents, modules then libraries, for
// its error and for shell completion.
func DocNames(libs []LibDoc) []string {
	var names []string
	for _, m := range Modules() {
		names = append(names, displayName(m))
	}
	for _, l := range libs {
		names = append(names, l.Name)
	}
	return names
}

func writeOverview(w io.Writer, libs []LibDoc) error {
	fmt.Fprint(w, `A playbook is a Lua file that returns a table:

  return {
    name = "...", hosts = "pattern", vars = { ... },
    var_types = { domain = "domain", port = "port", server = "host?" },
    prefetch = function(v) return { "sshd", { "cat", "/etc/motd" } } end,
    tasks    = { { name = "...", run = function(v) ... end }, ... },
    checks   = { { name = "...", severity = "high", run = function(v) ... end }, ... },
    handlers = { { name = "...", run = function(v) ... end }, ... },
  }

`)
	fmt.Fprintf(w, "Task keys: %s.\n", strings.Join(TaskKeys(), ", "))
	fmt.Fprintf(w, "Check keys: %s.\n", strings.Join(sortedKeys(checkKeys), ", "))
	fmt.Fprintf(w, "Handler keys: %s.\n\n", strings.Join(sortedKeys(handlerKeys), ", "))
	fmt.Fprintln(w, "Modules (remedy doc MODULE for details):")
	for _, m := range Modules() {
		fmt.Fprintf(w, "  %-10s %s\n", displayName(m), firstSentence(m.Doc))
	}
	if len(libs) > 0 {
		fmt.Fprintln(w, "\nLua libraries shipped with remedy (local x = require(\"NAME\"); remedy doc NAME for details):")
		for _, l := range libs {
			fmt.Fprintf(w, "  %-10s %s\n", l.Name, firstSentence(l.Doc))
		}
	}
	return nil
}

// writeLibrary writes a shipped library's reference as writeModule
// writes a module's.
func writeLibrary(w io.Writer, l LibDoc) {
	fmt.Fprintf(w, "%s: local %s = require(%q) (%s)\n\n%s\n", l.Name, l.Name, l.Name, l.File, strings.TrimSpace(l.Doc))
	for _, m := range l.Members {
		switch {
		case m.Func:
			f := Func{Name: m.Name, Params: m.Params, Returns: m.Returns}
			fmt.Fprintf(w, "\n%s\n", signature(Module{Name: l.Name}, f))
		case m.Value != "":
			fmt.Fprintf(w, "\n%s.%s = %s\n", l.Name, m.Name, m.Value)
		default:
			fmt.Fprintf(w, "\n%s.%s: table\n", l.Name, m.Name)
		}
		if m.Doc != "" {
			fmt.Fprintf(w, "    %s\n", indent(m.Doc, "    "))
		}
		for _, p := range append(append([]Param{}, m.Params...), m.Returns...) {
			if p.Doc != "" && p.Name != "" {
				fmt.Fprintf(w, "    %s: %s\n", p.Name, p.Doc)
			}
		}
	}
}

func writeModule(w io.Writer, m Module) {
	fmt.Fprintf(w, "%s\n\n%s\n", displayName(m), m.Doc)
	for _, fd := range m.Fields {
		fmt.Fprintf(w, "\n%s.%s: %s\n    %s\n", m.Name, fd.Name, fd.Type, fd.Doc)
	}
	for _, f := range m.Funcs {
		fmt.Fprintf(w, "\n%s\n", signature(m, f))
		fmt.Fprintf(w, "    %s\n", indent(f.Doc, "    "))
		for _, p := range append(append([]Param{}, f.Params...), f.Returns...) {
			if p.Doc != "" {
				fmt.Fprintf(w, "    %s: %s\n", strings.TrimSuffix(p.Name, "?"), p.Doc)
			}
		}
	}
	for _, c := range m.Types {
		fmt.Fprintf(w, "\n%s: %s\n", c.Name, c.Doc)
		for _, f := range c.Fields {
			fmt.Fprintf(w, "    %-14s %-10s %s\n", f.Name, f.Type, f.Doc)
		}
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}

// WriteLuaLS writes the LuaLS definition file (lua/types/remedy.lua)
// from the registered modules, so editors complete and type-check
// playbooks with exactly the functions the VM has.
func WriteLuaLS(w io.Writer) {
	fmt.Fprint(w, luaLSHeader)
	for _, m := range Modules() {
		for _, c := range m.Types {
			writeLuaLSClass(w, c)
		}
	}
	for _, m := range Modules() {
		writeLuaLSModule(w, m)
	}
}

const luaLSHeader = `---@meta remedy
-- LuaLS definitions for remedy playbooks. Generated from the modules the
-- remedy binary registers: regenerate with ` + "`remedy doc --luals > lua/types/remedy.lua`" + `
-- (or ` + "`go test ./lua -run TestLuaLS -update`" + `); do not edit by hand.
-- Point your editor at it: add lua/types to "workspace.library" in .luarc.json.

---@class remedy.Task
---@field name string
---@field run fun(v: table<string, any>): any
---@field tags? string|string[]
---@field when? fun(v: table<string, any>): boolean
---@field notify? string|string[] handler names to run once at the end when this task changed something
---@field check_mode? boolean force check mode on (true) or off (false) for this task
---@field ignore_errors? boolean a failure is reported but the host's run goes on
---@field register? string later tasks find {status, changed, failed, skipped, msg, result} in v[register]
---@field timeout? number seconds

---@class remedy.Check
---@field name string
---@field run fun(v: table<string, any>): string?
---@field severity? "info"|"low"|"medium"|"high"|"critical"
---@field tags? string|string[]
---@field when? fun(v: table<string, any>): boolean
---@field timeout? number seconds

---@class remedy.Handler
---@field name string
---@field run fun(v: table<string, any>): any
---@field timeout? number seconds

---@class remedy.Playbook
---@field name? string
---@field hosts? string
---@field vars? table<string, any>
---@field var_types? table<string, string> the shape of each variable that becomes a command argument, checked before any host is contacted: "bool", "port", "domain", "host", "path" or "service", with "?" when unset is allowed
---@field prefetch? fun(v: table<string, any>): (string|string[])[] reads to take with the facts: module names and commands
---@field tasks? remedy.Task[]
---@field checks? remedy.Check[]
---@field handlers? remedy.Handler[]

`

func writeLuaLSClass(w io.Writer, c Class) {
	fmt.Fprintf(w, "%s\n---@class %s\n", luaComment(c.Doc), c.Name)
	for _, f := range c.Fields {
		fmt.Fprintln(w, strings.TrimSpace(fmt.Sprintf("---@field %s %s %s", f.Name, f.Type, f.Doc)))
	}
	fmt.Fprintln(w)
}

func writeLuaLSModule(w io.Writer, m Module) {
	if m.Name != "" {
		if len(m.Fields) > 0 {
			writeLuaLSClass(w, Class{Name: "remedy.module." + m.Name, Doc: firstSentence(m.Doc), Fields: fieldParams(m.Fields)})
			fmt.Fprintf(w, "---@type remedy.module.%s\n%s = {}\n\n", m.Name, m.Name)
		} else {
			fmt.Fprintf(w, "%s\n%s = {}\n\n", luaComment(m.Doc), m.Name)
		}
	}
	for _, f := range m.Funcs {
		fmt.Fprintln(w, luaComment(f.Doc))
		var names []string
		for _, p := range f.Params {
			fmt.Fprintln(w, strings.TrimSpace(fmt.Sprintf("---@param %s %s %s", p.Name, p.Type, oneLine(p.Doc))))
			names = append(names, strings.TrimSuffix(p.Name, "?"))
		}
		for _, r := range f.Returns {
			fmt.Fprintln(w, strings.TrimSpace(fmt.Sprintf("---@return %s %s %s", r.Type, r.Name, oneLine(r.Doc))))
		}
		fmt.Fprintf(w, "function %s(%s) end\n\n", m.QualifiedName(f), strings.Join(names, ", "))
	}
}

func fieldParams(fs []Field) []Param {
	ps := make([]Param, len(fs))
	for i, f := range fs {
		ps[i] = f.Param
	}
	return ps
}

func luaComment(s string) string {
	return "--- " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n--- ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
