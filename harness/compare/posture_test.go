package compare

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// basePosture is a hardened station: Modbus and OPC UA open, one secure endpoint with
// user names, a 2048-bit SHA-256 certificate for a year, diagnostics refused.
func basePosture() driver.Posture {
	return driver.Posture{
		Collected: t0,
		Ports: []driver.PortState{{Port: 23, State: driver.PortClosed}, {Port: 502, State: driver.PortOpen},
			{Port: 2323, State: driver.PortClosed}, {Port: 4840, State: driver.PortOpen}, {Port: 8080, State: driver.PortFiltered}},
		OPCUA: &driver.OPCUAPosture{
			Endpoints: []driver.Endpoint{{Policy: "Basic256Sha256", Mode: "SignAndEncrypt", Tokens: []string{"UserName"}}},
			Certificate: &driver.Certificate{Key: "RSA", Bits: 2048, Signature: "SHA256-RSA",
				NotBefore: t0.Add(-24 * time.Hour), NotAfter: t0.Add(364 * 24 * time.Hour)},
		},
		Modbus: &driver.ModbusPosture{Identity: map[string]string{"VendorName": "patchgate"}, Codes: []driver.FunctionCode{
			{Code: 1, Answer: "ok"}, {Code: 3, Answer: "ok"}, {Code: 7, Answer: "exception 01"}, {Code: 17, Answer: "exception 01"}, {Code: 43, Answer: "no answer"}}},
	}
}

func TestPostureDiffRules(t *testing.T) {
	ep := func(p, m string, tok ...string) driver.Endpoint {
		return driver.Endpoint{Policy: p, Mode: m, Tokens: tok}
	}
	cases := []struct {
		name                 string
		change               func(p *driver.Posture)
		worse, better, other []string
		unknown              int
	}{
		{name: "unchanged", change: func(*driver.Posture) {}},
		{name: "port opens", change: func(p *driver.Posture) { p.Ports[2].State = driver.PortOpen },
			worse: []string{"port 2323 accepts connections after the patch (refused before)"}},
		{name: "filtered port opens", change: func(p *driver.Posture) { p.Ports[4].State = driver.PortOpen },
			worse: []string{"port 8080 accepts connections after the patch (no answer before)"}},
		{name: "port closes", change: func(p *driver.Posture) { p.Ports[1].State = driver.PortClosed },
			better: []string{"port 502 no longer accepts connections (refused after)"}},
		{name: "closed to filtered", change: func(p *driver.Posture) { p.Ports[0].State = driver.PortFiltered },
			other: []string{"port 23 closed → filtered"}},
		{name: "port scanned one side only", change: func(p *driver.Posture) {
			p.Ports = append(p.Ports, driver.PortState{Port: 9999, State: driver.PortOpen})
		}},
		{name: "adds None/None anonymous", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints = append(p.OPCUA.Endpoints, ep("None", "None", "Anonymous"))
		}, worse: []string{"adds endpoint None/None", "adds anonymous user token (None/None)"}},
		{name: "adds weaker mode", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints = append(p.OPCUA.Endpoints, ep("Basic256Sha256", "Sign", "UserName"))
		}, worse: []string{"adds endpoint Basic256Sha256/Sign"}},
		{name: "adds deprecated policy", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints = append(p.OPCUA.Endpoints, ep("Basic256", "SignAndEncrypt", "UserName"))
		}, worse: []string{"adds endpoint Basic256/SignAndEncrypt (deprecated policy)"}},
		{name: "adds stronger policy", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints = append(p.OPCUA.Endpoints, ep("Aes256_Sha256_RsaPss", "SignAndEncrypt", "UserName"))
		}, other: []string{"adds endpoint Aes256_Sha256_RsaPss/SignAndEncrypt"}},
		{name: "replaces the strongest by a weaker one", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints = []driver.Endpoint{ep("Basic256Sha256", "Sign", "UserName")}
		}, worse: []string{"adds endpoint Basic256Sha256/Sign", "strongest endpoint Basic256Sha256/SignAndEncrypt → Basic256Sha256/Sign"},
			better: []string{"removes endpoint Basic256Sha256/SignAndEncrypt"}},
		{name: "anonymous on the secure endpoint", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints[0].Tokens = []string{"Anonymous", "UserName"}
		}, worse: []string{"adds anonymous user token (Basic256Sha256/SignAndEncrypt)"}},
		{name: "adds certificate tokens", change: func(p *driver.Posture) {
			p.OPCUA.Endpoints[0].Tokens = []string{"UserName", "Certificate"}
		}, other: []string{"adds user token Certificate (Basic256Sha256/SignAndEncrypt)"}},
		{name: "weak certificate", change: func(p *driver.Posture) {
			c := p.OPCUA.Certificate
			c.Bits, c.Signature, c.NotAfter = 1024, "SHA1-RSA", c.NotBefore.Add(30*24*time.Hour)
		}, worse: []string{"server certificate RSA 2048 → 1024 bits", "signature SHA256-RSA → SHA1-RSA", "certificate validity 365 d → 30 d"}},
		{name: "stronger certificate", change: func(p *driver.Posture) {
			c := p.OPCUA.Certificate
			c.Bits, c.Signature = 4096, "SHA384-RSA"
		}, better: []string{"server certificate RSA 2048 → 4096 bits", "signature SHA256-RSA → SHA384-RSA"}},
		{name: "expired certificate", change: func(p *driver.Posture) {
			c := p.OPCUA.Certificate
			c.NotBefore, c.NotAfter = t0.Add(-366*24*time.Hour), t0.Add(-time.Hour)
		}, worse: []string{"server certificate not valid when collected (valid 2025-02-28 to 2026-03-01)"}},
		{name: "another key algorithm", change: func(p *driver.Posture) {
			p.OPCUA.Certificate.Key, p.OPCUA.Certificate.Bits = "ECDSA", 256
		}, other: []string{"server certificate RSA 2048 → ECDSA 256 bits"}},
		{name: "answers a refused function code", change: func(p *driver.Posture) { p.Modbus.Codes[3].Answer = "ok" },
			worse: []string{"answers function code 17 (exception 01 before)"}},
		{name: "answers device identification", change: func(p *driver.Posture) { p.Modbus.Codes[4].Answer = "ok" },
			worse: []string{"answers function code 43 (no answer before)"}},
		{name: "address refused, then answered", change: func(p *driver.Posture) {
			p.Modbus.Codes[2].Answer = "exception 02"
		}, worse: []string{"answers function code 7 (exception 01 before)"}},
		{name: "refuses a function code", change: func(p *driver.Posture) { p.Modbus.Codes[0].Answer = "exception 01" },
			better: []string{"no longer answers function code 1 (exception 01 after)"}},
		{name: "identity object changes", change: func(p *driver.Posture) { p.Modbus.Identity["VendorName"] = "other" },
			other: []string{`device identification VendorName "patchgate" → "other"`}},
		{name: "no OPC UA after", change: func(p *driver.Posture) { p.OPCUA = nil }, unknown: 1},
		{name: "no Modbus after", change: func(p *driver.Posture) { p.Modbus = nil }, unknown: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := basePosture()
			tc.change(&a)
			d := diffPosture(basePosture(), a)
			for _, x := range []struct {
				what      string
				got, want []string
			}{{"worse", d.worse, tc.worse}, {"better", d.better, tc.better}, {"other", d.other, tc.other}} {
				if !slices.Equal(x.got, x.want) {
					t.Errorf("%s: got %q\nwant %q", x.what, x.got, x.want)
				}
			}
			if len(d.unknown) != tc.unknown {
				t.Errorf("unknown: %q, want %d", d.unknown, tc.unknown)
			}
		})
	}
}

func postureRun(side string, id int64, p *driver.Posture, why string) *runData {
	tr := &trace.Trace{Run: trace.Run{ID: id, Meta: map[string]string{}}}
	if p != nil {
		b, _ := json.Marshal(p)
		tr.Run.Meta[trace.MetaPosture] = string(b)
	}
	if why != "" {
		tr.Run.Meta[trace.MetaPostureError] = why
	}
	return &runData{tr: tr, side: side, label: side + " run " + string(rune('0'+id))}
}

// TestPostureReasons holds the criterion of each case to testdata/posture/reasons.golden
// (-update rewrites it).
func TestPostureReasons(t *testing.T) {
	sc := &scenario.Scenario{Posture: &scenario.Posture{Severity: scenario.Critical}}
	with := func(f func(p *driver.Posture)) *driver.Posture { p := basePosture(); f(&p); return &p }
	cases := []struct {
		name   string
		before []*runData
		after  []*runData
		status verdict.Status
	}{
		{"same posture", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(*driver.Posture) {}), "")}, verdict.Pass},
		{"debug port, better too", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(p *driver.Posture) {
				p.Ports[2].State = driver.PortOpen
				p.Modbus.Codes[0].Answer = "exception 01"
			}), "")}, verdict.Fail},
		{"policy none", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(p *driver.Posture) {
				p.OPCUA.Endpoints = append(p.OPCUA.Endpoints, driver.Endpoint{Policy: "None", Mode: "None", Tokens: []string{"Anonymous"}})
			}), "")}, verdict.Fail},
		{"weak certificate", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(p *driver.Posture) {
				c := p.OPCUA.Certificate
				c.Bits, c.Signature, c.NotAfter = 1024, "SHA1-RSA", c.NotBefore.Add(30*24*time.Hour)
			}), "")}, verdict.Fail},
		{"better only", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(p *driver.Posture) { p.Ports[1].State = driver.PortClosed }), "")}, verdict.Pass},
		{"not collected after", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, nil, "modbus://127.0.0.1:5020: not supported by this target")}, verdict.StatusUndecided},
		{"part not collected", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(p *driver.Posture) {
				p.OPCUA = nil
				p.Errors = []string{"GetEndpoints: EOF"}
			}), "")}, verdict.StatusUndecided},
		{"weaker while a part is missing", []*runData{postureRun("before", 1, with(func(*driver.Posture) {}), "")},
			[]*runData{postureRun("after", 2, with(func(p *driver.Posture) {
				p.Ports[0].State = driver.PortOpen
				p.Modbus = nil
			}), "")}, verdict.Fail},
		{"no runs before", nil, []*runData{postureRun("after", 2, with(func(*driver.Posture) {}), "")}, verdict.StatusUndecided},
	}
	var out strings.Builder
	for _, tc := range cases {
		c, ok := postureCriterion(sc, tc.before, tc.after)
		if !ok {
			t.Fatalf("%s: no criterion", tc.name)
		}
		if c.Status != tc.status || c.ID != "posture" || c.Kind != verdict.KindPosture || c.Severity != "critical" {
			t.Errorf("%s: %s %s %s %s, want posture posture critical %s (%s)", tc.name, c.ID, c.Kind, c.Severity, c.Status, tc.status, c.Reason)
		}
		out.WriteString("== " + tc.name + "\nstatus: " + string(c.Status) + "\nreason: " + c.Reason + "\nbefore: " + c.Before + "\nafter:  " + c.After + "\n\n")
	}
	if _, ok := postureCriterion(&scenario.Scenario{}, nil, nil); ok {
		t.Error("a scenario without posture got a posture criterion")
	}
	golden := filepath.Join("testdata", "posture", "reasons.golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" { // the flag of golden_test.go
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestPostureReasons -update writes it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("reasons differ from %s (-update rewrites it):\n%s", golden, out.String())
	}
}

func FuzzPostureDecode(f *testing.F) {
	b, _ := json.Marshal(basePosture())
	f.Add(string(b))
	f.Add(`{"ports":[{"port":1,"state":"open"}],"opcua":{"endpoints":[{"policy":"x","mode":"y","user_tokens":null}],"certificate":{}}}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, s string) {
		sc := &scenario.Scenario{Posture: &scenario.Posture{Severity: scenario.Major}}
		b := []*runData{{tr: &trace.Trace{Run: trace.Run{Meta: map[string]string{trace.MetaPosture: s}}}, label: "before run 1"}}
		a := []*runData{postureRun("after", 2, ptr(basePosture()), "")}
		c, _ := postureCriterion(sc, b, a)
		c2, _ := postureCriterion(sc, a, b)
		if c.Reason == "" || c2.Reason == "" {
			t.Fatal("no reason")
		}
	})
}

func ptr[T any](v T) *T { return &v }
