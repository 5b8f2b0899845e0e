package deploy

import (
	"bytes"
	"os"
	"testing"

	"keystage.dev/keystage/deploy/notices/modlicense"
)

// THIRD_PARTY_NOTICES.md names every module the binary is built from with
// its licence and text; a dependency added without regenerating it fails
// here, and so does one whose licence no one has looked at.
func TestThirdPartyNotices(t *testing.T) {
	want, err := modlicense.Notices("keystage.dev/keystage/cmd/keystage")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../THIRD_PARTY_NOTICES.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("THIRD_PARTY_NOTICES.md is out of date: run go run ./deploy/notices > THIRD_PARTY_NOTICES.md")
	}
	for _, want := range [][]byte{[]byte("| layeh.com/radius |"), []byte("| MPL-2.0 |")} {
		if !bytes.Contains(got, want) {
			t.Errorf("notices lack %q", want)
		}
	}
}

func TestIdentifyLicences(t *testing.T) {
	for _, f := range []string{"/usr/share/common-licenses/Apache-2.0", "/usr/share/common-licenses/MPL-2.0", "../LICENSE"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skip(err)
		}
		want := map[string]string{"/usr/share/common-licenses/Apache-2.0": "Apache-2.0", "/usr/share/common-licenses/MPL-2.0": "MPL-2.0", "../LICENSE": "Apache-2.0"}[f]
		if got := modlicense.Identify(string(b)); got != want {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
	for text, want := range map[string]string{
		"Permission is hereby granted, free of charge, to any person obtaining a copy":                                            "MIT",
		"Redistribution and use in source and binary forms, with or without modification ... Neither the name of Google Inc. nor": "BSD-3-Clause",
		"Redistribution and use in source and binary forms, with or without modification, are permitted":                          "BSD-2-Clause",
		"Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee":                    "ISC",
		"GNU GENERAL PUBLIC LICENSE Version 3": "",
	} {
		if got := modlicense.Identify(text); got != want {
			t.Errorf("Identify(%.40q) = %q, want %q", text, got, want)
		}
	}
}
