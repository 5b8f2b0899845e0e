package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPortalConfigProblems(t *testing.T) {
	cases := []struct {
		name, section string
		want          []string
	}{
		{"nothing set", "enabled = true\n", []string{"portal.public_url: set it", "portal.wifi_ssid", "portal.wifi_server_domain"}},
		{"IP address", "enabled = true\npublic_url = \"https://10.0.0.5\"\nwifi_ssid = \"S\"\nwifi_server_domain = \"r.example\"\n", []string{"not an IP address"}},
		{"plain http", "enabled = true\npublic_url = \"http://portal.example\"\nwifi_ssid = \"S\"\nwifi_server_domain = \"r.example\"\n", []string{"plain http is only for localhost"}},
		{"no certificate", "enabled = true\npublic_url = \"https://portal.example\"\nwifi_ssid = \"S\"\nwifi_server_domain = \"r.example\"\n", []string{"tls_cert and portal.tls_key"}},
		{"bad values", "enabled = true\nlisten = \"8443\"\npublic_url = \"http://localhost:8080\"\nwifi_ssid = \"S\"\nwifi_server_domain = \"r.example\"\nsession_lifetime = \"1m\"\npasskey_roles = [\"boss\"]\n",
			[]string{"portal.listen", "session_lifetime", "\"boss\" is not a role"}},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "k.toml")
		if err := os.WriteFile(path, []byte("[portal]\n"+tc.section), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := keystage(t, "", "--config", path, "config", "check")
		if code == 0 {
			t.Errorf("%s: accepted", tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: error lacks %q:\n%s", tc.name, w, errOut)
			}
		}
	}
}

// The demo prints a sign-in for each portal role, and makes its own
// certificate.
func TestDemoPortalHints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve")
	if code != 0 {
		t.Fatalf("demo: %d %s", code, errOut)
	}
	for _, want := range []string{"https://localhost:8443", "technician ", "safeguarding ", "auditor ", "teacher ", "pupil "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo hints lack %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"portal.crt", "portal.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("demo %s: %v", f, err)
		}
	}
	code, out, _ = keystage(t, "", "--data", dir, "account", "show", strings.Fields(out[strings.Index(out, "technician "):])[1])
	if code != 0 || !strings.Contains(out, "portal-technicians") {
		t.Errorf("demo technician's groups: %s", out)
	}
}
