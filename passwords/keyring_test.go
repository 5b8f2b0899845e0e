package passwords

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeyringSealOpen(t *testing.T) {
	k, err := NewKeyring("b", map[string][]byte{"a": key(1), "b": key(2)})
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("account:42/wifi")
	s, err := k.Seal([]byte("k7mqx-3tazr-9p4ce"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "ks1:b:") {
		t.Errorf("sealed %q does not show key id b", s)
	}
	if id, err := SealedKeyID(s); err != nil || id != "b" {
		t.Errorf("SealedKeyID = %q %v", id, err)
	}
	pt, err := k.Open(s, ad)
	if err != nil || string(pt) != "k7mqx-3tazr-9p4ce" {
		t.Fatalf("Open = %q %v", pt, err)
	}
	s2, _ := k.Seal([]byte("k7mqx-3tazr-9p4ce"), ad)
	if s == s2 {
		t.Error("two seals are equal: nonce not random")
	}

	// Another account's additional data does not open it.
	if _, err := k.Open(s, []byte("account:43/wifi")); !errors.Is(err, ErrSealed) {
		t.Errorf("other additional data: %v, want ErrSealed", err)
	}
	// Relabelled to another key id: unknown, or known but wrong.
	if _, err := k.Open(strings.Replace(s, ":b:", ":c:", 1), ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown id: %v, want ErrUnknownKey", err)
	}
	if _, err := k.Open(strings.Replace(s, ":b:", ":a:", 1), ad); !errors.Is(err, ErrSealed) {
		t.Errorf("other key: %v, want ErrSealed", err)
	}
	// Every flipped character of the body is caught.
	body := s[len("ks1:b:"):]
	for i := range body {
		c := byte('A')
		if body[i] == 'A' {
			c = 'B'
		}
		bad := "ks1:b:" + body[:i] + string(c) + body[i+1:]
		if _, err := k.Open(bad, ad); !errors.Is(err, ErrSealed) {
			t.Fatalf("flip at %d: %v, want ErrSealed", i, err)
		}
	}
	for _, bad := range []string{"", "ks1:", "ks1:b", "ks1:b:", "ks2:b:" + body, "ks1:b:!!", "ks1:b/x:" + body} {
		if _, err := k.Open(bad, ad); !errors.Is(err, ErrSealed) {
			t.Errorf("Open(%q) = %v, want ErrSealed", bad, err)
		}
	}
	if _, err := SealedKeyID("nope"); !errors.Is(err, ErrSealed) {
		t.Errorf("SealedKeyID(nope) = %v", err)
	}
}

func TestNewKeyringErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cur  string
		keys map[string][]byte
	}{
		"no keys":         {"a", nil},
		"current missing": {"x", map[string][]byte{"a": key(1)}},
		"short key":       {"a", map[string][]byte{"a": key(1)[:16]}},
		"bad id":          {"a:b", map[string][]byte{"a:b": key(1)}},
		"bad other id":    {"a", map[string][]byte{"a": key(1), "b c": key(2)}},
	} {
		if _, err := NewKeyring(tc.cur, tc.keys); !errors.Is(err, ErrBadKeyring) {
			t.Errorf("%s: %v, want ErrBadKeyring", name, err)
		}
	}
	// The keyring copies its keys.
	m := map[string][]byte{"a": key(1)}
	k, _ := NewKeyring("a", m)
	s, _ := k.Seal([]byte("x"), nil)
	m["a"][0] = 9
	if _, err := k.Open(s, nil); err != nil {
		t.Errorf("caller's change to the key reached the keyring: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	data, err := GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKeyFile(data)
	if err != nil {
		t.Fatalf("parse generated file: %v\n%s", err, data)
	}
	if len(k.IDs()) != 1 {
		t.Errorf("ids %v", k.IDs())
	}
	s, _ := k.Seal([]byte("secret"), nil)

	// Rotation: append a key, it becomes current, old values still open.
	k2, err := k.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	if k2.CurrentID() == k.CurrentID() || len(k2.IDs()) != 2 || len(k.IDs()) != 1 {
		t.Errorf("rotate: old %v new %v", k.IDs(), k2.IDs())
	}
	k3, err := ParseKeyFile(k2.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if k3.CurrentID() != k2.CurrentID() {
		t.Errorf("current after round trip %q, want %q", k3.CurrentID(), k2.CurrentID())
	}
	if pt, err := k3.Open(s, nil); err != nil || string(pt) != "secret" {
		t.Errorf("old value under rotated ring: %q %v", pt, err)
	}
	s3, _ := k3.Seal([]byte("new"), nil)
	if id, _ := SealedKeyID(s3); id != k2.CurrentID() {
		t.Errorf("sealed with %q, want the new key", id)
	}

	hand := "# comment\n\n  old AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=  \nnew\tAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n# trailing comment\n"
	k4, err := ParseKeyFile([]byte(hand))
	if err != nil {
		t.Fatal(err)
	}
	if k4.CurrentID() != "new" || strings.Join(k4.IDs(), ",") != "old,new" {
		t.Errorf("current %q ids %v", k4.CurrentID(), k4.IDs())
	}

	for name, bad := range map[string]string{
		"empty":        "",
		"only comment": "# nothing\n",
		"one field":    "a\n",
		"three fields": "a AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= current\n",
		"not base64":   "a ***\n",
		"short key":    "a AQEBAQ==\n",
		"duplicate":    "a AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\na AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n",
		"bad id":       "a:b AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n",
	} {
		if _, err := ParseKeyFile([]byte(bad)); !errors.Is(err, ErrBadKeyring) {
			t.Errorf("%s: %v, want ErrBadKeyring", name, err)
		}
	}
}

func TestKeyringDoesNotPrintKeys(t *testing.T) {
	k, _ := NewKeyring("a", map[string][]byte{"a": key(0xAB)})
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, k)
		if strings.Contains(out, "171") || strings.Contains(strings.ToLower(out), "abab") || strings.Contains(out, "q6ur") {
			t.Errorf("%s prints key material: %s", f, out)
		}
	}
}
