package rampart

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kindNames are the Kind constants by name, for reading them in source.
var kindNames = map[string]Kind{
	"KindInternal": KindInternal, "KindInvalid": KindInvalid, "KindUnauthenticated": KindUnauthenticated,
	"KindForbidden": KindForbidden, "KindNotFound": KindNotFound, "KindConflict": KindConflict,
	"KindRateLimited": KindRateLimited, "KindUnavailable": KindUnavailable,
}

// codeConstants reads the Code constants declared in codes.go, by name.
func codeConstants(t *testing.T) map[string]Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]Code{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "Code" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s: not a string literal", name.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				consts[name.Name] = Code(v)
			}
		}
	}
	return consts
}

// TestCodesAreClosed: Codes() lists every Code constant, each with a kind;
// and every domain error the product's code builds (an Error literal,
// anywhere in the module outside tests) carries one of those codes, with
// the kind the code has. A string that is no listed code, or a conversion
// to Code, fails here, so the HTTP edge's table (which covers Codes())
// covers every code a client can see.
func TestCodesAreClosed(t *testing.T) {
	consts := codeConstants(t)
	listed := map[Code]bool{}
	for _, c := range Codes() {
		listed[c] = true
		if c.Kind() == KindInternal {
			t.Errorf("code %q has no kind", c)
		}
	}
	for name, c := range consts {
		if !listed[c] {
			t.Errorf("%s (%q) is not in Codes()", name, c)
		}
	}
	if len(listed) != len(consts) {
		t.Errorf("Codes() has %d codes, codes.go declares %d constants", len(listed), len(consts))
	}

	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var literals int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inRampart := f.Name.Name == "rampart"
		// isRampart reports whether e names the rampart identifier name,
		// as a selector from another package or plainly inside this one.
		isRampart := func(e ast.Expr) (string, bool) {
			switch e := e.(type) {
			case *ast.Ident:
				return e.Name, inRampart
			case *ast.SelectorExpr:
				if x, ok := e.X.(*ast.Ident); ok && x.Name == "rampart" {
					return e.Sel.Name, true
				}
			}
			return "", false
		}
		// codeOf reads the code a Code field is set to: a listed string
		// or a Code constant. Anything else but a copy of another
		// error's code (errLastAdmin.Code) fails the test.
		codeOf := func(e ast.Expr) (Code, bool) {
			pos := fset.Position(e.Pos())
			if lit, ok := e.(*ast.BasicLit); ok {
				v, _ := strconv.Unquote(lit.Value)
				if !listed[Code(v)] {
					t.Errorf("%s: code %q is not in Codes()", pos, v)
				}
				return Code(v), listed[Code(v)]
			}
			name, ok := isRampart(e)
			if !ok {
				return "", false
			}
			c, known := consts[name]
			if !known {
				t.Errorf("%s: Code: %s is no Code constant", pos, name)
			}
			return c, known
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if name, ok := isRampart(n.Fun); ok && name == "Code" {
					t.Errorf("%s: a conversion to Code; use a Code constant", fset.Position(n.Pos()))
				}
			case *ast.CompositeLit:
				if name, ok := isRampart(n.Type); !ok || name != "Error" {
					return true
				}
				literals++
				var code Code
				var kind Kind
				var haveCode, haveKind bool
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch key := kv.Key.(*ast.Ident); key.Name {
					case "Code":
						code, haveCode = codeOf(kv.Value)
					case "Kind":
						if name, ok := isRampart(kv.Value); ok {
							kind, haveKind = kindNames[name]
						}
					}
				}
				if haveCode && haveKind && kind != code.Kind() {
					t.Errorf("%s: code %q with kind %v; the code's kind is %v", fset.Position(n.Pos()), code, kind, code.Kind())
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if literals == 0 {
		t.Fatal("no Error literal found: the walk looked in the wrong place")
	}
}

// TestUnavailableSaysWhenToRetry: an Unavailable error says when to come
// back from where it is made (the store, the rate limiter use these
// constructors); no other kind gets a wait it did not ask for.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	for kind := range KindUnavailable + 1 {
		want := time.Duration(0)
		if kind == KindUnavailable {
			want = RetryAfterUnavailable
		}
		for _, err := range []error{WrapError(kind, errors.New("cause"), "message"), Errorf(kind, "message")} {
			if got := ErrorOf(err).RetryAfter; got != want {
				t.Errorf("%v: RetryAfter %v, want %v", kind, got, want)
			}
		}
	}
}
