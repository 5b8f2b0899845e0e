package directory_test

import (
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
)

// NormalMAC reads MAC addresses typed by people and sent by access
// points: whatever it is given, it accepts only 12 hex digits, and what it
// gives back reads back as itself.
func FuzzNormalMAC(f *testing.F) {
	for _, s := range []string{"AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "aabb.ccdd.eeff", "02:00:00:00:00:07", "", "phone", "aa:bb:cc:dd:ee:ff:00", "ＡＡ:bb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := directory.NormalMAC(s)
		if !ok {
			return
		}
		if len(m) != 17 || strings.Count(m, "-") != 5 || m != strings.ToLower(m) {
			t.Fatalf("NormalMAC(%q) = %q", s, m)
		}
		if again, ok := directory.NormalMAC(m); !ok || again != m {
			t.Fatalf("NormalMAC(%q) = %q, %v", m, again, ok)
		}
	})
}
