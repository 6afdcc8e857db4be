package yamlfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/parser"
)

type inner struct {
	B int    `yaml:"b"`
	S string `yaml:"s"`
}

type doc struct {
	A     inner            `yaml:"a"`
	List  []inner          `yaml:"list"`
	ByKey map[string]inner `yaml:"by_key"`
	Flag  bool             `yaml:"flag"`
	Small int8             `yaml:"small"`
	Plain int              // untagged: the key is the lower-cased name, "plain"
	JSON  string           `json:"json_name"`
	Skip  string           `yaml:"-"`
	Raw   selfDecoder      `yaml:"raw"`
	Ptr   *inner           `yaml:"ptr"`
	Base  `yaml:",inline"`
}

// Base is inlined into doc: its keys sit beside doc's.
type Base struct {
	Version int `yaml:"version"`
}

// selfDecoder takes any YAML; its keys are its own business.
type selfDecoder struct{ text string }

func (s *selfDecoder) UnmarshalYAML(b []byte) error { s.text = string(b); return nil }

func TestDecode(t *testing.T) {
	src := `version: 3
a: {b: 1, s: x}
list:
  - b: 2
by_key:
  k: {b: 3}
flag: true
plain: 4
json_name: j
raw: {anything: [1, 2]}
ptr: {s: p}
`
	var d doc
	if err := Decode("ok.yaml", []byte(src), &d); err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 || d.A.B != 1 || d.A.S != "x" || len(d.List) != 1 || d.List[0].B != 2 || d.ByKey["k"].B != 3 ||
		!d.Flag || d.Plain != 4 || d.JSON != "j" || !strings.Contains(d.Raw.text, "anything") || d.Ptr == nil || d.Ptr.S != "p" {
		t.Errorf("decoded %+v", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []string // "line:col: fragment", all of them
	}{
		{"empty", "", []string{"1:1: file is empty; expected a YAML document"}},
		{"comments only are not empty", "# nothing\n", nil},
		{"syntax unclosed flow", "a: {b: 1\n", []string{"1:4: could not find flow mapping end token '}'"}},
		{"syntax bad indent", "a:\n  b: 1\n c: 2\n", []string{"3:2: "}},
		{"unknown field", "a:\n  b: 1\n  c: 2\n", []string{`3:3: unknown field "c"; expected one of b, s`}},
		{"unknown field at top lists the keys", "versio: 1\n",
			[]string{`1:1: unknown field "versio"; expected one of a, list, by_key, flag, small, plain, json_name, raw, ptr, version`}},
		{"every unknown field in file order", "zz: 1\nlist:\n  - {b: 1, q: 2}\nby_key:\n  k: {r: 3}\nptr: {t: 4}\naa: 5\n",
			[]string{`1:1: unknown field "zz"`, `3:12: unknown field "q"`, `5:7: unknown field "r"`, `6:7: unknown field "t"`, `7:1: unknown field "aa"`}},
		{"a yaml:- field is not a key", "skip: x\n", []string{`1:1: unknown field "skip"`}},
		{"the Go name of a tagged field is not a key", "JSON: x\n", []string{`1:1: unknown field "JSON"`}},
		{"type error int", "a:\n  b: x\n", []string{`2:6: expected a whole number, got text "x"`}},
		{"type error bool", "flag: maybe\n", []string{`1:7: expected true or false, got text "maybe"`}},
		{"type error list", "a:\n  s: [1]\n", []string{"2:6: expected text, got a list"}},
		{"overflow", "small: 300\n", []string{"1:8: 300 is out of range; expected a whole number that fits int8"}},
		{"duplicate key", "flag: true\nflag: false\n", []string{`2:1: mapping key "flag" already defined at [1:1]`}},
		{"second document", "flag: true\n---\nflag: false\n", []string{"2:1: a second YAML document; expected one document per file"}},
		{"empty second document is fine", "flag: true\n---\n", nil},
		{"BOM then error", "\ufeffa:\n  c: 1\n", []string{`2:3: unknown field "c"`}},
		// found by FuzzParse in harness/point ("points:  ! "): go-yaml v1.19 panics on it
		{"tag without value", "list: !\n", []string{"1:7: a tag without a value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d doc
			err := Decode("f.yaml", []byte(c.src), &d)
			checkErrors(t, err, c.want)
		})
	}
}

func TestDecodeBOM(t *testing.T) {
	var d doc
	if err := Decode("bom.yaml", []byte("\ufeffversion: 2\n"), &d); err != nil || d.Version != 2 {
		t.Errorf("with a byte order mark: version %d, %v", d.Version, err)
	}
}

// validated checks itself after decoding, reporting by YAML path.
type validated struct {
	Items []struct {
		Name string `yaml:"name"`
		Max  int    `yaml:"max"`
	} `yaml:"items"`
}

func (v *validated) Validate() error {
	var errs []error
	for i, it := range v.Items {
		if it.Name == "" {
			errs = append(errs, At(fmt.Sprintf("$.items[%d].name", i), "missing name; expected a name"))
		}
		if it.Max < 0 {
			errs = append(errs, At(fmt.Sprintf("$.items[%d].max", i), "max %d; expected 0 or more", it.Max))
		}
	}
	if len(v.Items) < 3 {
		errs = append(errs, errors.New("fewer than 3 items"))
	}
	return errors.Join(errs...)
}

func TestDecodeValidator(t *testing.T) {
	src := "items:\n  - name: a\n    max: -1\n  - max: 2\n"
	var v validated
	err := Decode("v.yaml", []byte(src), &v)
	checkErrors(t, err, []string{
		"3:10: max -1; expected 0 or more",
		"4:5: missing name; expected a name", // the item's mapping, at its first key
		"0:0: fewer than 3 items",            // no path: no position
	})
}

// locateSrc has block and flow mappings, nulls, a tag and an anchor. Columns are 1-based.
const locateSrc = `a:
  b:
    - x: 1
    - c: 2
      d: null
      e:
  f: {g: 1}
  h: !!str 5
  i: &anc
    j: 1
`

func TestLocate(t *testing.T) {
	file, err := parser.ParseBytes([]byte(locateSrc), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want string
	}{
		{"$", "1:1"},
		{"$.a", "2:3"},              // a block mapping: its first key
		{"$.a.b", "3:5"},            // a sequence: its first '-'
		{"$.a.b[0].x", "3:10"},      // a scalar
		{"$.a.b[1]", "4:7"},         // the second item's mapping: its first key
		{"$.a.b[1].c", "4:10"},      // the value 2
		{"$.a.b[1].d", "5:7"},       // a null value: its key
		{"$.a.b[1].e", "6:7"},       // an empty value: its key
		{"$.a.b[1].missing", "4:7"}, // a missing key: the enclosing mapping
		{"$.a.b[1].missing.deeper", "4:7"},
		{"$.a.b[7]", "3:5"}, // a missing item: the sequence
		{"$.a.b[x]", "3:5"}, // not an index
		{"$.a.f", "7:6"},    // a flow mapping: its '{'
		{"$.a.f.g", "7:10"},
		{"$.a.f.zz", "7:6"},
		{"$.a.h", "8:6"}, // a tagged scalar: its tag
		{"$.a.i.j", "10:8"},
		{"$.a.i.nope", "9:6"}, // an anchored mapping: its anchor
		{"$.nope", "1:1"},
		{"", "1:1"},
	} {
		err := Locate("l.yaml", file, At(c.path, "problem"))
		var ye *Error
		if !errors.As(err, &ye) {
			t.Fatalf("%s: %T %v", c.path, err, err)
		}
		if got := fmt.Sprintf("%d:%d", ye.Line, ye.Col); got != c.want || ye.File != "l.yaml" || ye.Msg != "problem" {
			t.Errorf("Locate(%q) = %s %q at %s, want %s", c.path, ye.File, ye.Msg, got, c.want)
		}
	}
}

func TestLocatePassThrough(t *testing.T) {
	file, _ := parser.ParseBytes([]byte(locateSrc), 0)
	if err := Locate("l.yaml", file, nil); err != nil {
		t.Errorf("Locate(nil) = %v", err)
	}
	done := &Error{File: "other.yaml", Line: 9, Col: 9, Msg: "already placed"}
	if err := Locate("l.yaml", file, done); err != done {
		t.Errorf("an *Error was rewritten: %v", err)
	}
	wrapped := fmt.Errorf("context: %w", At("$.a.f", "wrapped"))
	joined := errors.Join(At("$.a.b", "first"), errors.Join(wrapped, errors.New("plain")))
	checkErrors(t, Locate("l.yaml", file, joined), []string{"3:5: first", "7:6: context: wrapped", "0:0: plain"})
	// LocateBytes with bytes that do not parse leaves the error as it was
	pe := At("$.a", "x")
	if err := LocateBytes("bad.yaml", []byte("a: {"), pe); err != pe {
		t.Errorf("LocateBytes on unparsable bytes = %v", err)
	}
	checkErrors(t, LocateBytes("l.yaml", []byte("\ufeff"+locateSrc), At("$.a.f.g", "bom")), []string{"7:10: bom"})
}

func TestErrorStrings(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&Error{File: "m.yaml", Line: 3, Col: 7, Msg: "bad"}, "m.yaml:3:7: bad"},
		{&Error{File: "m.yaml", Msg: "bad"}, "m.yaml: bad"},
		{At("$.points[2].type", "unknown type %q", "x"), `$.points[2].type: unknown type "x"`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

// checkErrors checks that err is *Errors (or joins of them) for the listed "line:col: fragment"s
// and no others; "0:0" is an error without a position.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	var lines []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		ye, ok := e.(*Error)
		if !ok {
			t.Errorf("%T is not an *Error: %v", e, e)
			return
		}
		lines = append(lines, fmt.Sprintf("%d:%d: %s", ye.Line, ye.Col, ye.Msg))
	}
	if err != nil {
		walk(err)
	}
	used := make([]bool, len(lines))
	for _, w := range want {
		pos, frag, _ := strings.Cut(w, ": ")
		found := false
		for i, l := range lines {
			if !used[i] && strings.HasPrefix(l, pos+": ") && strings.Contains(l[len(pos)+2:], frag) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no error %q in:\n%s", w, strings.Join(lines, "\n"))
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
}
