package sqlcheck_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"example.com/rampart/internal/testutil/sqlcheck"
)

// TestCheckFindsEveryViolation runs the check on a package that builds SQL
// from values on the lines marked "// want", and nowhere else.
func TestCheckFindsEveryViolation(t *testing.T) {
	const file = "testdata/bad/bad.go"
	problems, err := sqlcheck.Check(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		// "testdata/bad/bad.go:19:26: ..." → "testdata/bad/bad.go:19"
		parts := strings.SplitN(p, ":", 3)
		got = append(got, parts[0]+":"+parts[1])
	}

	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.HasSuffix(sc.Text(), "// want") {
			want = append(want, fmt.Sprintf("%s:%d", file, line))
		}
	}
	if len(want) == 0 {
		t.Fatal("no line of the test data is marked want")
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems found at\n%s\nwant\n%s\n(all problems: %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), problems)
	}
}
