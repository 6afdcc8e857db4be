package discover_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/discover"
	"github.com/patchgate/patchgate/harness/driver"
)

func TestParseRanges(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"hr:0-999,ir:0-99,co:0-199,di:0-199", "holding 0-999|input 0-99|coil 0-199|discrete 0-199", ""},
		{" holding:5 , coils:0-65535 ", "holding 5|coil 0-65535", ""},
		{discover.DefaultRanges, "holding 0-199|input 0-199|coil 0-199|discrete 0-199", ""},
		{"hr:0-10,hr:11-20", "holding 0-10|holding 11-20", ""},
		{"", "", "no ranges"},
		{"hr", "", "no table"},
		{"xx:0-1", "", `unknown table "xx"`},
		{"hr:a-1", "", "not a whole number"},
		{"hr:0-65536", "", "not a whole number"},
		{"hr:10-5", "", "below the first"},
		{"hr:0-10,hr:10-20", "", "overlap"},
	}
	for _, tc := range cases {
		rs, err := discover.ParseRanges(tc.in)
		if tc.err != "" {
			if err == nil || !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v; expected a bad target saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.String())
		}
		if strings.Join(got, "|") != tc.want {
			t.Errorf("%q: %s; expected %s", tc.in, strings.Join(got, "|"), tc.want)
		}
	}
}

// FuzzParseRanges: any text gives ranges or an error wrapping ErrBadTarget, never a panic,
// and the ranges given are ordered and do not overlap.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{discover.DefaultRanges, "hr:0-999,ir:0-99", "co:5", "hr:1-0", "di:0-65535,di:3", ":", ",,", "hr:-", "HR:0-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := discover.ParseRanges(s)
		if err != nil {
			if !errors.Is(err, driver.ErrBadTarget) {
				t.Errorf("%q: %v does not wrap ErrBadTarget", s, err)
			}
			return
		}
		for i, a := range rs {
			if a.Last < a.First {
				t.Errorf("%q: %s", s, a)
			}
			for _, b := range rs[:i] {
				if a.Table == b.Table && a.First <= b.Last && b.First <= a.Last {
					t.Errorf("%q: %s overlaps %s", s, a, b)
				}
			}
		}
	})
}
