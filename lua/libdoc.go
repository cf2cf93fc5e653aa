package lua

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// LibDoc is a Lua library shipped with remedy (playbooks/lib) as remedy
// doc shows it: read from its source and its LuaLS doc comments, so the
// doc cannot drift from the code.
type LibDoc struct {
	Name    string // what require takes: "policy"
	File    string // "playbooks/lib/policy.lua"
	Doc     string // the comment above its table
	Members []LibMember
}

// LibMember is a function or a value the library's table holds.
type LibMember struct {
	Name    string
	Func    bool
	Params  []Param // from ---@param, else the parameter names
	Returns []Param // from ---@return
	Value   string  // a number, string or boolean, as written; "" for a table
	Doc     string
}

// ReadLibDocs reads every library in d (NAME.lua), in name order.
func ReadLibDocs(d Dir) ([]LibDoc, error) {
	names, err := fs.Glob(d.FS, "*.lua")
	if err != nil {
		return nil, err
	}
	var docs []LibDoc
	for _, n := range names {
		src, err := fs.ReadFile(d.FS, n)
		if err != nil {
			return nil, err
		}
		doc, err := ReadLibDoc(strings.TrimSuffix(n, ".lua"), path.Join(d.Name, n), src)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// ReadLibDoc documents one library: the table it returns, each function
// and value set on that table at its top level, and the --- comments
// above them. Local functions are its own business and left out.
func ReadLibDoc(name, file string, src []byte) (LibDoc, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), file)
	if err != nil {
		return LibDoc{}, syntaxError(file, err)
	}
	lines := strings.Split(string(src), "\n")
	table := returnedName(chunk)
	doc := LibDoc{Name: name, File: file}
	for _, s := range chunk {
		switch s := s.(type) {
		case *ast.LocalAssignStmt:
			if slices.Contains(s.Names, table) && doc.Doc == "" {
				doc.Doc, _, _ = docComment(lines, s.Line())
			}
		case *ast.FuncDefStmt:
			if key, ok := memberOf(s.Name.Func, table); ok {
				doc.Members = append(doc.Members, funcMember(key, s, lines))
			}
		case *ast.AssignStmt:
			for i, lhs := range s.Lhs {
				key, ok := memberOf(lhs, table)
				if !ok || i >= len(s.Rhs) {
					continue
				}
				text, _, _ := docComment(lines, s.Line())
				doc.Members = append(doc.Members, LibMember{Name: key, Value: literal(s.Rhs[i]), Doc: text})
			}
		}
	}
	if table == "" {
		return LibDoc{}, fmt.Errorf("%s: a library returns its table (return NAME at the end)", file)
	}
	return doc, nil
}

// returnedName is the local a chunk returns: the library's table.
func returnedName(chunk []ast.Stmt) string {
	if len(chunk) == 0 {
		return ""
	}
	ret, ok := chunk[len(chunk)-1].(*ast.ReturnStmt)
	if !ok || len(ret.Exprs) != 1 {
		return ""
	}
	id, ok := ret.Exprs[0].(*ast.IdentExpr)
	if !ok {
		return ""
	}
	return id.Value
}

// memberOf is KEY when e is table.KEY.
func memberOf(e ast.Expr, table string) (string, bool) {
	a, ok := e.(*ast.AttrGetExpr)
	if !ok {
		return "", false
	}
	obj, isIdent := a.Object.(*ast.IdentExpr)
	key, isString := a.Key.(*ast.StringExpr)
	if !isIdent || !isString || obj.Value != table {
		return "", false
	}
	return key.Value, true
}

func funcMember(name string, s *ast.FuncDefStmt, lines []string) LibMember {
	text, params, returns := docComment(lines, s.Line())
	m := LibMember{Name: name, Func: true, Doc: text, Params: params, Returns: returns}
	if len(m.Params) == 0 {
		for _, n := range s.Func.ParList.Names {
			m.Params = append(m.Params, Param{Name: n, Type: "any"})
		}
	}
	return m
}

// splitType cuts a LuaLS type off the front of s; a type may hold
// spaces inside braces, brackets and parentheses ({a: string, b: int}[]).
func splitType(s string) (ty, rest string) {
	s = strings.TrimSpace(s)
	depth := 0
	for i, c := range s {
		switch c {
		case '{', '(', '<', '[':
			depth++
		case '}', ')', '>', ']':
			depth--
		case ' ':
			if depth == 0 {
				return s[:i], strings.TrimSpace(s[i:])
			}
		}
	}
	return s, ""
}

// literal is a number, string or boolean as the source writes it.
func literal(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.NumberExpr:
		return e.Value
	case *ast.StringExpr:
		return fmt.Sprintf("%q", e.Value)
	case *ast.TrueExpr:
		return "true"
	case *ast.FalseExpr:
		return "false"
	}
	return ""
}

// docComment reads the --- lines right above line (1-based): the text,
// and the ---@param and ---@return annotations.
func docComment(lines []string, line int) (text string, params, returns []Param) {
	start := line - 1 // index of the statement's own line
	for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "---") {
		start--
	}
	var prose []string
	for _, l := range lines[start : line-1] {
		l = strings.TrimPrefix(strings.TrimSpace(l), "---")
		switch {
		case strings.HasPrefix(l, "@param "):
			name, rest, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "@param ")), " ")
			ty, doc := splitType(rest)
			params = append(params, Param{Name: name, Type: ty, Doc: doc})
		case strings.HasPrefix(l, "@return "):
			ty, doc := splitType(strings.TrimPrefix(l, "@return "))
			returns = append(returns, Param{Type: ty, Doc: doc})
		case strings.HasPrefix(l, "@"):
		default:
			prose = append(prose, strings.TrimSpace(l))
		}
	}
	return strings.Join(prose, "\n"), params, returns
}
