// Package modlicense finds the licence of every module a Go package is
// built from, for the binary's third-party notices. It reads the licence
// files in the module cache and names each by its text; a module whose
// licence it cannot name is an error, so that a new dependency's licence is
// looked at before it ships.
package modlicense

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Module is one module compiled in.
type Module struct {
	Path, Version, Dir string
	// Licence is its SPDX identifier; Text the licence file.
	Licence string
	File    string
	Text    string
}

type listed struct {
	Standard bool
	Module   *struct {
		Path, Version, Dir string
		Main               bool
		Replace            *struct{ Path, Version, Dir string }
	}
}

// Modules lists the modules the package pkg is built from (without the
// main module), sorted by path.
func Modules(pkg string) ([]Module, error) {
	cmd := exec.Command("go", "list", "-deps", "-json", pkg)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	seen := map[string]Module{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Standard || p.Module == nil || p.Module.Main {
			continue
		}
		m := Module{Path: p.Module.Path, Version: p.Module.Version, Dir: p.Module.Dir}
		if r := p.Module.Replace; r != nil {
			m.Version, m.Dir = r.Version, r.Dir
		}
		seen[m.Path] = m
	}
	var mods []Module
	for _, m := range seen {
		if err := m.identify(); err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	return mods, nil
}

var licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying)(\.md|\.txt)?$`)

func (m *Module) identify() error {
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	for _, e := range entries {
		if e.IsDir() || !licenceFile.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(m.Dir, e.Name()))
		if err != nil {
			return err
		}
		m.File, m.Text = e.Name(), strings.TrimSpace(string(b))
		if m.Licence = Identify(m.Text); m.Licence == "" {
			return fmt.Errorf("%s %s: cannot name the licence in %s: read it, and teach Identify", m.Path, m.Version, e.Name())
		}
		return nil
	}
	return fmt.Errorf("%s %s: no licence file in %s", m.Path, m.Version, m.Dir)
}

// Identify names a licence by its text (an SPDX identifier), or "".
func Identify(text string) string {
	t := strings.Join(strings.Fields(strings.ToLower(text)), " ")
	switch {
	case strings.Contains(t, "mozilla public license version 2.0") || strings.Contains(t, "mozilla public license, version 2.0"):
		return "MPL-2.0"
	case strings.Contains(t, "apache license") && strings.Contains(t, "version 2.0"):
		return "Apache-2.0"
	case strings.Contains(t, "permission is hereby granted, free of charge"):
		return "MIT"
	case strings.Contains(t, "permission to use, copy, modify, and/or distribute this software for any purpose"),
		strings.Contains(t, "permission to use, copy, modify, and distribute this software for any purpose"):
		return "ISC"
	case strings.Contains(t, "redistribution and use in source and binary forms"):
		if strings.Contains(t, "neither the name") || strings.Contains(t, "names of its contributors") || strings.Contains(t, "name of the copyright holder") {
			return "BSD-3-Clause"
		}
		return "BSD-2-Clause"
	}
	return ""
}

// Notices is the THIRD_PARTY_NOTICES.md of the package pkg.
func Notices(pkg string) ([]byte, error) {
	mods, err := Modules(pkg)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# Third-party notices\n\n")
	b.WriteString("Keystage is licensed under the Apache License 2.0 (LICENSE). The `keystage` binary is built\n")
	b.WriteString("with the modules below, each under its own licence, whose text follows. The source of each is\n")
	b.WriteString("the module at the version named (for the MPL-2.0 module, that is where its covered files are).\n")
	b.WriteString("This file is written by `go run ./deploy/notices`; do not edit it by hand.\n\n")
	b.WriteString("| module | version | licence |\n| --- | --- | --- |\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", m.Path, m.Version, m.Licence)
	}
	for _, m := range mods {
		fmt.Fprintf(&b, "\n## %s %s (%s)\n\n```text\n%s\n```\n", m.Path, m.Version, m.Licence, strings.ReplaceAll(m.Text, "```", "'''"))
	}
	return b.Bytes(), nil
}
