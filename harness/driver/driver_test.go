package driver

import (
	"errors"
	"strings"
	"testing"
)

func TestQueryParams(t *testing.T) {
	cases := []struct {
		raw, want, err string
	}{
		{"unit=1&timeout=2s", "unit=1 timeout=2s", ""},
		{"trust=%2Fetc%2Fpki", "trust=/etc/pki", ""},
		{"", "", ""},
		{"unit=1&unit=2", "", `"unit" given twice`},
		{"unit", "", `"unit" has no value`},
		{"unit=", "", `"unit" has no value`},
		{"a=%zz", "", `query "a=%zz"`},
	}
	for _, tc := range cases {
		q, err := QueryParams(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadTarget) {
				t.Errorf("%q: error %v, want %q wrapping ErrBadTarget", tc.raw, err, tc.err)
			}
			continue
		}
		var got []string
		for _, kv := range q {
			got = append(got, kv[0]+"="+kv[1])
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %v, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	cases := []struct{ url, scheme, err string }{
		{"modbus://127.0.0.1:502?unit=1", "modbus", ""},
		{"modbus+tcp://127.0.0.1:502", "modbus", ""},
		{"opc.tcp://127.0.0.1:4840/path", "opc.tcp", ""},
		{"sim://tank?firmware=benign", "sim", ""},
		{"modbus://127.0.0.1:", "", "expected a host and an optional port"},
		{"opc.tcp://:4840", "", "expected a host and an optional port"},
		{"ftp://x", "", `unknown scheme "ftp"`},
		{"127.0.0.1:502", "", "expected modbus://host:port"},
		{"sim://", "", "expected sim://MODEL"},
		{"no scheme", "", "no scheme"},
	}
	for _, tc := range cases {
		tg, err := ParseTarget(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadTarget) {
				t.Errorf("%q: error %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || tg.Scheme != tc.scheme {
			t.Errorf("%q: scheme %q, %v; want %q", tc.url, tg.Scheme, err, tc.scheme)
		}
		if tg.Simulated() != (tc.scheme == "sim") {
			t.Errorf("%q: Simulated() = %v", tc.url, tg.Simulated())
		}
	}
}

// TestParseTargetDefaultPorts: a target without a port gets the protocol's registered port,
// and keeps the rest of the URL.
func TestParseTargetDefaultPorts(t *testing.T) {
	for url, want := range map[string]string{
		"modbus://10.0.0.7?unit=3":        "modbus://10.0.0.7:502?unit=3",
		"modbus+tcp://plc.lab":            "modbus://plc.lab:502",
		"modbus://[fe80::1]?unit=1":       "modbus://[fe80::1]:502?unit=1",
		"modbus://10.0.0.7:5020?unit=1":   "modbus://10.0.0.7:5020?unit=1",
		"opc.tcp://plc.lab/UA/Server":     "opc.tcp://plc.lab:4840/UA/Server",
		"opc.tcp://plc.lab?security=None": "opc.tcp://plc.lab:4840?security=None",
		"opc.tcp://127.0.0.1:48401":       "opc.tcp://127.0.0.1:48401",
		"sim://tank?firmware=benign":      "sim://tank?firmware=benign",
	} {
		tg, err := ParseTarget(url)
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		got := tg.String()
		if tg.Scheme == "modbus" { // modbus+tcp is modbus from here on
			got = "modbus" + got[strings.Index(got, ":"):]
		}
		if got != want {
			t.Errorf("%s: %s, want %s", url, got, want)
		}
	}
}

func TestTargetStringHidesSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"opc.tcp://h:4840/UA?user=op&password=hunter2", "opc.tcp://h:4840/UA?user=op&password=xxxxx"},
		{"opc.tcp://op:hunter2@h:4840", "opc.tcp://op:xxxxx@h:4840"},
		{"opc.tcp://h:4840?PWD=hunter2&pass=hunter2&trust=%2Ftmp", "opc.tcp://h:4840?PWD=xxxxx&pass=xxxxx&trust=%2Ftmp"},
		{"modbus://h:502?unit=1", "modbus://h:502?unit=1"},
		{"sim://tank?firmware=benign&seed=7", "sim://tank?firmware=benign&seed=7"},
	} {
		tg, err := ParseTarget(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.String(); got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("%s: %q, want %q", tc.in, got, tc.want)
		}
	}
}
