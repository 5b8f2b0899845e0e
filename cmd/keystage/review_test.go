package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReviewCommand: list, export, fill in, record, and the next due date;
// a file with a row left blank records nothing.
func TestReviewCommand(t *testing.T) {
	dir, ks := school(t)
	for _, args := range [][]string{
		{"account", "add", "--username", "svc-moodle", "--role", "service", "--given", "Moodle"},
		{"group", "add", "portal-technicians"},
		{"group", "members", "add", "portal-technicians", "jteacher"},
	} {
		if code, out, errOut := ks("", args...); code != 0 {
			t.Fatalf("%v: %s %s", args, out, errOut)
		}
	}
	code, out, errOut := ks("", "review")
	if code != 0 || !strings.Contains(out, "no access review recorded yet") ||
		!strings.Contains(out, "portal-technicians") || !strings.Contains(out, "svc-moodle") || strings.Contains(out, "apupil") {
		t.Fatalf("review list: %d %s %s", code, out, errOut)
	}
	csvPath := filepath.Join(dir, "review.csv")
	if code, _, errOut := ks("", "review", "-o", csvPath); code != 0 || !strings.Contains(errOut, "keystage review --record") {
		t.Fatalf("export: %d %s", code, errOut)
	}
	if fi, err := os.Stat(csvPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode: %v %v", fi, err)
	}
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	blank := writeFile(t, dir, "blank.csv", strings.Join(lines, "\n"))
	if code, _, errOut := ks("", "review", "--record", blank); code != 1 || !strings.Contains(errOut, "Decision column") {
		t.Errorf("a review with blank decisions: %d %s", code, errOut)
	}
	for i := 1; i < len(lines); i++ {
		if strings.Contains(lines[i], ",jteacher,") {
			lines[i] = strings.TrimSuffix(lines[i], ",") + "remove,teaches now"
		} else {
			lines[i] = strings.TrimSuffix(lines[i], ",") + "keep,prints the reports"
		}
	}
	filled := writeFile(t, dir, "filled.csv", strings.Join(lines, "\n"))
	if code, out, errOut := ks("", "review", "--record", filled, "--reviewer", "Head of IT"); code != 0 || !strings.Contains(out, "1 kept, 1 removed") {
		t.Fatalf("record: %d %s %s", code, out, errOut)
	}
	if _, out, _ := ks("", "group", "show", "portal-technicians"); strings.Contains(out, "jteacher") {
		t.Errorf("jteacher still a technician:\n%s", out)
	}
	if code, out, _ := ks("", "review"); code != 0 || !strings.Contains(out, "last review ") || !strings.Contains(out, "next due ") || strings.Contains(out, "jteacher") {
		t.Errorf("after the review:\n%s", out)
	}
	if code, out, _ := ks("", "audit", "export"); code != 0 || !strings.Contains(out, "access_review.record") || !strings.Contains(out, "teaches now") {
		t.Errorf("the review is not in the audit trail:\n%s", out)
	}
	if code, _, errOut := ks("", "review", "--format", "xlsx"); code != 2 || !strings.Contains(errOut, "-o FILE.xlsx") {
		t.Errorf("xlsx to a terminal: %d %s", code, errOut)
	}
	if code, _, _ := ks("", "review", "--format", "pdf"); code != 2 {
		t.Errorf("pdf: %d", code)
	}

	// The XLSX opens in openpyxl, a reader no one here wrote.
	xlsx := filepath.Join(dir, "review.xlsx")
	if code, _, errOut := ks("", "review", "-o", xlsx); code != 0 {
		t.Fatal(errOut)
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = "python3"
	}
	if err := exec.Command(py, "-c", "import openpyxl").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-openpyxl is not installed in CI")
		}
		t.Skip("python3-openpyxl not installed: XLSX read-back skipped")
	}
	script := `import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
print(json.dumps({"title": ws.title, "rows": [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]}))`
	pyOut, err := exec.Command(py, "-c", script, xlsx).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, pyOut)
	}
	var got struct {
		Title string
		Rows  [][]string
	}
	if err := json.Unmarshal(pyOut, &got); err != nil {
		t.Fatalf("%v: %s", err, pyOut)
	}
	if got.Title != "Access review" || len(got.Rows) != 2 || got.Rows[0][1] != "Username" || got.Rows[1][1] != "svc-moodle" {
		t.Errorf("workbook: %+v", got)
	}
}
