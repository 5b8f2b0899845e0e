package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestXLSXOpensInOpenpyxl reads the hand-written workbook with openpyxl, a
// reader no one here wrote (Debian's python3-openpyxl), and checks every
// cell it finds.
func TestXLSXOpensInOpenpyxl(t *testing.T) {
	// Debian's package is for Debian's Python, which a pyenv or venv
	// python3 earlier on PATH would not see.
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = "python3"
	}
	if err := exec.Command(py, "-c", "import openpyxl").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-openpyxl is not installed in CI: .ci/run must install it")
		}
		t.Skip("python3-openpyxl not installed (apt-get install python3-openpyxl): XLSX read-back by a real reader skipped")
	}
	path := filepath.Join(t.TempDir(), "register.xlsx")
	var buf bytes.Buffer
	w, err := NewRegisterWriter(&buf, FormatXLSX, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	rows := sampleRows()
	rows[0].Name = "Zoë <O'Connor> & \x01co" // markup and a control character from the MIS
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
print(json.dumps({"title": ws.title, "rows": [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]}))`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl could not read the workbook: %v\n%s", err, out)
	}
	var got struct {
		Title string
		Rows  [][]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Title != "Access register" || len(got.Rows) != 3 {
		t.Fatalf("sheet %q with %d rows", got.Title, len(got.Rows))
	}
	for i, h := range RegisterHeader() {
		if got.Rows[0][i] != h {
			t.Errorf("header %d = %v, want %s", i, got.Rows[0][i], h)
		}
	}
	row := got.Rows[1]
	if row[0] != "Zoë <O'Connor> & co" || row[5] != "26zoconnor" || row[slices.Index(RegisterHeader(), "Access granted")] != "2026-09-03" {
		t.Errorf("row: %v", row)
	}
	for i, c := range columns {
		if c.key == "passkeys" && row[i] != float64(2) {
			t.Errorf("passkeys = %v (%T), want the number 2", row[i], row[i])
		}
	}
	if !strings.HasPrefix(got.Rows[2][0].(string), "=HYPERLINK") {
		t.Errorf("a name that looks like a formula must stay text: %v", got.Rows[2][0])
	}
}
