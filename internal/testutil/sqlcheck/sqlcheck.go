// Package sqlcheck checks that a package passes only constant SQL to the
// database, so that every value reaches a query as a parameter and none can
// change the query's text.
package sqlcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path"
	"path/filepath"
	"strings"
)

// methods are the database/sql and pgx methods that take SQL text: as their
// first argument, or as their second after a context, or, for pgx's
// Prepare(ctx, name, sql), as their third. pgx.Batch's Queue takes it first.
var methods = map[string]bool{
	"Exec": true, "ExecContext": true,
	"Query": true, "QueryContext": true,
	"QueryRow": true, "QueryRowContext": true,
	"Prepare": true, "PrepareContext": true,
	"Queue": true,
}

// Check parses the Go files of the package in dir, tests excluded, and
// returns one problem, as "file:line:col: message", for every call of a
// method above whose SQL argument is not a constant string: a literal, a
// named constant or a constant expression of them. A SQL string built with
// fmt.Sprintf, or with + from a variable, is a problem, and so is a variable
// that holds a constant, since it could be changed.
//
// The SQL argument is the second when the first is an identifier named ctx,
// otherwise the first; but a Prepare with ctx and two more arguments is
// pgx's Prepare(ctx, name, sql), whose SQL is the third (the name is not
// SQL and need not be constant).
func Check(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("sqlcheck: no Go files in %s", dir)
	}

	// Type checking works out which expressions are constants. Imported
	// packages are left empty, since only the constants of the package
	// itself matter, so the checker's errors about them are ignored.
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: emptyImporter{}, Error: func(error) {}}
	conf.Check(files[0].Name.Name, fset, files, info)

	var problems []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !methods[sel.Sel.Name] {
				return true
			}
			i := 0
			if len(call.Args) > 0 {
				if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == "ctx" {
					i = 1
					if sel.Sel.Name == "Prepare" && len(call.Args) >= 3 {
						i = 2
					}
				}
			}
			if i >= len(call.Args) {
				return true
			}
			if tv := info.Types[call.Args[i]]; tv.Value == nil {
				problems = append(problems, fmt.Sprintf("%s: the SQL passed to %s is not a constant string",
					fset.Position(call.Args[i].Pos()), sel.Sel.Name))
			}
			return true
		})
	}
	return problems, nil
}

type emptyImporter struct{}

func (emptyImporter) Import(importPath string) (*types.Package, error) {
	p := types.NewPackage(importPath, path.Base(importPath))
	p.MarkComplete()
	return p, nil
}
