package compare

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/verdict"
)

// firmwareTag is the tag whose text stands in for the firmware version when a device's
// identity does not give one (the shipped point maps sample it).
const firmwareTag = "Firmware"

// firmwareCriterion (critical): the patch was applied, and is the one it claims to be.
//
// Rule: each side's firmware is what the device identity says at the start and end of every
// run (or, when it says nothing, the text of a sampled Firmware tag). Inconclusive when a
// side has no firmware or several (a run whose firmware changed part way). Fail when the
// firmware did not change, when the after firmware is not patch.ToVersion, or when the
// before firmware is not patch.FromVersion (each when given). Otherwise pass.
func firmwareCriterion(before, after []*runData, patch Patch) verdict.Criterion {
	c := verdict.Criterion{
		ID: "identity:firmware", Kind: verdict.KindIdentity, Severity: string(scenario.Critical),
		Tolerance: "exact",
	}
	from, to := cleanVersion(patch.FromVersion), cleanVersion(patch.ToVersion)
	switch {
	case from != "" && to != "":
		c.Expected = fmt.Sprintf("firmware %s before and %s after", from, to)
	case to != "":
		c.Expected = fmt.Sprintf("firmware changed to %s", to)
	case from != "":
		c.Expected = fmt.Sprintf("firmware changed from %s", from)
	default:
		c.Expected = "firmware changed"
	}
	bv, bWhere := sideFirmware(before)
	av, aWhere := sideFirmware(after)
	c.Before, c.After = strings.Join(bv, ", "), strings.Join(av, ", ")
	if c.Before == "" {
		c.Before = "unknown"
	}
	if c.After == "" {
		c.After = "unknown"
	}
	switch {
	case len(bv) == 0 || len(av) == 0:
		c.Status = verdict.StatusUndecided
		c.Reason = "the firmware version was not reported (device identity and Firmware tag)"
		if len(bv) == 0 {
			c.Reason += " before the patch"
		} else {
			c.Reason += " after the patch"
		}
	case len(bv) > 1:
		c.Status, c.Where = verdict.StatusUndecided, bWhere
		c.Reason = "the before runs report several firmware versions (" + c.Before + "): the baseline is not one firmware"
	case len(av) > 1:
		c.Status, c.Where = verdict.StatusUndecided, aWhere
		c.Reason = "the after runs report several firmware versions (" + c.After + ")"
	case bv[0] == av[0]:
		c.Status, c.Where = verdict.Fail, aWhere
		c.Reason = fmt.Sprintf("the firmware did not change (%s before and after): the patch was not applied", bv[0])
	case to != "" && av[0] != to:
		c.Status, c.Where = verdict.Fail, aWhere
		c.Reason = fmt.Sprintf("after the patch the device runs %s, the patch installs %s", av[0], to)
	case from != "" && bv[0] != from:
		c.Status, c.Where = verdict.Fail, bWhere
		c.Reason = fmt.Sprintf("before the patch the device ran %s, the patch applies to %s", bv[0], from)
	default:
		c.Status = verdict.Pass
		c.Reason = fmt.Sprintf("firmware %s -> %s", bv[0], av[0])
	}
	return c
}

func cleanVersion(s string) string { return strings.Trim(s, " \x00\t\r\n") }

// sideFirmware lists the distinct firmware versions a side's runs report.
func sideFirmware(runs []*runData) ([]string, *verdict.Where) {
	var out []string
	var where *verdict.Where
	add := func(r *runData, v string) {
		if v = cleanVersion(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
			if where == nil {
				where = r.where("", 0, r.end)
			}
		}
	}
	for _, r := range runs {
		pre, post := r.tr.Run.IdentityPre.Firmware, r.tr.Run.IdentityPost.Firmware
		if i, ok := r.tagIx[firmwareTag]; ok && pre == "" && post == "" {
			pre = r.text[i]
		}
		add(r, pre)
		add(r, post)
	}
	return out, where
}

// pointsCriterion (critical): nothing but the firmware changed in how the device presents
// itself.
//
// Rule: fail when a tag that read Good before reads only Bad after (the device refuses the
// address: a moved register or node), naming the tags; fail when the vendor, product or
// serial differ, or an OPC UA node id (identity extra "node.<tag>") differs or appears or
// disappears ("something else changed"). Tags that read Bad only some of the time after, and
// other identity extras that differ (certificates, build number), are listed, not judged.
// Inconclusive when a side has no runs. Otherwise pass.
func pointsCriterion(before, after []*runData) verdict.Criterion {
	c := verdict.Criterion{
		ID: "identity:points", Kind: verdict.KindIdentity, Severity: string(scenario.Critical),
		Expected:  "every point reads as before; vendor, product, serial and OPC UA nodes unchanged",
		Tolerance: "exact",
	}
	if len(before) == 0 || len(after) == 0 {
		c.Status, c.Reason = verdict.StatusUndecided, "no runs to compare on one side"
		c.Before, c.After = "-", "-"
		return c
	}
	type counts struct{ good, bad int }
	tally := func(runs []*runData) (map[string]*counts, []string) {
		m := map[string]*counts{}
		var order []string
		for _, r := range runs {
			for tag, i := range r.tagIx {
				k := m[tag]
				if k == nil {
					k = &counts{}
					m[tag] = k
					order = append(order, tag)
				}
				k.good += r.nGood[i]
				k.bad += r.nBad[i]
			}
		}
		slices.Sort(order)
		return m, order
	}
	bc, _ := tally(before)
	ac, aTags := tally(after)
	var refused, flaky []string
	for _, tag := range aTags {
		a, b := ac[tag], bc[tag]
		if b == nil || b.good == 0 || a.bad == 0 {
			continue
		}
		if a.good == 0 {
			refused = append(refused, tag)
		} else if b.bad == 0 {
			flaky = append(flaky, fmt.Sprintf("%s Bad in %d of %d readings", tag, a.bad, a.bad+a.good))
		}
	}
	// identity fields
	var changed, listed []string
	bi, ai := sideIdentity(before), sideIdentity(after)
	field := func(name, b, a string) {
		if b != "" && a != "" && b != a {
			changed = append(changed, fmt.Sprintf("%s %q -> %q", name, b, a))
		}
	}
	field("vendor", bi.Vendor, ai.Vendor)
	field("product", bi.Product, ai.Product)
	field("serial", bi.Serial, ai.Serial)
	keys := map[string]bool{}
	for k := range bi.Extra {
		keys[k] = true
	}
	for k := range ai.Extra {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		b, bok := bi.Extra[k]
		a, aok := ai.Extra[k]
		if b == a && bok == aok {
			continue
		}
		desc := fmt.Sprintf("%s %q -> %q", k, b, a)
		switch {
		case !bok:
			desc = fmt.Sprintf("%s new: %q", k, a)
		case !aok:
			desc = fmt.Sprintf("%s gone (was %q)", k, b)
		}
		if strings.HasPrefix(k, "node.") {
			changed = append(changed, desc)
		} else if k != "profile" {
			listed = append(listed, desc)
		}
	}
	c.Before = identityText(bi)
	c.After = identityText(ai)
	var reasons []string
	if len(refused) > 0 {
		reasons = append(reasons, fmt.Sprintf("the device refuses %s after the patch (read Good before, only Bad after: moved register or node?)", strings.Join(refused, ", ")))
		r := firstRunWithBad(after, refused[0])
		c.Where = r.where(refused[0], 0, r.end)
	}
	if len(changed) > 0 {
		reasons = append(reasons, "something else changed: "+listMax(changed, 4))
	}
	if len(reasons) > 0 {
		c.Status = verdict.Fail
		c.Reason = strings.Join(reasons, "; ")
	} else {
		c.Status = verdict.Pass
		c.Reason = "every point reads as before; identity unchanged but for the firmware"
	}
	if len(flaky) > 0 {
		c.Reason += "; listed: " + listMax(flaky, 3)
	}
	if len(listed) > 0 {
		c.Reason += "; also differs (not judged): " + listMax(listed, 3)
	}
	c.Numbers = map[string]float64{"refused_tags": float64(len(refused)), "identity_changes": float64(len(changed))}
	return c
}

func firstRunWithBad(runs []*runData, tag string) *runData {
	for _, r := range runs {
		if i, ok := r.tagIx[tag]; ok && r.nBad[i] > 0 {
			return r
		}
	}
	return runs[0]
}

// sideIdentity is the first identity a side reports (start of the first run, else its end).
func sideIdentity(runs []*runData) driver.Identity {
	for _, r := range runs {
		for _, id := range []driver.Identity{r.tr.Run.IdentityPre, r.tr.Run.IdentityPost} {
			if id.Vendor != "" || id.Product != "" || id.Firmware != "" || id.Serial != "" || len(id.Extra) > 0 {
				return id
			}
		}
	}
	return driver.Identity{}
}

func identityText(id driver.Identity) string {
	var parts []string
	for _, f := range [][2]string{{"vendor", id.Vendor}, {"product", id.Product}, {"firmware", id.Firmware}, {"serial", id.Serial}} {
		if f[1] != "" {
			parts = append(parts, f[0]+" "+f[1])
		}
	}
	n := 0
	for k := range id.Extra {
		if strings.HasPrefix(k, "node.") {
			n++
		}
	}
	if n > 0 {
		parts = append(parts, plural(n, "OPC UA node", "OPC UA nodes"))
	}
	if len(parts) == 0 {
		return "no identity reported"
	}
	return strings.Join(parts, ", ")
}
