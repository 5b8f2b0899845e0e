package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The manual is docs/ (and deploy/*.md beside the files they describe), with
// README.md as its front page. These tests keep it whole: every command is
// documented, the configuration reference is the example the binary prints,
// and no relative link or #anchor points nowhere.

// repoRoot is the top of the source tree, seen from this package's folder.
const repoRoot = "../.."

// configurationDoc is the configuration reference: a hand-written head, then
// the marker line, then the part rendered from exampleConfig.
const configurationDoc = "docs/configuration.md"

const configurationMarker = "<!-- Everything below this line is generated from `keystage config example` " +
	"by TestDocsConfigurationReference (cmd/keystage/docs_test.go): do not edit it here, edit the example " +
	"and run KEYSTAGE_UPDATE_DOCS=1 go test -run TestDocsConfigurationReference ./cmd/keystage/ -->"

// configurationPages names, for each top-level table of the configuration,
// the page of the manual that explains it. A table not listed still gets its
// section, without the pointer.
var configurationPages = map[string]string{
	"":          "install.md#the-configuration",
	"database":  "storage.md",
	"secrets":   "passwords.md#secrets-sealed-at-rest-and-the-key-file",
	"log":       "install.md#the-configuration",
	"lockout":   "security.md#lockout-protecting-accounts-without-handing-pupils-a-weapon",
	"passwords": "passwords.md#configuration",
	"ldap":      "ldap.md#configuration",
	"radius":    "radius.md#configuration",
	"portal":    "portal.md#configuration",
	"metrics":   "metrics.md",
	"sync":      "sync.md#configuration",
	"aup":       "aup.md#audiences",
	"audit":     "audit.md#configuration",
}

// tableHeader matches a TOML table or array-of-tables header and captures the
// first part of its name ([sync.csv] → sync).
var tableHeader = regexp.MustCompile(`^\[\[?\s*"?([A-Za-z0-9_-]+)`)

// renderConfigurationReference is the generated part of docs/configuration.md:
// the example, cut at each change of top-level table into a section with a
// heading, a pointer to the page that explains it and a toml code block.
// Joined back, the blocks are the example line for line.
func renderConfigurationReference(example string) string {
	type part struct {
		table string
		lines []string
	}
	var parts []part
	cur := part{}
	for _, line := range strings.Split(strings.TrimRight(example, "\n"), "\n") {
		if m := tableHeader.FindStringSubmatch(line); m != nil && m[1] != cur.table {
			parts = append(parts, cur)
			cur = part{table: m[1]}
		}
		cur.lines = append(cur.lines, line)
	}
	parts = append(parts, cur)

	var b strings.Builder
	for _, p := range parts {
		for len(p.lines) > 0 && strings.TrimSpace(p.lines[len(p.lines)-1]) == "" {
			p.lines = p.lines[:len(p.lines)-1]
		}
		if len(p.lines) == 0 {
			continue
		}
		if p.table == "" {
			b.WriteString("\n## Top level\n\n")
		} else {
			fmt.Fprintf(&b, "\n## `[%s]`\n\n", p.table)
		}
		if page, ok := configurationPages[p.table]; ok {
			fmt.Fprintf(&b, "Explained in [%s](%s).\n\n", strings.SplitN(page, "#", 2)[0], page)
		}
		b.WriteString("```toml\n")
		b.WriteString(strings.Join(p.lines, "\n"))
		b.WriteString("\n```\n")
	}
	return b.String()
}

// TestDocsConfigurationReference fails when docs/configuration.md is not the
// example `keystage config example` prints; KEYSTAGE_UPDATE_DOCS=1 rewrites it,
// keeping the hand-written part above the marker.
func TestDocsConfigurationReference(t *testing.T) {
	file := filepath.Join(repoRoot, configurationDoc)
	old, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(old), configurationMarker)
	if !ok {
		t.Fatalf("%s has lost its marker line; put it back under the hand-written introduction:\n%s", configurationDoc, configurationMarker)
	}
	want := head + configurationMarker + "\n" + renderConfigurationReference(exampleConfig())
	if string(old) == want {
		return
	}
	if os.Getenv("KEYSTAGE_UPDATE_DOCS") != "" {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", configurationDoc)
		return
	}
	t.Errorf("%s differs from `keystage config example` (%s); run\n  KEYSTAGE_UPDATE_DOCS=1 go test -run TestDocsConfigurationReference ./cmd/keystage/",
		configurationDoc, firstDifference(string(old), want))
}

// TestRenderConfigurationReference checks the renderer on its own: every line
// of the example is in a code block, in order, and each table starts a section.
func TestRenderConfigurationReference(t *testing.T) {
	example := "# head\nschool = \"x\"\n\n[database]\nurl = \"\"\n\n[passwords.argon2]\nm = 1\n[passwords.roles]\nstaff = \"staff\"\n# [[sync.reports]]\n[[newthing.item]]\nk = 2\n"
	got := renderConfigurationReference(example)
	for _, h := range []string{"## Top level", "## `[database]`", "## `[passwords]`", "## `[newthing]`"} {
		if strings.Count(got, h+"\n") != 1 {
			t.Errorf("want one heading %q in:\n%s", h, got)
		}
	}
	if strings.Contains(got, "## `[sync]`") {
		t.Errorf("a commented-out table started a section:\n%s", got)
	}
	var code []string
	in := false
	for _, l := range strings.Split(got, "\n") {
		switch {
		case l == "```toml":
			in = true
		case l == "```":
			in = false
		case in:
			code = append(code, l)
		}
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(example, "\n"), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	var nonblank []string
	for _, l := range code {
		if l != "" {
			nonblank = append(nonblank, l)
		}
	}
	if strings.Join(nonblank, "\n") != strings.Join(lines, "\n") {
		t.Errorf("the code blocks are not the example:\n%s", got)
	}
}

// firstDifference says where two texts first differ, by line, for a failure message.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d is %q, want %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}

// TestDocsEveryCommand fails when a command `keystage --help` lists is not in
// the commands reference as `keystage NAME`.
func TestDocsEveryCommand(t *testing.T) {
	const page = "docs/commands.md"
	doc, err := os.ReadFile(filepath.Join(repoRoot, page))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !regexp.MustCompile("`keystage " + regexp.QuoteMeta(c.name) + "\\b").Match(doc) {
			t.Errorf("%s does not document `keystage %s` (%s): add a row to its table", page, c.name, c.summary)
		}
	}
}

// TestDocsHelpListsEveryCommand ties the table above to what a person sees:
// `keystage --help` prints every command of commands().
func TestDocsHelpListsEveryCommand(t *testing.T) {
	_, out, errOut := keystage(t, "", "--help")
	for _, c := range commands() {
		if !strings.Contains(out+errOut, "\n  "+c.name+" ") {
			t.Errorf("keystage --help does not list %s", c.name)
		}
	}
}

// TestDocsLinks fails, naming file and line, on a relative link in README.md,
// docs/ or deploy/ whose file does not exist, or whose #anchor is no heading
// of the Markdown file it points into.
func TestDocsLinks(t *testing.T) {
	files := markdownFiles(t)
	if len(files) < 10 {
		t.Fatalf("found only %d Markdown files from %s: is the tree whole?", len(files), repoRoot)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(file string) map[string]bool {
		if a, ok := anchors[file]; ok {
			return a
		}
		text, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		anchors[file] = markdownAnchors(text)
		return anchors[file]
	}
	checked := 0
	for _, file := range files {
		text, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownLinks(text) {
			if l.external() {
				continue
			}
			checked++
			target, frag, _ := strings.Cut(l.target, "#")
			resolved := file
			if target != "" {
				resolved = path.Clean(path.Join(path.Dir(file), target))
				if strings.HasPrefix(resolved, "../") {
					t.Errorf("%s:%d: link %q leaves the repository", file, l.line, l.target)
					continue
				}
				if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(resolved))); err != nil {
					t.Errorf("%s:%d: link %q: no file %s", file, l.line, l.target, resolved)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(resolved, ".md") && !anchorsOf(resolved)[frag] {
				t.Errorf("%s:%d: link %q: %s has no heading with the anchor #%s", file, l.line, l.target, resolved, frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link found: the scanner is broken")
	}
}

// TestMarkdownLinkScanner checks the scanner the link test rests on: links in
// code are not links, anchors follow GitHub's rules, and a broken link is
// reported (the test above must be able to fail).
func TestMarkdownLinkScanner(t *testing.T) {
	text := []byte("# Keystage: the *manual*\n\nSee [a](a.md#x-y) and ![p](p.png \"title\").\n" +
		"`[not](code.md)`\n```\n[not](fenced.md)\n## Not a heading\n```\n" +
		"## Wi-Fi: PEAP and TTLS (802.1X)\n## Wi-Fi: PEAP and TTLS (802.1X)\n[r]: ref.md\n[web](https://example.org)\n")
	var got []string
	for _, l := range markdownLinks(text) {
		if !l.external() {
			got = append(got, fmt.Sprintf("%d:%s", l.line, l.target))
		}
	}
	if want := "3:a.md#x-y 3:p.png 11:ref.md"; strings.Join(got, " ") != want {
		t.Errorf("links %q, want %q", strings.Join(got, " "), want)
	}
	a := markdownAnchors(text)
	for _, want := range []string{"keystage-the-manual", "wi-fi-peap-and-ttls-8021x", "wi-fi-peap-and-ttls-8021x-1"} {
		if !a[want] {
			t.Errorf("no anchor %q in %v", want, a)
		}
	}
	if a["not-a-heading"] {
		t.Error("a line in a code block made an anchor")
	}
}

// markdownFiles lists README.md, every .md under docs/ and deploy/*.md,
// relative to the repository with forward slashes.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, dir := range []string{"docs", "deploy"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != filepath.Join(repoRoot, dir) && dir == "deploy" {
				return fs.SkipDir // deploy's own Markdown is at its top; below are tools' files
			}
			if !d.IsDir() && strings.HasSuffix(p, ".md") {
				rel, err := filepath.Rel(repoRoot, p)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

type markdownLink struct {
	line   int
	target string
}

// external is a link this test cannot check: another site (https:, mailto:, …).
func (l markdownLink) external() bool {
	return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(l.target)
}

var (
	inlineLink    = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	referenceLink = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?`)
	codeSpan      = regexp.MustCompile("`+[^`]*`+")
)

// markdownLinks returns the inline and reference links of a Markdown text,
// outside code blocks and code spans, with their line numbers.
func markdownLinks(text []byte) []markdownLink {
	var links []markdownLink
	fence := ""
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if f := fenceOf(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		if m := referenceLink.FindStringSubmatch(line); m != nil {
			links = append(links, markdownLink{n, m[1]})
			continue
		}
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, markdownLink{n, m[1]})
		}
	}
	return links
}

// fenceOf returns the fence a line opens or closes (``` or ~~~, as long as
// written), or "".
func fenceOf(line string) string {
	s := strings.TrimLeft(line, " ")
	if len(line)-len(s) > 3 {
		return ""
	}
	for _, c := range []string{"`", "~"} {
		if strings.HasPrefix(s, c+c+c) {
			return s[:len(s)-len(strings.TrimLeft(s, c))]
		}
	}
	return ""
}

var headingLine = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)

// markdownAnchors returns the anchors GitHub gives a Markdown text's headings:
// the text lower-cased, links reduced to their text, everything but letters,
// digits, spaces, '-' and '_' dropped, spaces made '-'; a repeated anchor
// gets -1, -2, ….
func markdownAnchors(text []byte) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(string(text), "\n") {
		if f := fenceOf(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		m := headingLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		h := inlineLink.ReplaceAllStringFunc(m[2], func(s string) string {
			return s[strings.Index(s, "[")+1 : strings.Index(s, "]")]
		})
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	// Explicit anchors: <a id="…"> or <a name="…">.
	for _, m := range regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`).FindAllSubmatch(text, -1) {
		anchors[string(m[1])] = true
	}
	return anchors
}
