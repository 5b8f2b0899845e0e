package lifecycle

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Zoë":            "zoe",
		"O'Connor-Smyth": "oconnorsmyth",
		"Nguyễn":         "nguyen",
		"Søren Æbelø":    "sorenaebelo",
		"Straße":         "strasse",
		"Łukasz Đorđe":   "lukaszdorde",
		"李":              "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoFixtureImports keeps the generators of fictional schools out of
// the code that runs in production.
func TestNoFixtureImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasSuffix(path, "/schoolgen") || strings.HasSuffix(path, "/exportgen") {
				t.Errorf("%s imports the fixture generator %s", name, path)
			}
		}
	}
}
