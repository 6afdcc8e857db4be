package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/verdict"
)

func TestJUnit(t *testing.T) {
	rec := fixture(t, 10).Record
	// a minor inconclusive criterion, which does not decide
	rec.Criteria = append(rec.Criteria, verdict.Criterion{ID: "timing:poll_jitter", Kind: verdict.KindTiming, Severity: "minor",
		Status: verdict.StatusUndecided, Reason: "too few samples"})
	var buf bytes.Buffer
	if err := JUnit(&buf, rec); err != nil {
		t.Fatal(err)
	}
	var suite struct {
		XMLName  xml.Name `xml:"testsuite"`
		Name     string   `xml:"name,attr"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Skipped  int      `xml:"skipped,attr"`
		Errors   int      `xml:"errors,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &suite); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if suite.Name != "tank-alarm-trip" || suite.Tests != len(rec.Criteria) || len(suite.Cases) != len(rec.Criteria) {
		t.Fatalf("suite %q with %d tests, %d cases; want %d", suite.Name, suite.Tests, len(suite.Cases), len(rec.Criteria))
	}
	fails, skips, errs := 0, 0, 0
	for i, c := range rec.Criteria {
		tc := suite.Cases[i]
		if tc.Classname != string(c.Kind) || tc.Name != c.ID {
			t.Errorf("case %d is %s/%s, want %s/%s", i, tc.Classname, tc.Name, c.Kind, c.ID)
		}
		switch c.Status {
		case verdict.Fail:
			fails++
			if tc.Failure == nil || tc.Failure.Message != c.Reason || tc.Failure.Type != c.Severity {
				t.Errorf("%s: failure %+v", c.ID, tc.Failure)
				continue
			}
			for _, want := range []string{"before: " + c.Before, "after: " + c.After, "tolerance: " + c.Tolerance, "expected: " + c.Expected} {
				if !strings.Contains(tc.Failure.Text, want) {
					t.Errorf("%s: failure text lacks %q:\n%s", c.ID, want, tc.Failure.Text)
				}
			}
		case verdict.StatusUndecided:
			if c.Severity == "minor" {
				skips++
				if tc.Skipped == nil || !strings.Contains(tc.Skipped.Message, c.Reason) || tc.Failure != nil || tc.Error != nil {
					t.Errorf("%s: skipped %+v", c.ID, tc.Skipped)
				}
				continue
			}
			// the fixture's majors block (none is listed in the reasons)
			errs++
			if tc.Error == nil || tc.Error.Type != "inconclusive" || !strings.Contains(tc.Error.Message, c.Reason) || tc.Skipped != nil {
				t.Errorf("%s (%s, inconclusive): error %+v, skipped %+v", c.ID, c.Severity, tc.Error, tc.Skipped)
			}
		default:
			if tc.Failure != nil || tc.Skipped != nil || tc.Error != nil {
				t.Errorf("%s passed but is reported as failed or skipped", c.ID)
			}
		}
	}
	if suite.Failures != fails || suite.Skipped != skips || suite.Errors != errs || fails == 0 || skips == 0 || errs == 0 {
		t.Errorf("failures %d skipped %d errors %d, want %d, %d and %d", suite.Failures, suite.Skipped, suite.Errors, fails, skips, errs)
	}
	props := map[string]string{}
	for _, p := range suite.Props {
		props[p.Name] = p.Value
	}
	for k, want := range map[string]string{"verdict": "NO-GO", "identity_before.firmware": "1.0.0",
		"identity_after.firmware": "1.0.1", "identity_after.security_policy": "None", "reason.1": rec.Reasons[0]} {
		if props[k] != want {
			t.Errorf("property %s = %q, want %q", k, props[k], want)
		}
	}
}

// TestJUnitInconclusive: an inconclusive criterion that decides the verdict is an <error>
// (CI dashboards hide <skipped>); one that does not stays <skipped>. The verdict and its
// reasons come from verdict.Decide, as a validation makes them.
func TestJUnitInconclusive(t *testing.T) {
	crit := func(id, sev string) verdict.Criterion {
		return verdict.Criterion{ID: id, Kind: verdict.KindData, Severity: sev, Status: verdict.StatusUndecided, Reason: "no data"}
	}
	for _, tc := range []struct {
		sev         string
		majorIsNoGo bool
		want        string // error or skipped
		verdict     verdict.Outcome
	}{
		{"critical", true, "error", verdict.Inconclusive},
		{"critical", false, "error", verdict.Inconclusive},
		{"major", true, "error", verdict.Inconclusive},
		{"major", false, "skipped", verdict.Go},
		{"", true, "error", verdict.Inconclusive}, // no severity is major, as Decide reads it
		{"minor", true, "skipped", verdict.Go},
	} {
		t.Run(fmt.Sprintf("%s/majors-block=%v", tc.sev, tc.majorIsNoGo), func(t *testing.T) {
			pass := verdict.Criterion{ID: "runs_complete", Kind: verdict.KindData, Severity: "critical", Status: verdict.Pass}
			c := crit("no_gaps", tc.sev)
			outcome, reasons := verdict.Decide([]verdict.Criterion{pass, c}, tc.majorIsNoGo)
			if outcome != tc.verdict {
				t.Fatalf("verdict %s, want %s", outcome, tc.verdict)
			}
			rec := verdict.Record{Verdict: outcome, Reasons: reasons, Scenario: "s", Criteria: []verdict.Criterion{pass, c}}
			var buf bytes.Buffer
			if err := JUnit(&buf, rec); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			errs, skips := strings.Count(out, "<error "), strings.Count(out, "<skipped ")
			if tc.want == "error" && (errs != 1 || skips != 0 || !strings.Contains(out, `errors="1"`)) ||
				tc.want == "skipped" && (errs != 0 || skips != 1 || !strings.Contains(out, `skipped="1"`)) {
				t.Errorf("want one %s:\n%s", tc.want, out)
			}
		})
	}
}

// TestJUnitGolden keeps the fixture's JUnit XML in testdata/junit.xml (go test -run
// JUnitGolden -update rewrites it).
func TestJUnitGolden(t *testing.T) {
	rec := fixture(t, 10).Record
	rec.Criteria = append(rec.Criteria, verdict.Criterion{ID: "timing:poll_jitter", Kind: verdict.KindTiming, Severity: "minor",
		Status: verdict.StatusUndecided, Reason: "too few samples"})
	var buf bytes.Buffer
	if err := JUnit(&buf, rec); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/junit.xml", buf.String())
}
