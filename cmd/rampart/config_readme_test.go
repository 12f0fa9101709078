package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeRow is one row of the README's configuration table.
type readmeRow struct {
	name, defaultCell, meaning string
	secret                     bool
}

var readmeNameCell = regexp.MustCompile("^`(RAMPART_[A-Z0-9_]+)`( \\(secret\\))?$")

// readmeConfigTable reads the `| variable | default | meaning |` table of
// the "## Configuration" section of the repository's README.md.
func readmeConfigTable(t *testing.T) []readmeRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, table, ok := strings.Cut(section, "\n| variable | default | meaning |\n|---|---|---|\n")
	if !ok {
		t.Fatal("the Configuration section has no | variable | default | meaning | table")
	}
	var rows []readmeRow
	for line := range strings.Lines(table) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasPrefix(line, "|") {
			break
		}
		// `\|` is a pipe inside a cell (in code spans too, in GitHub's tables).
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) != 5 || cells[0] != "" || cells[4] != "" {
			t.Errorf("README row is not | variable | default | meaning |: %s", line)
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(cells[i], "\x00", `\|`))
		}
		m := readmeNameCell.FindStringSubmatch(cells[1])
		if m == nil {
			t.Errorf("README row does not name one variable as `RAMPART_X` or `RAMPART_X` (secret): %s", line)
			continue
		}
		rows = append(rows, readmeRow{name: m[1], secret: m[2] != "", defaultCell: cells[2], meaning: cells[3]})
	}
	return rows
}

// readmeDefault is how the README states v's default.
func readmeDefault(v variable) string {
	switch {
	case v.DefaultDoc != "":
		return v.DefaultDoc
	case v.Default == "":
		return "—"
	case v.ProdDefault != "":
		return "`" + v.Default + "` outside production, `" + v.ProdDefault + "` in production"
	}
	return "`" + v.Default + "`"
}

// TestReadmeConfigurationTable: the README's configuration table is the
// operator's copy of the variables table; it must list the same variables in
// the same order, mark the same ones secret, state the same defaults, and
// start each meaning with the variable's Doc line.
func TestReadmeConfigurationTable(t *testing.T) {
	rows := readmeConfigTable(t)
	var readmeNames, codeNames []string
	for _, r := range rows {
		readmeNames = append(readmeNames, r.name)
	}
	for _, v := range variables {
		codeNames = append(codeNames, v.Name)
	}
	if !slices.Equal(readmeNames, codeNames) {
		t.Fatalf("README variables differ from the code's table (same names, same order):\nREADME %v\ncode   %v", readmeNames, codeNames)
	}
	for i, v := range variables {
		r := rows[i]
		if r.secret != v.Secret {
			t.Errorf("%s: README secret marking %v, code %v", v.Name, r.secret, v.Secret)
		}
		if want := readmeDefault(v); r.defaultCell != want {
			t.Errorf("%s: README default %q, code %q", v.Name, r.defaultCell, want)
		}
		if v.Doc == "" || !strings.HasPrefix(r.meaning, v.Doc) {
			t.Errorf("%s: README meaning %q does not start with the code's Doc %q", v.Name, r.meaning, v.Doc)
		}
	}
}

// TestVariablesTable: every row of the table is complete, and what the
// table says about a default is what loadConfig does.
func TestVariablesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range variables {
		if seen[v.Name] || !strings.HasPrefix(v.Name, "RAMPART_") {
			t.Errorf("%s: duplicate or not RAMPART_*", v.Name)
		}
		seen[v.Name] = true
		if v.Doc == "" || v.set == nil || v.show == nil {
			t.Errorf("%s: needs Doc, set and show", v.Name)
		}
		if v.ProdDefault != "" && v.Default == "" {
			t.Errorf("%s: a production default without a default elsewhere", v.Name)
		}
	}
	// The defaults loadConfig applies are the table's, in each environment:
	// config check's effective line of an unset variable shows its default.
	for _, env := range []string{envDevelopment, envTest, envProduction} {
		c, _ := load(t, "RAMPART_ENV="+env) // production refuses this environment; defaults still apply
		for _, v := range variables {
			def := v.defaultIn(env)
			if v.Name == "RAMPART_ENV" || def == "" {
				continue
			}
			var fromDefault Config
			fromDefault.Rates = map[string]Rate{}
			fromDefault.DataDir = c.DataDir
			v.set(&fromDefault, def, func(msg string) { t.Errorf("%s: default %q refused: %s", v.Name, def, msg) })
			if got, want := v.show(c), v.show(fromDefault); got != want {
				t.Errorf("%s in %s: loaded default shows %q, the table's default %q shows %q", v.Name, env, got, def, want)
			}
		}
	}
	// Every production rule is about a variable of the table.
	var c Config
	for _, pc := range c.postureChecks() {
		if !seen[pc.Var] {
			t.Errorf("production rule %s is about %s, which is not in the table", pc.Name, pc.Var)
		}
	}
}
