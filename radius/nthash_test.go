package radius

import (
	"bytes"
	"testing"

	"layeh.com/radius/rfc2759"
)

// ntHash must agree with rfc2759's NtPasswordHash on every password a
// request may carry: ASCII, accents, characters outside the BMP (two
// UTF-16 units) and bytes that are not UTF-8.
func TestNTHashAgreesWithRFC2759(t *testing.T) {
	for _, pw := range []string{
		"", "k7mqx-3tazr-9p4ce", "clé-été", "日本語のパスワード", "🔑🔐x", "\xff\xfeab", "a\xed\xa0\x80b", "\x00", string(make([]byte, 128)),
	} {
		u, err := rfc2759.ToUTF16([]byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ntHash(pw), rfc2759.NTPasswordHash(u); !bytes.Equal(got, want) {
			t.Errorf("ntHash(%q) = %x, want %x", pw, got, want)
		}
	}
}

func FuzzNTHash(f *testing.F) {
	f.Add("k7mqx-3tazr-9p4ce")
	f.Add("\xff🔑")
	f.Fuzz(func(t *testing.T, pw string) {
		u, _ := rfc2759.ToUTF16([]byte(pw))
		if got, want := ntHash(pw), rfc2759.NTPasswordHash(u); !bytes.Equal(got, want) {
			t.Errorf("ntHash(%q) = %x, want %x", pw, got, want)
		}
	})
}
