package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"identity", []byte{2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'}, nil},
		{"padding ignored", []byte{2, 1, 0, 5, 1, 0, 0}, nil},
		{"success", []byte{3, 9, 0, 4}, nil},
		{"short", []byte{2, 1, 0}, ErrShort},
		{"length beyond packet", []byte{2, 1, 0, 9, 1}, ErrLength},
		{"length below header", []byte{2, 1, 0, 3, 1}, ErrLength},
		{"response without type", []byte{2, 1, 0, 4}, ErrNoType},
		{"success with data", []byte{3, 1, 0, 5, 1}, ErrLength},
		{"unknown code", []byte{9, 1, 0, 4}, ErrCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil {
				n := int(tc.in[3])
				if got := p.Marshal(); !bytes.Equal(got, tc.in[:n]) {
					t.Errorf("round trip % x", got)
				}
			}
		})
	}
}

func TestFragmentReassemble(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 123)
	for _, size := range []int{1, 64, 1000, 1230, 5000} {
		var g Fragmenter
		g.Load(msg)
		r := Reassembler{Max: 2000}
		var got []byte
		for i := 0; g.Pending(); i++ {
			f := g.Next(size, 0)
			if (f.Flags&FlagLength != 0) != (i == 0) {
				t.Fatalf("size %d fragment %d flags %#x", size, i, f.Flags)
			}
			f2, err := ParseTLSFrame(f.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			m, done, err := r.Add(f2)
			if err != nil {
				t.Fatal(err)
			}
			if done != !g.Pending() {
				t.Fatalf("size %d: done %v pending %v", size, done, g.Pending())
			}
			got = m
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("size %d: reassembled %d bytes", size, len(got))
		}
	}
}

func TestReassemblerBounds(t *testing.T) {
	r := Reassembler{Max: 100}
	if _, _, err := r.Add(TLSFrame{Flags: FlagLength | FlagMore, Length: 1 << 30}); !errors.Is(err, ErrTLSLength) {
		t.Fatalf("announced length: %v", err)
	}
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, _, err = r.Add(TLSFrame{Flags: FlagMore, Data: make([]byte, 30)})
	}
	if !errors.Is(err, ErrTLSLength) {
		t.Fatalf("unbounded growth: %v", err)
	}
	r.Reset()
	if _, _, err := r.Add(TLSFrame{Flags: FlagLength, Length: 10, Data: []byte("short")}); !errors.Is(err, ErrFragment) {
		t.Fatalf("length mismatch: %v", err)
	}
}

func TestAVPs(t *testing.T) {
	b := AppendAVP(nil, AVP{Code: AVPUserName, Flags: AVPMandatory, Data: []byte("alice")})
	b = AppendAVP(b, AVP{Code: AVPMSCHAPChallenge, Flags: AVPVendor | AVPMandatory, Vendor: VendorMicrosoft, Data: make([]byte, 16)})
	avps, err := ParseAVPs(b)
	if err != nil || len(avps) != 2 || string(avps[0].Data) != "alice" || avps[1].Vendor != VendorMicrosoft || len(avps[1].Data) != 16 {
		t.Fatalf("%v %+v", err, avps)
	}
	if len(b)%4 != 0 {
		t.Errorf("not padded: %d", len(b))
	}
	for _, bad := range [][]byte{{0, 0, 0, 1, 0x40, 0, 0, 4}, {0, 0, 0, 1, 0x80, 0, 0, 9, 0}, {0, 0, 0, 1, 0x40, 0, 1, 0}} {
		if _, err := ParseAVPs(bad); !errors.Is(err, ErrAVP) {
			t.Errorf("% x: %v", bad, err)
		}
	}
}

func TestMSCHAPv2(t *testing.T) {
	m := MSCHAPv2{OpCode: MSCHAPv2Challenge, ID: 7, Value: make([]byte, 16), Name: []byte("keystage")}
	got, err := ParseMSCHAPv2(m.Marshal())
	if err != nil || got.ID != 7 || len(got.Value) != 16 || string(got.Name) != "keystage" {
		t.Fatalf("%v %+v", err, got)
	}
	if ack, err := ParseMSCHAPv2([]byte{MSCHAPv2Success}); err != nil || ack.OpCode != MSCHAPv2Success {
		t.Fatal(err)
	}
	if _, err := ParseMSCHAPv2([]byte{MSCHAPv2Response, 1, 0, 9, 60}); !errors.Is(err, ErrMSCHAPv2) {
		t.Fatal(err)
	}
	if s, err := ParseResultTLV(ResultTLV(ResultSuccess)); err != nil || s != ResultSuccess {
		t.Fatal(s, err)
	}
}

// FuzzParse checks that no input panics the codecs and that what parses
// re-encodes to itself.
func FuzzParse(f *testing.F) {
	f.Add([]byte{2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'})
	f.Add([]byte{2, 5, 0, 11, 25, 0xc0, 0, 0, 0, 9, 0x16})
	f.Add(AppendAVP(nil, AVP{Code: 25, Flags: AVPVendor | AVPMandatory, Vendor: 311, Data: make([]byte, 50)}))
	f.Add(append([]byte{26}, MSCHAPv2{OpCode: MSCHAPv2Response, ID: 3, Value: make([]byte, 49), Name: []byte("bob")}.Marshal()...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := Parse(b); err == nil {
			n := int(b[2])<<8 | int(b[3])
			if got := p.Marshal(); !bytes.Equal(got, b[:n]) {
				t.Fatalf("round trip % x -> % x", b[:n], got)
			}
		}
		if fr, err := ParseTLSFrame(b); err == nil {
			if got := fr.Marshal(); !bytes.Equal(got, b) {
				t.Fatalf("frame round trip % x -> % x", b, got)
			}
			r := Reassembler{Max: 1 << 10}
			r.Add(fr)
		}
		ParseMSCHAPv2(b)
		ParseResultTLV(b)
		if avps, err := ParseAVPs(b); err == nil {
			var out []byte
			for _, a := range avps {
				out = AppendAVP(out, a)
			}
			if again, err := ParseAVPs(out); err != nil || len(again) != len(avps) {
				t.Fatalf("AVP round trip: %v", err)
			}
		}
	})
}
