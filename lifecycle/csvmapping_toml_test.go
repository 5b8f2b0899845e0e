package lifecycle

import (
	"os"
	"regexp"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestREADMEMappingExamples decodes the TOML examples of the manual's page
// on MIS sources (docs/mis-sources.md, once the README's section) the way
// the configuration does, and validates their mappings, so that what a
// technician copies works.
func TestREADMEMappingExamples(t *testing.T) {
	page, err := os.ReadFile("../docs/mis-sources.md")
	if err != nil {
		t.Fatal(err)
	}
	// The page on MIS sources, from its title.
	doc := regexp.MustCompile("(?s)^# MIS sources[^\n]*\n(.*)$").FindSubmatch(page)
	if doc == nil {
		t.Fatal("docs/mis-sources.md does not start with its title, # MIS sources")
	}
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(doc[1], -1)
	if len(blocks) < 2 {
		t.Fatalf("%d TOML examples in docs/mis-sources.md, want the mapping and the reports", len(blocks))
	}
	for i, b := range blocks {
		var cfg struct {
			Sync struct {
				Source    string       `toml:"source"`
				CSV       CSVMapping   `toml:"csv"`
				Reports   []CSVReport  `toml:"reports"`
				OneRoster GradeMapping `toml:"oneroster"`
			} `toml:"sync"`
		}
		md, err := toml.Decode(string(b[1]), &cfg)
		if err != nil {
			t.Fatalf("example %d: %v", i+1, err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			t.Errorf("example %d: keys no field takes: %v", i+1, un)
		}
		if cfg.Sync.CSV.ID != "" {
			if err := cfg.Sync.CSV.Validate(); err != nil {
				t.Errorf("example %d: [sync.csv]: %v", i+1, err)
			}
		}
		if bad := cfg.Sync.OneRoster.Validate(); len(bad) > 0 {
			t.Errorf("example %d: [sync.oneroster]: %v", i+1, bad)
		}
		for _, r := range cfg.Sync.Reports {
			if err := r.Mapping.Validate(); err != nil || r.Path == "" {
				t.Errorf("example %d: report %q: %v", i+1, r.Path, err)
			}
		}
	}
}
