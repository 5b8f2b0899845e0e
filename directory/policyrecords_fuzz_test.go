package directory_test

import (
	"errors"
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

// ParseSchoolDevices reads files from outside: whatever it is given, it
// returns devices whose MAC addresses read back as themselves, or an
// ErrDeviceFile.
func FuzzParseSchoolDevices(f *testing.F) {
	for _, s := range []string{"mac,label\nAA:BB:CC:DD:EE:FF,library 1\naabb.ccdd.eeff\n", "\ufeff02-00-00-00-00-01", "mac\nphone\n", "\"a,\"b\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := directory.ParseSchoolDevices(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, directory.ErrDeviceFile) {
				t.Fatalf("error not ErrDeviceFile: %v", err)
			}
			return
		}
		if len(ds) == 0 {
			t.Fatal("no devices and no error")
		}
		for _, d := range ds {
			if m, ok := directory.NormalMAC(d.MAC); !ok || m != d.MAC {
				t.Fatalf("device %q", d.MAC)
			}
		}
	})
}
