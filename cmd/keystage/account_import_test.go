package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDropSambaToolTrailer(t *testing.T) {
	in := "dn: CN=a\nunicodePwd:: AAAA\n\nGot password OK\nGot password OK, more\n" + strings.Repeat("x", 100<<10) + "\n"
	r := dropSambaToolTrailer(strings.NewReader(in))
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(in, "Got password OK\n", "", 1); string(out) != want {
		t.Errorf("filtered %d bytes, want %d", len(out), len(want))
	}
}

func TestAccountImportRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ldif")
	if err := os.WriteFile(bad, []byte("uid: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"account", "import"}, 2, "want one LDIF file"},
		{[]string{"account", "import", bad, "--match", "email"}, 2, "want mis-id, employeeID or username"},
		{[]string{"account", "import", bad}, 1, "nothing was imported"},
	} {
		code, _, errOut := keystage(t, "", append([]string{"--data", dir}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q, want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
