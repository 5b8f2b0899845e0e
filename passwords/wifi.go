package passwords

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf16"
)

// ErrUnsatisfiable: GenerateWiFi could not produce a credential that the
// policy accepts (say a MaxLength below 17).
var ErrUnsatisfiable = errors.New("passwords: no Wi-Fi credential satisfies the policy")

// Wi-Fi credentials are groups of wifiGroupLen characters joined by "-", like
// "k7mqx-3tazr-9p4ce". The alphabet leaves out the look-alikes 0, O, o, 1, l
// and I; lower case and digits need no shift key on a phone, and "-" is on
// the first symbol page of every phone keyboard. Upper case (without I and O)
// joins the alphabet only when the policy asks for all four classes.
const (
	wifiLower      = "abcdefghijkmnpqrstuvwxyz" // 24: no l, o
	wifiUpper      = "ABCDEFGHJKLMNPQRSTUVWXYZ" // 24: no I, O
	wifiDigits     = "23456789"                 // 8: no 0, 1
	wifiGroupLen   = 5
	wifiMinGroups  = 3
	wifiMaxAttempt = 100
)

func wifiAlphabet(p Policy) string {
	if p.MinClasses >= 4 {
		return wifiLower + wifiUpper + wifiDigits
	}
	return wifiLower + wifiDigits
}

func wifiGroups(p Policy) int {
	g := wifiMinGroups
	for g*(wifiGroupLen+1)-1 < p.MinLength {
		g++
	}
	return g
}

// WiFiBits is the entropy in bits of a credential that GenerateWiFi(p) makes:
// per group, log2(k) for its first character and log2(k-1) for each of the
// others, since no character repeats its predecessor (k is the alphabet size:
// 32, or 56 with upper case). With the default policies that is 3 groups of 5
// from 32: 3*(5 + 4*log2(31)) = 74.4 bits. Credentials that fail the policy
// are drawn again; that happens to about 1 in 75 (no digit in 15 characters),
// which takes off less than 0.02 bit.
func WiFiBits(p Policy) float64 {
	k := float64(len(wifiAlphabet(p)))
	return float64(wifiGroups(p)) * (math.Log2(k) + float64(wifiGroupLen-1)*math.Log2(k-1))
}

// GenerateWiFi returns a new random Wi-Fi credential that passes p.Check with
// an empty Person, drawn with crypto/rand. See WiFiBits for its strength.
func GenerateWiFi(p Policy) (string, error) {
	alphabet := wifiAlphabet(p)
	groups := wifiGroups(p)
	var b strings.Builder
	for range wifiMaxAttempt {
		b.Reset()
		for g := range groups {
			if g > 0 {
				b.WriteByte('-')
			}
			prev := -1
			for range wifiGroupLen {
				// Draw from the alphabet less the previous character, so
				// no character repeats and the draw stays uniform.
				n := len(alphabet)
				if prev >= 0 {
					n--
				}
				i, err := randIndex(n)
				if err != nil {
					return "", fmt.Errorf("generate wifi: %w", err)
				}
				if prev >= 0 && i >= prev {
					i++
				}
				b.WriteByte(alphabet[i])
				prev = i
			}
		}
		if len(p.Check(b.String(), Person{})) == 0 {
			return b.String(), nil
		}
	}
	return "", fmt.Errorf("generate wifi for policy %q: %w", p.Name, ErrUnsatisfiable)
}

func randIndex(n int) (int, error) {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, err
	}
	return int(i.Int64()), nil
}

// NTHash is the NT hash MS-CHAPv2 needs: MD4 of the password in UTF-16
// little-endian (RFC 2759, NtPasswordHash). Invalid UTF-8 is read as U+FFFD.
func NTHash(password string) []byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	sum := md4(b)
	return sum[:]
}
