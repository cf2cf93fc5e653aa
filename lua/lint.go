package lua

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"

	"remedy/lua/template"
)

// LintIssue is one problem remedy lint found in a playbook.
type LintIssue struct {
	File    string
	Line    int  // 0 when the message already names the position
	Warning bool // a warning does not make lint fail
	Msg     string
}

func (i LintIssue) String() string {
	sev := "error"
	if i.Warning {
		sev = "warning"
	}
	if i.Line == 0 {
		return fmt.Sprintf("%s: %s: %s", i.File, sev, i.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", i.File, i.Line, sev, i.Msg)
}

// Lint checks a playbook without contacting any host: syntax, the shape
// of the returned table (unknown keys, notify targets), globals, module
// functions and module options that do not exist, and task variables (v.NAME) the
// playbook neither defines nor registers, which must then come from the
// inventory or -e.
func Lint(src Source, o LoadOptions) []LintIssue {
	file := src.Name
	chunk, err := parse.Parse(bytes.NewReader(src.Text), file)
	if err != nil {
		return []LintIssue{issueFromError(file, syntaxError(file, err))}
	}
	l := newLinter(file)
	l.libs = newLibraries(o, src.Dir)
	l.collectGlobals(chunk)
	l.block(chunk, nil)
	p, err := Load(src, o)
	if err != nil {
		// A top-level require of a missing module, or io.open at the top
		// level, is also a syntax-tree finding, which says more than the
		// error evaluating it: report the line once.
		if issue := issueFromError(file, err); !l.reported(issue.Line) {
			l.issues = append(l.issues, issue)
		}
	} else {
		l.checkVars(p)
	}
	sort.SliceStable(l.issues, func(i, j int) bool { return l.issues[i].Line < l.issues[j].Line })
	return l.issues
}

// reported: an error is already reported at line (0: none is).
func (l *linter) reported(line int) bool {
	return line > 0 && slices.ContainsFunc(l.issues, func(i LintIssue) bool { return i.Line == line && !i.Warning })
}

// issueFromError moves the "file:line:" prefix of a load error into the
// issue's fields, so every lint line reads "file:line: error: ...".
func issueFromError(file string, err error) LintIssue {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, file+":")
	if !ok {
		return LintIssue{File: file, Msg: msg}
	}
	num, after, _ := strings.Cut(rest, ":")
	line, convErr := strconv.Atoi(num)
	if convErr != nil {
		return LintIssue{File: file, Msg: strings.TrimSpace(rest)}
	}
	// A column may follow the line.
	if col, more, ok := strings.Cut(after, ":"); ok {
		if _, err := strconv.Atoi(col); err == nil {
			after = more
		}
	}
	return LintIssue{File: file, Line: line, Msg: strings.TrimSpace(after)}
}

// linter walks a chunk's syntax tree with a stack of local scopes.
type linter struct {
	file     string
	known    map[string]bool // globals the sandbox provides
	assigned map[string]bool // globals the file itself defines
	scopes   []map[string]bool
	varUses  []varUse
	varSets  map[string]bool // v.NAME = ... anywhere
	libs     *libraries      // where require would look
	issues   []LintIssue
}

// varUse is a read of v.NAME inside a task's run or when.
type varUse struct {
	name string
	line int
}

// varsParam marks, in a scope, the parameter that receives the vars table.
const varsParam = "\x00vars:"

func newLinter(file string) *linter {
	l := &linter{file: file, known: map[string]bool{}, assigned: map[string]bool{}, varSets: map[string]bool{}}
	p := &Playbook{libs: newLibraries(LoadOptions{}, Dir{})}
	L := p.newVM(&Env{})
	defer L.Close()
	L.G.Global.ForEach(func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); ok {
			l.known[string(s)] = true
		}
	})
	return l
}

func (l *linter) collectGlobals(stmts []ast.Stmt) {
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.AssignStmt:
			for _, e := range s.Lhs {
				if id, ok := e.(*ast.IdentExpr); ok {
					l.assigned[id.Value] = true
				}
			}
		case *ast.FuncDefStmt:
			if id, ok := s.Name.Func.(*ast.IdentExpr); ok {
				l.assigned[id.Value] = true
			}
		}
	}
}

func (l *linter) errorf(line int, format string, args ...any) {
	l.issues = append(l.issues, LintIssue{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (l *linter) push(names ...string) {
	s := map[string]bool{}
	for _, n := range names {
		s[n] = true
	}
	l.scopes = append(l.scopes, s)
}

func (l *linter) pop() { l.scopes = l.scopes[:len(l.scopes)-1] }

func (l *linter) declare(names ...string) {
	for _, n := range names {
		l.scopes[len(l.scopes)-1][n] = true
	}
}

// local reports whether name is a local in scope, and whether it is the
// vars parameter of a task's run or when.
func (l *linter) local(name string) (isLocal, isVars bool) {
	for i := len(l.scopes) - 1; i >= 0; i-- {
		if l.scopes[i][name] {
			return true, l.scopes[i][varsParam+name]
		}
	}
	return false, false
}

func (l *linter) block(stmts []ast.Stmt, declare []string) {
	l.push(declare...)
	defer l.pop()
	for _, s := range stmts {
		l.stmt(s)
	}
}

func (l *linter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.LocalAssignStmt:
		l.exprs(s.Exprs)
		l.declare(s.Names...)
	case *ast.AssignStmt:
		for _, e := range s.Lhs {
			l.assignTarget(e)
		}
		l.exprs(s.Rhs)
	case *ast.FuncCallStmt:
		l.expr(s.Expr)
	case *ast.DoBlockStmt:
		l.block(s.Stmts, nil)
	case *ast.WhileStmt:
		l.expr(s.Condition)
		l.block(s.Stmts, nil)
	case *ast.RepeatStmt:
		l.block(s.Stmts, nil)
		l.expr(s.Condition)
	case *ast.IfStmt:
		l.expr(s.Condition)
		l.block(s.Then, nil)
		l.block(s.Else, nil)
	case *ast.NumberForStmt:
		l.exprs([]ast.Expr{s.Init, s.Limit, s.Step})
		l.block(s.Stmts, []string{s.Name})
	case *ast.GenericForStmt:
		l.exprs(s.Exprs)
		l.block(s.Stmts, s.Names)
	case *ast.FuncDefStmt:
		l.funcDef(s)
	case *ast.ReturnStmt:
		l.exprs(s.Exprs)
	}
}

func (l *linter) funcDef(s *ast.FuncDefStmt) {
	if id, ok := s.Name.Func.(*ast.IdentExpr); ok {
		if isLocal, _ := l.local(id.Value); !isLocal {
			l.assigned[id.Value] = true
		}
	} else if s.Name.Func != nil {
		l.expr(s.Name.Func)
	}
	if s.Name.Receiver != nil {
		l.expr(s.Name.Receiver)
	}
	params := s.Func.ParList.Names
	if s.Name.Method != "" {
		params = append([]string{"self"}, params...)
	}
	l.block(s.Func.Stmts, params)
}

// assignTarget walks the left side of an assignment; v.NAME = x there
// defines NAME for later tasks.
func (l *linter) assignTarget(e ast.Expr) {
	switch e := e.(type) {
	case *ast.IdentExpr:
		return
	case *ast.AttrGetExpr:
		if id, ok := e.Object.(*ast.IdentExpr); ok {
			if _, isVars := l.local(id.Value); isVars {
				if k, ok := e.Key.(*ast.StringExpr); ok {
					l.varSets[k.Value] = true
				}
				return
			}
		}
	}
	l.expr(e)
}

func (l *linter) exprs(es []ast.Expr) {
	for _, e := range es {
		if e != nil {
			l.expr(e)
		}
	}
}

func (l *linter) expr(e ast.Expr) {
	switch e := e.(type) {
	case *ast.IdentExpr:
		l.ident(e)
	case *ast.AttrGetExpr:
		l.attr(e)
	case *ast.TableExpr:
		l.table(e)
	case *ast.FuncCallExpr:
		l.exprs(append([]ast.Expr{e.Func, e.Receiver}, e.Args...))
		l.callOptions(e)
		l.require(e)
		l.template(e)
	case *ast.LogicalOpExpr:
		l.exprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.RelationalOpExpr:
		l.exprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.StringConcatOpExpr:
		l.exprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.ArithmeticOpExpr:
		l.exprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.UnaryMinusOpExpr:
		l.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		l.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		l.expr(e.Expr)
	case *ast.FunctionExpr:
		l.block(e.Stmts, e.ParList.Names)
	}
}

func (l *linter) ident(e *ast.IdentExpr) {
	if isLocal, _ := l.local(e.Value); isLocal || l.known[e.Value] || l.assigned[e.Value] {
		return
	}
	if why, ok := notInSandbox[e.Value]; ok {
		l.errorf(e.Line(), "%s is not in remedy's sandbox: %s", e.Value, why)
		return
	}
	l.errorf(e.Line(), "unknown global %q", e.Value)
}

// notInSandbox are the standard Lua names a playbook does not have
// (sandbox.go), each with what to use instead: lint says so at the line
// rather than "unknown global", and before a host says "attempt to call
// a nil value".
var notInSandbox = map[string]string{
	"io":         "read and write the host's files with file.read and file.write",
	"debug":      "there is no debug library",
	"load":       "it loads no code from strings or files; share code with require",
	"loadstring": "it loads no code from strings or files; share code with require",
	"dofile":     "it loads no code from strings or files; share code with require",
	"loadfile":   "it loads no code from strings or files; share code with require",
	"module":     "return a table from the module and require it",
	"getfenv":    "function environments are not open to playbooks",
	"setfenv":    "function environments are not open to playbooks",
	"newproxy":   "there is no newproxy",
	"package":    "require finds modules in playbooks/lib, --lua-path and beside the playbook",
}

// notInSandboxOS are what the os functions the sandbox leaves out are for.
var notInSandboxOS = map[string]string{
	"execute": "run commands on the host with cmd.run or cmd.query",
	"exit":    "fail the task or check with fail() instead",
	"getenv":  "pass values with vars, the inventory or -e",
	"remove":  "the controller's files are not open to playbooks; change the host's through the file module",
	"rename":  "the controller's files are not open to playbooks; change the host's through the file module",
	"tmpname": "the controller's files are not open to playbooks",
}

// sandboxMember reports obj.key when the sandbox leaves it out: a
// library it does not have at all (io.open), an os function other than
// the clocks, string.dump. It says whether it reported.
func (l *linter) sandboxMember(obj, key string, line int) bool {
	if why, ok := notInSandbox[obj]; ok {
		l.errorf(line, "%s.%s: %s is not in remedy's sandbox: %s", obj, key, obj, why)
		return true
	}
	switch {
	case obj == "os" && !slices.Contains(safeOS, key):
		why, ok := notInSandboxOS[key]
		if !ok {
			why = "its os has only " + strings.Join(safeOS, ", ")
		}
		l.errorf(line, "os.%s is not in remedy's sandbox: %s", key, why)
		return true
	case obj == "string" && key == "dump":
		l.errorf(line, "string.dump is not in remedy's sandbox: it loads no byte code")
		return true
	}
	return false
}

// attr checks module.function against the registered modules, and
// records v.NAME reads.
func (l *linter) attr(e *ast.AttrGetExpr) {
	id, isIdent := e.Object.(*ast.IdentExpr)
	key, isString := e.Key.(*ast.StringExpr)
	if !isIdent || !isString {
		l.exprs([]ast.Expr{e.Object, e.Key})
		return
	}
	isLocal, isVars := l.local(id.Value)
	switch {
	case isVars:
		l.varUses = append(l.varUses, varUse{key.Value, e.Line()})
	case isLocal || l.assigned[id.Value]:
	case l.sandboxMember(id.Value, key.Value, e.Line()):
	default:
		l.ident(id)
		if m, ok := LookupModule(id.Value); ok && id.Value != "" && !moduleHas(m, key.Value) {
			l.errorf(e.Line(), "%s has no %q (it has: %s)", id.Value, key.Value, strings.Join(memberNames(m), ", "))
		}
	}
}

// table treats run and when functions of a task-like table specially:
// their first parameter is the vars table.
func (l *linter) table(e *ast.TableExpr) {
	for _, f := range e.Fields {
		k, isString := f.Key.(*ast.StringExpr)
		fn, isFunc := f.Value.(*ast.FunctionExpr)
		if isString && isFunc && (k.Value == "run" || k.Value == "when") && len(fn.ParList.Names) > 0 {
			v := fn.ParList.Names[0]
			l.push(fn.ParList.Names...)
			l.declare(varsParam + v)
			for _, s := range fn.Stmts {
				l.stmt(s)
			}
			l.pop()
			continue
		}
		if f.Key != nil && !isString {
			l.expr(f.Key)
		}
		l.expr(f.Value)
	}
}

// checkVars warns about v.NAME reads the playbook cannot satisfy itself.
func (l *linter) checkVars(p *Playbook) {
	known := map[string]bool{}
	for _, n := range MagicVars {
		known[n] = true
	}
	for _, n := range p.VarNames() {
		known[n] = true
	}
	for n := range l.varSets {
		known[n] = true
	}
	for _, r := range p.registers {
		known[r] = true
	}
	for _, u := range l.varUses {
		if !known[u.name] {
			l.issues = append(l.issues, LintIssue{File: l.file, Line: u.line, Warning: true,
				Msg: fmt.Sprintf("v.%s is not in the playbook's vars nor registered by a task: it must come from the inventory or -e", u.name)})
		}
	}
}

// callOptions checks a table literal passed to a module function against
// the keys its documented type lists: file.write { pth = ... } is a typo
// the VM would only report on a host.
func (l *linter) callOptions(e *ast.FuncCallExpr) {
	f, qualified, ok := l.moduleFunc(e.Func)
	if !ok {
		return
	}
	for i, arg := range e.Args {
		t, isTable := arg.(*ast.TableExpr)
		if !isTable || i >= len(f.Params) {
			continue
		}
		keys, ok := tableTypeKeys(f.Params[i].Type)
		if !ok {
			continue
		}
		present := map[string]bool{}
		for _, fd := range t.Fields {
			k, isString := fd.Key.(*ast.StringExpr)
			if !isString {
				continue
			}
			present[k.Value] = true
			if _, known := keys[k.Value]; !known {
				l.errorf(k.Line(), "%s has no option %q (options: %s)", qualified, k.Value, strings.Join(sortedKeys(keys), ", "))
			}
		}
		for k, required := range keys {
			if required && !present[k] {
				l.errorf(t.Line(), "%s needs %s", qualified, k)
			}
		}
	}
}

// require checks that require("name") finds a module that compiles,
// also where the call sits in a task that Load does not run.
func (l *linter) require(e *ast.FuncCallExpr) {
	id, ok := e.Func.(*ast.IdentExpr)
	if !ok || id.Value != "require" || len(e.Args) != 1 {
		return
	}
	if isLocal, _ := l.local("require"); isLocal {
		return
	}
	name, ok := e.Args[0].(*ast.StringExpr)
	if !ok {
		return
	}
	if _, err := l.libs.compile(name.Value); err != nil {
		l.errorf(e.Line(), "require %q: %v", name.Value, err)
	}
}

// template checks the placeholders of template("literal ...") as
// template() would parse them: a filter it does not know (to_yaml) is a
// lint error, not a task that fails on every host.
func (l *linter) template(e *ast.FuncCallExpr) {
	id, ok := e.Func.(*ast.IdentExpr)
	if !ok || id.Value != "template" || len(e.Args) == 0 {
		return
	}
	if isLocal, _ := l.local("template"); isLocal || l.assigned["template"] {
		return
	}
	if str, ok := e.Args[0].(*ast.StringExpr); ok {
		if err := template.Check(str.Value); err != nil {
			l.errorf(e.Line(), "%v", err)
		}
	}
}

// moduleFunc resolves module.func to its registered definition, unless
// the module's name is shadowed by a local or a global of the file.
func (l *linter) moduleFunc(e ast.Expr) (Func, string, bool) {
	a, ok := e.(*ast.AttrGetExpr)
	if !ok {
		return Func{}, "", false
	}
	id, isIdent := a.Object.(*ast.IdentExpr)
	key, isString := a.Key.(*ast.StringExpr)
	if !isIdent || !isString || l.assigned[id.Value] {
		return Func{}, "", false
	}
	if isLocal, _ := l.local(id.Value); isLocal {
		return Func{}, "", false
	}
	m, ok := LookupModule(id.Value)
	if !ok || m.Name == "" {
		return Func{}, "", false
	}
	for _, f := range m.Funcs {
		if f.Name == key.Value {
			return f, m.QualifiedName(f), true
		}
	}
	return Func{}, "", false
}

// tableTypeKeys reads the keys of a LuaLS table type such as
// "{path: string, mode?: string}": key -> required. ok is false for any
// other type.
func tableTypeKeys(t string) (map[string]bool, bool) {
	if !strings.HasPrefix(t, "{") || !strings.HasSuffix(t, "}") {
		return nil, false
	}
	keys := map[string]bool{}
	depth, start := 0, 1
	body := t[:len(t)-1] + ","
	for i := 1; i < len(body); i++ {
		switch body[i] {
		case '{', '(', '<', '[':
			depth++
		case '}', ')', '>', ']':
			depth--
		case ',':
			if depth > 0 {
				continue
			}
			name, _, found := strings.Cut(strings.TrimSpace(body[start:i]), ":")
			if !found {
				return nil, false
			}
			optional := strings.HasSuffix(name, "?")
			keys[strings.TrimSuffix(name, "?")] = !optional
			start = i + 1
		}
	}
	return keys, true
}

func moduleHas(m Module, name string) bool {
	for _, n := range memberNames(m) {
		if n == name {
			return true
		}
	}
	return false
}

func memberNames(m Module) []string {
	var names []string
	for _, f := range m.Funcs {
		names = append(names, f.Name)
	}
	for _, f := range m.Fields {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}
