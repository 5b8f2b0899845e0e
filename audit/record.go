package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
)

// The subject access record (register person) and the register export
// share one schema, so that an auditor reads both the same way: keys in
// snake_case, dates as YYYY-MM-DD and instants as YYYY-MM-DD HH:MM in the
// school's time zone, and "" for a date or instant that is not set.

// RegisterRowJSON is one register row as the json and jsonl formats write
// it, with dates in loc (nil: UTC).
func RegisterRowJSON(r RegisterRow, loc *time.Location) json.RawMessage {
	if loc == nil {
		loc = time.UTC
	}
	var b bytes.Buffer
	writeRowJSON(&b, &r, fmtr{loc: loc})
	return b.Bytes()
}

func writeRowJSON(b interface {
	WriteByte(byte) error
	WriteString(string) (int, error)
	Write([]byte) (int, error)
}, r *RegisterRow, f fmtr) {
	b.WriteByte('{')
	for i, col := range columns {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(col.key)
		b.Write(k)
		b.WriteByte(':')
		if col.key == "passkeys" {
			v, _ := json.Marshal(r.Passkeys)
			b.Write(v)
			continue
		}
		v, _ := json.Marshal(col.get(r, f))
		b.Write(v)
	}
	b.WriteByte('}')
}

// RecordValue is v as the subject access record writes it: a struct
// becomes an object whose keys are its field names in snake_case (MISID is
// mis_id, NASName nas_name), in field order; a time.Time is a date when
// its field's name ends in "Date", else an instant, and "" when zero; a
// nil slice is an empty array. Fields tagged json:"-" are left out.
func RecordValue(v any, loc *time.Location) any {
	if loc == nil {
		loc = time.UTC
	}
	return recordValue(reflect.ValueOf(v), fmtr{loc: loc}, false)
}

// recordObject is an object that keeps its keys in order.
type recordObject []recordField

type recordField struct {
	key string
	val any
}

func (o recordObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalNoEscape(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

var timeType = reflect.TypeFor[time.Time]()

func recordValue(v reflect.Value, f fmtr, isDate bool) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if isDate {
			return f.date(t)
		}
		return f.instant(t)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return recordValue(v.Elem(), f, isDate)
	case reflect.Struct:
		var o recordObject
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = SnakeCase(sf.Name)
			}
			o = append(o, recordField{name, recordValue(v.Field(i), f, strings.HasSuffix(sf.Name, "Date"))})
		}
		return o
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Interface() // bytes: base64, as encoding/json writes them
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = recordValue(v.Index(i), f, isDate)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return recordObject{}
		}
		o := make(recordObject, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			o = append(o, recordField{SnakeCase(it.Key().String()), recordValue(it.Value(), f, isDate)})
		}
		slices.SortFunc(o, func(a, b recordField) int { return strings.Compare(a.key, b.key) })
		return o
	}
	return v.Interface()
}

// snakeWords are the run-together capitals of our field names that are
// two words.
var snakeWords = map[string]string{"MISID": "mis_id"}

// SnakeCase writes a Go field name the way the exports name their keys:
// CreatedAt is created_at, NASName nas_name, UIDNumber uid_number.
func SnakeCase(name string) string {
	if s, ok := snakeWords[name]; ok {
		return s
	}
	for k, s := range snakeWords {
		if rest, ok := strings.CutPrefix(name, k); ok && rest != "" && unicode.IsUpper(rune(rest[0])) {
			return s + "_" + SnakeCase(rest)
		}
	}
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
