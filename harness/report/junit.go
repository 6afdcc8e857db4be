package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/verdict"
)

type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitFailure `xml:"failure"`
	Error     *junitFailure `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit writes rec as a JUnit XML test suite for CI systems: one <testsuite> named after the
// scenario, one <testcase> per criterion (classname the kind, name the ID), a <failure> for
// a failed criterion (its severity as the type), and the verdict, its reasons and the
// identities as properties.
//
// An inconclusive criterion that decides the verdict (critical, or major while majors
// block: docs/architecture.md "Missing data is INCONCLUSIVE, never GO") is an <error> of
// type "inconclusive": the patch was not shown safe, and dashboards hide <skipped>. One that
// does not decide (minor, or major under major_is_nogo: false, which the verdict lists as
// "listed: ID (major) inconclusive") stays <skipped>.
func JUnit(w io.Writer, rec verdict.Record) error {
	s := junitSuite{Name: rec.Scenario, Tests: len(rec.Criteria), Timestamp: rec.Decided}
	prop := func(name, value string) {
		if value != "" {
			s.Properties = append(s.Properties, junitProperty{name, value})
		}
	}
	prop("verdict", string(rec.Verdict))
	for i, r := range rec.Reasons {
		prop(fmt.Sprintf("reason.%d", i+1), r)
	}
	prop("point_map", rec.PointMap)
	prop("patch", rec.Patch)
	prop("before_target", rec.BeforeTarget)
	prop("after_target", rec.AfterTarget)
	identityProps(prop, "identity_before", rec.IdentityBefore)
	identityProps(prop, "identity_after", rec.IdentityAfter)
	prop("tool_version", rec.ToolVersion)
	prop("bundle", rec.Bundle)
	prop("bundle_sha256", rec.BundleSHA256)

	for _, c := range rec.Criteria {
		tc := junitCase{Classname: string(c.Kind), Name: c.ID}
		detail := fmt.Sprintf("severity: %s\nexpected: %s\nbefore: %s\nafter: %s\ntolerance: %s\nreason: %s",
			c.Severity, c.Expected, c.Before, c.After, c.Tolerance, c.Reason)
		if c.Where != nil {
			detail += "\nwhere: " + whereText(c.Where)
		}
		switch c.Status {
		case verdict.Fail:
			s.Failures++
			tc.Failure = &junitFailure{Message: c.Reason, Type: c.Severity, Text: detail}
		case verdict.StatusUndecided:
			if blocksVerdict(rec, c) {
				s.Errors++
				tc.Error = &junitFailure{Message: "inconclusive: " + c.Reason, Type: "inconclusive", Text: detail}
				break
			}
			s.Skipped++
			tc.Skipped = &junitSkipped{Message: "inconclusive: " + c.Reason}
			tc.SystemOut = detail
		default:
			tc.SystemOut = detail
		}
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// blocksVerdict: an inconclusive criterion c makes the verdict INCONCLUSIVE (unless a
// failure makes it NO-GO). Critical ones always do; minor ones never; a major one does
// unless the scenario relaxed majors, which verdict.Decide records by listing it among the
// reasons as "listed: ID (major) inconclusive: …".
func blocksVerdict(rec verdict.Record, c verdict.Criterion) bool {
	switch c.Severity {
	case "critical":
		return true
	case "minor":
		return false
	}
	listed := "listed: " + c.ID + " (major) inconclusive:"
	for _, r := range rec.Reasons {
		if strings.HasPrefix(r, listed) {
			return false
		}
	}
	return true
}

func identityProps(prop func(name, value string), prefix string, id driver.Identity) {
	prop(prefix+".vendor", id.Vendor)
	prop(prefix+".product", id.Product)
	prop(prefix+".firmware", id.Firmware)
	prop(prefix+".serial", id.Serial)
	keys := make([]string, 0, len(id.Extra))
	for k := range id.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		prop(prefix+"."+k, id.Extra[k])
	}
}

// whereText is a Where for people: "after run 12, tag Level, 1.500–2.000 s".
func whereText(wh *verdict.Where) string {
	var parts []string
	run := wh.Side
	if wh.RunID != 0 {
		run += fmt.Sprintf(" run %d", wh.RunID)
	}
	if run != "" {
		parts = append(parts, run)
	}
	if wh.Step != 0 {
		parts = append(parts, fmt.Sprintf("step %d", wh.Step))
	}
	if wh.Tag != "" {
		parts = append(parts, "tag "+wh.Tag)
	}
	if wh.FromNs != 0 || wh.ToNs != 0 {
		parts = append(parts, fmt.Sprintf("%s–%s s", seconds(wh.FromNs), seconds(wh.ToNs)))
	}
	return strings.Join(parts, ", ")
}

// seconds formats ns as seconds with millisecond digits.
func seconds(ns int64) string {
	return fmt.Sprintf("%.3f", float64(ns)/1e9)
}
