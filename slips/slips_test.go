package slips

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func sheet() Sheet {
	exp := time.Date(2026, 9, 14, 12, 0, 0, 0, time.UTC)
	return Sheet{School: "Hill School", PortalURL: "https://portal.hill.example", WiFi: "join HillWiFi",
		Slips: []Slip{
			{Name: "Amy <b>Pond</b>", Username: "apond", Group: "7A", Password: "Tiger-Comet-Banjo-47", ExpiresAt: exp},
			{Name: "=HYPERLINK(\"x\")", Username: "bsmith", Password: "Walrus-Teapot-Violin-58", ExpiresAt: exp},
		}}
}

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sheet()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"@page { size: A4", "Hill School", "apond", "Tiger-Comet-Banjo-47", "https://portal.hill.example",
		"join HillWiFi", "Mon 14 Sep 2026", "Amy &lt;b&gt;Pond&lt;/b&gt;", "Walrus-Teapot-Violin-58"} {
		if !strings.Contains(out, want) {
			t.Errorf("slips lack %q", want)
		}
	}
	if strings.Count(out, `<section class="slip">`) != 2 {
		t.Error("want one slip a person")
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sheet()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1][1] != "apond" || rows[1][3] != "Tiger-Comet-Banjo-47" || rows[1][4] != "2026-09-14" {
		t.Fatalf("rows %q", rows)
	}
	if rows[2][0] != `'=HYPERLINK("x")` {
		t.Errorf("a formula in a name is not defused: %q", rows[2][0])
	}
}
