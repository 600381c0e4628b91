package sqlstore_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLIsStatic enforces DESIGN rule 7 on the package's own (non-test)
// source: SQL is static text with bound parameters.
//
//   - No string is built at run time from variables: a + whose operands are
//     not all constants, +=, fmt.Sprint*/Fprint*/Append*, strings.Builder,
//     bytes.Buffer, strings.Join/Repeat/Replace*, text/template are
//     forbidden, except in the few functions listed in notSQL (which build
//     DSNs, not SQL).
//   - Every argument naming SQL text in a call to a database method
//     (Exec*, Query*, Prepare*, Get*, Select*, Rebind, In, ...) is a
//     constant, an element of the statement tables (x.text[id], sqliteText,
//     postgresText), a migration file's text (m.sql) or Rebind of those.
//   - The statement tables are composite literals of constants.
//
// Variable-length lists are bound as one JSON parameter (list.go), which
// needs none of the forbidden constructs.
func TestSQLIsStatic(t *testing.T) {
	notSQL := map[string]bool{"OpenSQLite": true}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]bool{}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						consts[n.Name] = true
					}
				}
			}
		}
	}
	if len(parsed) < 5 {
		t.Fatalf("found only %d source files", len(parsed))
	}
	var isConst func(e ast.Expr) bool
	isConst = func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.BasicLit:
			return true
		case *ast.Ident:
			return consts[e.Name]
		case *ast.ParenExpr:
			return isConst(e.X)
		case *ast.BinaryExpr:
			return e.Op == token.ADD && isConst(e.X) && isConst(e.Y)
		}
		return false
	}
	// isStatement: constant, statement table element, migration text.
	var isStatement func(e ast.Expr) bool
	isStatement = func(e ast.Expr) bool {
		if isConst(e) {
			return true
		}
		switch e := e.(type) {
		case *ast.IndexExpr:
			if sel, ok := e.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "text" {
				return true
			}
			if id, ok := e.X.(*ast.Ident); ok && (id.Name == "sqliteText" || id.Name == "postgresText") {
				return true
			}
		case *ast.SelectorExpr:
			return e.Sel.Name == "sql" // migration.sql, from the embedded files
		case *ast.CallExpr:
			if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Rebind" && len(e.Args) > 0 {
				return isStatement(e.Args[len(e.Args)-1])
			}
		}
		return false
	}
	dbMethods := map[string]int{ // method -> index of the SQL argument (-1: after a context)
		"Exec": 0, "Query": 0, "QueryRow": 0, "Queryx": 0, "QueryRowx": 0, "Prepare": 0, "Preparex": 0, "MustExec": 0,
		"ExecContext": 1, "QueryContext": 1, "QueryRowContext": 1, "QueryxContext": 1, "QueryRowxContext": 1,
		"PrepareContext": 1, "PreparexContext": 1, "MustExecContext": 1,
		"Get": 1, "Select": 1, "GetContext": 2, "SelectContext": 2, "NamedExec": 0, "NamedQuery": 0,
		"Rebind": 0, "In": 0,
	}
	forbiddenCalls := map[string]bool{
		"fmt.Sprintf": true, "fmt.Sprint": true, "fmt.Sprintln": true, "fmt.Fprintf": true, "fmt.Fprint": true,
		"fmt.Appendf": true, "fmt.Append": true, "strings.Join": true, "strings.Repeat": true,
		"strings.Replace": true, "strings.ReplaceAll": true, "strings.NewReplacer": true,
		"template.New": true, "sqlx.In": true, "sqlx.Named": true,
	}
	checked := 0
	for _, f := range parsed {
		for _, d := range f.Decls {
			fn, _ := d.(*ast.FuncDecl)
			exempt := fn != nil && notSQL[fn.Name.Name]
			ast.Inspect(d, func(n ast.Node) bool {
				pos := func() string { return fset.Position(n.Pos()).String() }
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if n.Op == token.ADD && !exempt && (isString(n.X) || isString(n.Y)) && !(isConst(n.X) && isConst(n.Y)) {
						t.Errorf("%s: string built by + from non-constants", pos())
					}
				case *ast.AssignStmt:
					if n.Tok == token.ADD_ASSIGN && !exempt {
						for _, r := range n.Rhs {
							if isString(r) {
								t.Errorf("%s: string built by +=", pos())
							}
						}
					}
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok {
						name := x.Name + "." + n.Sel.Name
						if forbiddenCalls[name] && !exempt {
							t.Errorf("%s: %s is not allowed in this package (SQL must be static)", pos(), name)
						}
						if name == "strings.Builder" || name == "bytes.Buffer" {
							t.Errorf("%s: %s is not allowed in this package", pos(), name)
						}
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					i, ok := dbMethods[sel.Sel.Name]
					if !ok || i >= len(n.Args) {
						return true
					}
					if sel.Sel.Name == "Rebind" {
						i = len(n.Args) - 1 // db.Rebind(q), sqlx.Rebind(bindType, q)
					}
					if n.Ellipsis.IsValid() && i == len(n.Args)-1 {
						return true // a prepared statement's arguments: st.QueryContext(ctx, args...)
					}
					checked++
					if !isStatement(n.Args[i]) {
						t.Errorf("%s: %s called with SQL that is not a constant or a statement table entry", pos(), sel.Sel.Name)
					}
				}
				return true
			})
		}
		// The statement tables hold constants only.
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if (n.Name != "sqliteText" && n.Name != "postgresText") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.CompositeLit)
					if !ok {
						t.Errorf("%s is not a composite literal", n.Name)
						continue
					}
					for _, el := range lit.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok || !isConst(kv.Value) {
							t.Errorf("%s: %s entry is not a constant", fset.Position(el.Pos()), n.Name)
						}
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d database calls found: is the scan broken?", checked)
	}
}

// isString reports whether e is syntactically a string (a string literal or
// a + involving one); identifiers of unknown type are checked by the
// database-call rule instead.
func isString(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.BinaryExpr:
		return isString(e.X) || isString(e.Y)
	case *ast.ParenExpr:
		return isString(e.X)
	}
	return false
}
