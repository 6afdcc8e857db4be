package simopt

import (
	"strings"
	"testing"
	"time"
)

func TestParseStart(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Start
	}{
		{"", Start{}},
		{"default", Start{}},
		{" Default ", Start{}},
		{"random", Start{Random: true}},
		{"RANDOM", Start{Random: true}},
		{"random:0", Start{Random: true, Seed: 0, SeedSet: true}},
		{"random:42", Start{Random: true, Seed: 42, SeedSet: true}},
		{"random:18446744073709551615", Start{Random: true, Seed: 1<<64 - 1, SeedSet: true}},
	} {
		got, err := ParseStart(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseStart(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestParseStartErrors: every refusal names the parameter, repeats what was written and says
// what was expected.
func TestParseStartErrors(t *testing.T) {
	for _, in := range []string{"rand", "random:", "random:-1", "random:x", "random:1.5", "random:18446744073709551616", "fixed", "random 3"} {
		_, err := ParseStart(in)
		if err == nil {
			t.Errorf("ParseStart(%q) accepted", in)
			continue
		}
		for _, want := range []string{"start", `"` + in + `"`, "expected default, random or random:N"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseStart(%q) error %q does not contain %q", in, err, want)
			}
		}
	}
}

func TestStartSeedFor(t *testing.T) {
	if got := (Start{Random: true}).SeedFor(7); got != 7 {
		t.Errorf("random start draws from seed %d, want the controller's 7", got)
	}
	if got := (Start{Random: true, Seed: 3, SeedSet: true}).SeedFor(7); got != 3 {
		t.Errorf("random:3 draws from seed %d, want 3", got)
	}
}

func TestParseScan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"50ms", 50 * time.Millisecond},
		{"1ms", time.Millisecond},
		{"5s", 5 * time.Second},
		{" 1.5s ", 1500 * time.Millisecond},
		{"10500us", 10500 * time.Microsecond},
	} {
		got, err := ParseScan(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseScan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseScanErrors(t *testing.T) {
	for _, in := range []string{"", "0", "0s", "-10ms", "999us", "5001ms", "1h", "50", "fast", "50 ms"} {
		_, err := ParseScan(in)
		if err == nil {
			t.Errorf("ParseScan(%q) accepted", in)
			continue
		}
		for _, want := range []string{"scan", `"` + in + `"`, "expected a scan period from 1ms to 5s"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseScan(%q) error %q does not contain %q", in, err, want)
			}
		}
	}
}

func TestCheckScanError(t *testing.T) {
	err := CheckScan(0)
	if err == nil || !strings.Contains(err.Error(), "scan 0s: expected a scan period from 1ms to 5s") {
		t.Errorf("CheckScan(0) = %v; want it to name the period and the range", err)
	}
}

// FuzzParseStart: never panics; what it accepts prints back to the same Start.
func FuzzParseStart(f *testing.F) {
	for _, s := range []string{"", "default", "random", "random:0", "random:42", "random:-1", "random:", "RaNdOm:7", "random:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStart(s)
		if err != nil {
			if !strings.Contains(err.Error(), "expected") {
				t.Fatalf("error %q does not say what was expected", err)
			}
			return
		}
		back, err := ParseStart(st.String())
		if err != nil || back != st {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, st, st.String(), back, err)
		}
		if !st.Random && st.SeedSet {
			t.Fatalf("%q: a seed on a default start", s)
		}
	})
}

// FuzzParseScan: never panics, and never accepts a period outside the bounds.
func FuzzParseScan(f *testing.F) {
	for _, s := range []string{"50ms", "0", "-1s", "5s", "5.000000001s", "1ms", "999999ns", "1h2m", ".5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseScan(s)
		if err != nil {
			return
		}
		if d < MinScan || d > MaxScan {
			t.Fatalf("ParseScan(%q) = %v, outside %v..%v", s, d, MinScan, MaxScan)
		}
	})
}
