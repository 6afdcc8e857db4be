package compare

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The posture criterion (docs/architecture.md, section Security posture) judges the security
// posture the first before run collected against the first after run's. It fails when the
// patch made the device weaker, naming each change:
//
//   - a port of the scan list accepts connections after the patch and did not before;
//   - an added OPC UA endpoint offers a deprecated policy (Basic128Rsa15, Basic256), or is
//     weaker in policy or mode than every endpoint offered before (None/None beside
//     Basic256Sha256/SignAndEncrypt); or the strongest endpoint left is weaker than before;
//   - an anonymous user token appears;
//   - the server certificate has a smaller key of the same algorithm, a weaker signature
//     hash, a validity more than a day shorter, or has expired (at collection) where the
//     one before had not;
//   - a Modbus read function code is served that was refused (exception 01, illegal
//     function) or unanswered; another exception (an address not served) counts as served.
//
// Changes for the better (a port closed, an endpoint or token removed, a stronger key) and
// neutral ones are listed in the reason. A side without a posture, or with parts it could
// not collect, makes the criterion inconclusive unless a weaker change was found anyway:
// missing data never gives a pass.

const postureID = "posture"

// postureCriterion judges the posture when the scenario asks for one.
func postureCriterion(sc *scenario.Scenario, b, a []*runData) (verdict.Criterion, bool) {
	if sc.Posture == nil {
		return verdict.Criterion{}, false
	}
	c := verdict.Criterion{ID: postureID, Kind: verdict.KindPosture, Severity: string(sc.Posture.Severity),
		Expected:  "no port, OPC UA endpoint, user token, certificate or Modbus function code weaker than before",
		Tolerance: "none"}
	pb, lb, whyB := sidePosture(b)
	pa, la, whyA := sidePosture(a)
	c.Before, c.After = describePosture(pb, whyB), describePosture(pa, whyA)
	if len(a) > 0 {
		c.Where = &verdict.Where{Side: sideAfter, RunID: a[0].tr.Run.ID}
	}
	if pb == nil || pa == nil {
		c.Status = verdict.StatusUndecided
		var why []string
		if pb == nil {
			why = append(why, "no posture before ("+whyB+")")
		}
		if pa == nil {
			why = append(why, "no posture after ("+whyA+")")
		}
		c.Reason = strings.Join(why, "; ")
		return c, true
	}
	d := diffPosture(*pb, *pa)
	c.Numbers = map[string]float64{"worse": float64(len(d.worse)), "better": float64(len(d.better)), "other": float64(len(d.other))}
	var open []string
	for _, e := range pb.Errors {
		open = append(open, lb+": "+e)
	}
	for _, e := range pa.Errors {
		open = append(open, la+": "+e)
	}
	open = append(open, d.unknown...)
	var parts []string
	switch {
	case len(d.worse) > 0:
		c.Status = verdict.Fail
		parts = append(parts, "weaker after the patch: "+strings.Join(d.worse, "; "))
	case len(open) > 0:
		c.Status = verdict.StatusUndecided
		parts = append(parts, "not collected: "+strings.Join(open, "; "))
	default:
		c.Status = verdict.Pass
		parts = append(parts, "nothing weaker after the patch")
	}
	if len(d.worse) > 0 && len(open) > 0 {
		parts = append(parts, "not collected: "+strings.Join(open, "; "))
	}
	if len(d.better) > 0 {
		parts = append(parts, "better: "+strings.Join(d.better, "; "))
	}
	if len(d.other) > 0 {
		parts = append(parts, "changed: "+strings.Join(d.other, "; "))
	}
	c.Reason = strings.Join(parts, "; ")
	return c, true
}

// sidePosture is the posture of a side's first run, its label, or why there is none.
func sidePosture(rs []*runData) (*driver.Posture, string, string) {
	if len(rs) == 0 {
		return nil, "", "no runs"
	}
	r := rs[0]
	m := r.tr.Run.Meta
	s, ok := m[trace.MetaPosture]
	if !ok {
		if why := m[trace.MetaPostureError]; why != "" {
			return nil, r.label, r.label + ": " + why
		}
		return nil, r.label, r.label + ": not collected"
	}
	var p driver.Posture
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, r.label, fmt.Sprintf("%s: unreadable posture: %v", r.label, err)
	}
	return &p, r.label, ""
}

// postureDiff is what changed between two postures.
type postureDiff struct {
	worse, better, other []string
	unknown              []string // parts one side has and the other lacks
}

func diffPosture(b, a driver.Posture) postureDiff {
	var d postureDiff
	diffPorts(&d, b.Ports, a.Ports)
	switch {
	case b.OPCUA != nil && a.OPCUA != nil:
		diffOPCUA(&d, *b.OPCUA, *a.OPCUA, b.Collected, a.Collected)
	case b.OPCUA != nil:
		d.unknown = append(d.unknown, "OPC UA endpoints before, none after")
	case a.OPCUA != nil:
		d.unknown = append(d.unknown, "OPC UA endpoints after, none before")
	}
	switch {
	case b.Modbus != nil && a.Modbus != nil:
		diffModbus(&d, *b.Modbus, *a.Modbus)
	case b.Modbus != nil:
		d.unknown = append(d.unknown, "Modbus function codes before, none after")
	case a.Modbus != nil:
		d.unknown = append(d.unknown, "Modbus function codes after, none before")
	}
	return d
}

func diffPorts(d *postureDiff, b, a []driver.PortState) {
	before := map[int]string{}
	for _, p := range b {
		before[p.Port] = p.State
	}
	after := append([]driver.PortState(nil), a...)
	sort.Slice(after, func(i, j int) bool { return after[i].Port < after[j].Port })
	refused := func(s string) string {
		if s == driver.PortFiltered {
			return "no answer"
		}
		return "refused"
	}
	for _, p := range after {
		s, ok := before[p.Port]
		switch {
		case !ok || s == p.State:
		case p.State == driver.PortOpen:
			d.worse = append(d.worse, fmt.Sprintf("port %d accepts connections after the patch (%s before)", p.Port, refused(s)))
		case s == driver.PortOpen:
			d.better = append(d.better, fmt.Sprintf("port %d no longer accepts connections (%s after)", p.Port, refused(p.State)))
		default:
			d.other = append(d.other, fmt.Sprintf("port %d %s → %s", p.Port, s, p.State))
		}
	}
}

// policyRank orders the OPC UA security policies by strength; deprecated ones are flagged.
var policyRank = map[string]int{
	"None": 0, "Basic128Rsa15": 1, "Basic256": 2, "Aes128_Sha256_RsaOaep": 3, "Basic256Sha256": 3, "Aes256_Sha256_RsaPss": 4,
}

var modeRank = map[string]int{"None": 0, "Invalid": 0, "Sign": 1, "SignAndEncrypt": 2}

func deprecatedPolicy(p string) bool { return p == "Basic128Rsa15" || p == "Basic256" }

// epKey names an endpoint as policy/mode.
func epKey(e driver.Endpoint) string { return e.Policy + "/" + e.Mode }

// weakerOrEqual: e is at most as strong as f in both policy and mode (an unknown policy
// counts as None: what cannot be told stronger is not taken to be).
func weakerOrEqual(e, f driver.Endpoint) bool {
	return policyRank[e.Policy] <= policyRank[f.Policy] && modeRank[e.Mode] <= modeRank[f.Mode]
}

func strongest(es []driver.Endpoint) (driver.Endpoint, bool) {
	if len(es) == 0 {
		return driver.Endpoint{}, false
	}
	best := es[0]
	for _, e := range es[1:] {
		pe, pb := policyRank[e.Policy], policyRank[best.Policy]
		if pe > pb || (pe == pb && modeRank[e.Mode] > modeRank[best.Mode]) {
			best = e
		}
	}
	return best, true
}

func diffOPCUA(d *postureDiff, b, a driver.OPCUAPosture, collectedBefore, collectedAfter time.Time) {
	inB, inA := map[string]bool{}, map[string]bool{}
	for _, e := range b.Endpoints {
		inB[epKey(e)] = true
	}
	for _, e := range a.Endpoints {
		inA[epKey(e)] = true
	}
	for _, e := range uniqueEndpoints(a.Endpoints) {
		if inB[epKey(e)] {
			continue
		}
		dominates := false
		for _, f := range b.Endpoints {
			if weakerOrEqual(f, e) {
				dominates = true
				break
			}
		}
		switch {
		case deprecatedPolicy(e.Policy):
			d.worse = append(d.worse, "adds endpoint "+epKey(e)+" (deprecated policy)")
		case !dominates:
			d.worse = append(d.worse, "adds endpoint "+epKey(e))
		default:
			d.other = append(d.other, "adds endpoint "+epKey(e))
		}
	}
	for _, e := range uniqueEndpoints(b.Endpoints) {
		if !inA[epKey(e)] {
			d.better = append(d.better, "removes endpoint "+epKey(e))
		}
	}
	if sb, ok := strongest(b.Endpoints); ok {
		if sa, ok := strongest(a.Endpoints); ok && !weakerOrEqual(sb, sa) {
			d.worse = append(d.worse, "strongest endpoint "+epKey(sb)+" → "+epKey(sa))
		}
	}
	// user tokens over all endpoints
	tb, ta := tokenSet(b.Endpoints), tokenSet(a.Endpoints)
	for _, t := range sortedKeys(ta) {
		if tb[t] != nil {
			continue
		}
		if t == "Anonymous" {
			d.worse = append(d.worse, "adds anonymous user token ("+strings.Join(ta[t], ", ")+")")
		} else {
			d.other = append(d.other, "adds user token "+t+" ("+strings.Join(ta[t], ", ")+")")
		}
	}
	for _, t := range sortedKeys(tb) {
		if ta[t] == nil {
			d.better = append(d.better, "removes user token "+t)
		}
	}
	diffCertificate(d, b.Certificate, a.Certificate, collectedBefore, collectedAfter)
}

func uniqueEndpoints(es []driver.Endpoint) []driver.Endpoint {
	seen := map[string]bool{}
	var out []driver.Endpoint
	for _, e := range es {
		if !seen[epKey(e)] {
			seen[epKey(e)] = true
			out = append(out, e)
		}
	}
	return out
}

// tokenSet maps each user token type to the endpoints that offer it.
func tokenSet(es []driver.Endpoint) map[string][]string {
	out := map[string][]string{}
	for _, e := range es {
		for _, t := range e.Tokens {
			if !slices.Contains(out[t], epKey(e)) {
				out[t] = append(out[t], epKey(e))
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hashRank orders signature algorithms by their hash.
func hashRank(sig string) int {
	s := strings.ToUpper(sig)
	switch {
	case strings.Contains(s, "MD2"), strings.Contains(s, "MD5"):
		return 0
	case strings.Contains(s, "SHA1"), strings.Contains(s, "SHA-1"):
		return 1
	case strings.Contains(s, "SHA256"):
		return 2
	case strings.Contains(s, "SHA384"):
		return 3
	case strings.Contains(s, "SHA512"), strings.Contains(s, "ED25519"):
		return 4
	}
	return -1
}

func days(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', 0, 64) + " d"
}

func diffCertificate(d *postureDiff, b, a *driver.Certificate, collectedBefore, collectedAfter time.Time) {
	switch {
	case b == nil && a == nil:
		return
	case b == nil:
		d.other = append(d.other, "server certificate after, none before")
		return
	case a == nil:
		d.other = append(d.other, "no server certificate after (one before)")
		return
	}
	switch {
	case a.Key != b.Key:
		d.other = append(d.other, fmt.Sprintf("server certificate %s %d → %s %d bits", b.Key, b.Bits, a.Key, a.Bits))
	case a.Bits < b.Bits:
		d.worse = append(d.worse, fmt.Sprintf("server certificate %s %d → %d bits", b.Key, b.Bits, a.Bits))
	case a.Bits > b.Bits:
		d.better = append(d.better, fmt.Sprintf("server certificate %s %d → %d bits", b.Key, b.Bits, a.Bits))
	}
	if a.Signature != b.Signature {
		line := "signature " + b.Signature + " → " + a.Signature
		hb, ha := hashRank(b.Signature), hashRank(a.Signature)
		switch {
		case ha < hb:
			d.worse = append(d.worse, line)
		case ha > hb:
			d.better = append(d.better, line)
		default:
			d.other = append(d.other, line)
		}
	}
	lb, la := b.NotAfter.Sub(b.NotBefore), a.NotAfter.Sub(a.NotBefore)
	switch {
	case la < lb-24*time.Hour:
		d.worse = append(d.worse, "certificate validity "+days(lb)+" → "+days(la))
	case la > lb+24*time.Hour:
		d.other = append(d.other, "certificate validity "+days(lb)+" → "+days(la))
	}
	valid := func(c *driver.Certificate, at time.Time) bool {
		return at.IsZero() || (!at.Before(c.NotBefore) && !at.After(c.NotAfter))
	}
	if valid(b, collectedBefore) && !valid(a, collectedAfter) {
		d.worse = append(d.worse, fmt.Sprintf("server certificate not valid when collected (valid %s to %s)",
			a.NotBefore.UTC().Format(time.DateOnly), a.NotAfter.UTC().Format(time.DateOnly)))
	}
}

// implemented: the device serves the function code: it answered, or refused only the
// address or value asked (an exception other than 01, illegal function).
func implemented(answer string) bool {
	return answer == driver.FCAnswered || (strings.HasPrefix(answer, "exception ") && answer != driver.FCException(1))
}

func diffModbus(d *postureDiff, b, a driver.ModbusPosture) {
	before := map[int]string{}
	for _, f := range b.Codes {
		before[f.Code] = f.Answer
	}
	for _, f := range a.Codes {
		s, ok := before[f.Code]
		switch {
		case !ok || s == f.Answer:
		case implemented(f.Answer) && !implemented(s):
			d.worse = append(d.worse, fmt.Sprintf("answers function code %d (%s before)", f.Code, s))
		case implemented(s) && !implemented(f.Answer):
			d.better = append(d.better, fmt.Sprintf("no longer answers function code %d (%s after)", f.Code, f.Answer))
		default:
			d.other = append(d.other, fmt.Sprintf("function code %d: %s → %s", f.Code, s, f.Answer))
		}
	}
	for _, k := range sortedKeys(a.Identity) {
		if v, ok := b.Identity[k]; ok && v != a.Identity[k] {
			d.other = append(d.other, fmt.Sprintf("device identification %s %q → %q", k, v, a.Identity[k]))
		}
	}
}

// describePosture is one line of what a posture shows, for the criterion's before and after.
func describePosture(p *driver.Posture, why string) string {
	if p == nil {
		return "no posture: " + why
	}
	var parts []string
	var open []string
	for _, s := range p.Ports {
		if s.State == driver.PortOpen {
			open = append(open, strconv.Itoa(s.Port))
		}
	}
	if len(open) == 0 {
		open = []string{"none"}
	}
	parts = append(parts, fmt.Sprintf("open ports %s of %d", strings.Join(open, " "), len(p.Ports)))
	if u := p.OPCUA; u != nil {
		var es []string
		for _, e := range u.Endpoints {
			es = append(es, epKey(e)+" ["+strings.Join(e.Tokens, " ")+"]")
		}
		parts = append(parts, "endpoints "+strings.Join(es, ", "))
		if c := u.Certificate; c != nil {
			parts = append(parts, fmt.Sprintf("certificate %s %d %s valid %s", c.Key, c.Bits, c.Signature, days(c.NotAfter.Sub(c.NotBefore))))
		}
	}
	if m := p.Modbus; m != nil {
		var ok, no []string
		for _, f := range m.Codes {
			if implemented(f.Answer) {
				ok = append(ok, strconv.Itoa(f.Code))
			} else {
				no = append(no, strconv.Itoa(f.Code))
			}
		}
		parts = append(parts, fmt.Sprintf("function codes answered %s, refused %s", orNone(ok), orNone(no)))
	}
	if len(p.Errors) > 0 {
		parts = append(parts, "not collected: "+strings.Join(p.Errors, "; "))
	}
	return strings.Join(parts, "; ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}
