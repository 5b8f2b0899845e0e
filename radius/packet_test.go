package radius

import (
	"bytes"
	"testing"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// FuzzParse: parse accepts what layeh.Parse accepts and gives the same
// packet, and what it returns keeps nothing of the buffer it was given
// (the server reads the next datagram into it).
func FuzzParse(f *testing.F) {
	p := layeh.New(layeh.CodeAccessRequest, []byte("secret"))
	rfc2865.UserName_SetString(p, "jo.teacher")
	rfc2865.UserPassword_SetString(p, "k7mqx-3tazr-9p4ce")
	p.Add(rfc2865.ProxyState_Type, nil)
	b, err := p.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(append(b, 0, 0, 0)) // padding past the length field
	f.Add(b[:len(b)-1])
	f.Fuzz(func(t *testing.T, in []byte) {
		b := bytes.Clone(in) // cleared below; the engine's input must stay as given
		raw, got, err := parse(b, []byte("secret"))
		want, werr := layeh.Parse(b, []byte("secret"))
		if (err == nil) != (werr == nil) {
			t.Fatalf("parse: %v, layeh.Parse: %v", err, werr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(raw, b[:len(raw)]) || got.Code != want.Code || got.Identifier != want.Identifier ||
			got.Authenticator != want.Authenticator || len(got.Attributes) != len(want.Attributes) {
			t.Fatalf("parse gave %+v, layeh.Parse %+v", got, want)
		}
		for i, a := range got.Attributes {
			if a.Type != want.Attributes[i].Type || !bytes.Equal(a.Attribute, want.Attributes[i].Attribute) {
				t.Fatalf("attribute %d: %v %x, want %v %x", i, a.Type, a.Attribute, want.Attributes[i].Type, want.Attributes[i].Attribute)
			}
		}
		clear(b)
		for i, a := range got.Attributes {
			if !bytes.Equal(a.Attribute, want.Attributes[i].Attribute) {
				t.Fatalf("attribute %d changed with the buffer it was read from", i)
			}
		}
	})
}
