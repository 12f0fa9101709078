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

	// Type checking works out which expressions are constants, and which
	// identifier is which parameter. Imported packages are left empty, since
	// only the constants of the package itself matter, so the checker's
	// errors about them are ignored.
	info := &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
	}
	conf := types.Config{Importer: emptyImporter{}, Error: func(error) {}}
	conf.Check(files[0].Name.Name, fset, files, info)

	helpers := findHelpers(files)
	var problems []string
	report := func(arg ast.Expr, callee string) {
		problems = append(problems, fmt.Sprintf("%s: the SQL passed to %s is not a constant string",
			fset.Position(arg.Pos()), callee))
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			// In a helper, its own query parameter may be passed on: the
			// helper's callers are checked instead. It must not change.
			var passed types.Object
			if fd, ok := decl.(*ast.FuncDecl); ok {
				if p := queryParam(fd); p != nil {
					passed = info.Defs[p]
					problems = append(problems, changes(fset, info, fd.Body, passed)...)
				}
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				name := calleeName(call.Fun)
				i, isHelper := helpers[name]
				switch {
				case isHelper:
				case methods[name]:
					i = sqlArg(name, call.Args)
				default:
					return true
				}
				if i >= len(call.Args) {
					return true
				}
				arg := call.Args[i]
				if id, ok := arg.(*ast.Ident); ok && passed != nil && info.Uses[id] == passed {
					return true
				}
				if tv := info.Types[arg]; tv.Value == nil {
					report(arg, name)
				}
				return true
			})
		}
	}
	return problems, nil
}

// sqlArg returns the index of the SQL argument of a call of a method above.
func sqlArg(method string, args []ast.Expr) int {
	if len(args) > 0 {
		if id, ok := args[0].(*ast.Ident); ok && id.Name == "ctx" {
			if method == "Prepare" && len(args) >= 3 {
				return 2
			}
			return 1
		}
	}
	return 0
}

// findHelpers returns the package's own functions and methods that take SQL
// text in a string parameter named query, with that parameter's index: a
// store's helpers that run the queries of many methods. Their callers must
// pass a constant there, as they must to the methods above.
func findHelpers(files []*ast.File) map[string]int {
	helpers := map[string]int{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || queryParam(fd) == nil {
				continue
			}
			i := 0
			for _, field := range fd.Type.Params.List {
				for _, n := range field.Names {
					if n.Name == "query" {
						helpers[fd.Name.Name] = i
					}
					i++
				}
			}
		}
	}
	return helpers
}

// queryParam returns the identifier of fd's string parameter named query,
// or nil.
func queryParam(fd *ast.FuncDecl) *ast.Ident {
	for _, field := range fd.Type.Params.List {
		if t, ok := field.Type.(*ast.Ident); !ok || t.Name != "string" {
			continue
		}
		for _, n := range field.Names {
			if n.Name == "query" {
				return n
			}
		}
	}
	return nil
}

// changes reports every assignment to param in body, and every pointer
// taken to it: either would let a helper run SQL its caller did not pass.
func changes(fset *token.FileSet, info *types.Info, body *ast.BlockStmt, param types.Object) []string {
	var problems []string
	is := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		return ok && info.Uses[id] == param
	}
	if body == nil {
		return nil
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				if is(lhs) {
					problems = append(problems, fmt.Sprintf("%s: the SQL parameter query is changed", fset.Position(lhs.Pos())))
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && is(n.X) {
				problems = append(problems, fmt.Sprintf("%s: the SQL parameter query is changed", fset.Position(n.X.Pos())))
			}
		}
		return true
	})
	return problems
}

// calleeName returns the name of the function or method a call calls, with
// any type arguments left off, or "".
func calleeName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.IndexExpr:
		return calleeName(f.X)
	case *ast.IndexListExpr:
		return calleeName(f.X)
	}
	return ""
}

type emptyImporter struct{}

func (emptyImporter) Import(importPath string) (*types.Package, error) {
	p := types.NewPackage(importPath, path.Base(importPath))
	p.MarkComplete()
	return p, nil
}
