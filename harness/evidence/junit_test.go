package evidence

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/verdict"
)

func TestJUnit(t *testing.T) {
	rec := fixture(t, 10).Record
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
	fails, skips := 0, 0
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
			skips++
			if tc.Skipped == nil || !strings.Contains(tc.Skipped.Message, c.Reason) || tc.Failure != nil {
				t.Errorf("%s: skipped %+v", c.ID, tc.Skipped)
			}
		default:
			if tc.Failure != nil || tc.Skipped != nil {
				t.Errorf("%s passed but is reported as failed or skipped", c.ID)
			}
		}
	}
	if suite.Failures != fails || suite.Skipped != skips || fails == 0 || skips == 0 {
		t.Errorf("failures %d skipped %d, want %d and %d", suite.Failures, suite.Skipped, fails, skips)
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
