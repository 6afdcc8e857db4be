package workspace

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/fixtures/thirdparty"
	"github.com/patchgate/patchgate/harness/verdict"
)

// TestThirdPartyBringUp is issue 9's whole path on the desktop's engine, against a
// controller on protocol stacks we did not write (fixtures/thirdparty): discover its points
// over OPC UA, save the map in the workspace's pointmaps/ and make the bench target use it,
// make a starter scenario from that map in scenarios/, shorten its soak as an engineer in a
// hurry would and save it, then validate the PLC's baseline against its benign patch through
// the target's map. A security fix must be GO; the register keeps the files' texts, so the
// bundle exports after the files are gone. It runs under `make thirdparty`.
func TestThirdPartyBringUp(t *testing.T) {
	dir := thirdparty.DirOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	plcs := map[string]*thirdparty.PLC{}
	for _, v := range []string{"baseline", "benign"} {
		p, err := thirdparty.Start(ctx, dir, v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		plcs[v] = p
	}
	url := func(v string) string { return plcs[v].OPCUA + "?security=None&allow_insecure=1" }
	w := openTest(t)
	bench := Target{Name: "Line 2 PLC", URL: url("baseline")}
	if _, err := w.AddTarget(bench); err != nil {
		t.Fatal(err)
	}

	// 1. discover, save, use: every point reads back
	found, err := w.Discover(ctx, bench, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := w.SavePointMap(DiscoveredName(bench), found.YAML, false)
	if err != nil {
		t.Fatal(err)
	}
	used, err := w.UsePointMap(bench.Name, rel)
	if err != nil {
		t.Fatal(err)
	}
	read, err := w.Test(ctx, used)
	if err != nil || read.Bad != 0 || len(read.Readings) < 10 {
		t.Fatalf("the discovered map %s: %v; %d of %d points Bad", rel, err, read.Bad, len(read.Readings))
	}

	// 2. a starter scenario from the map, its one-minute soak cut to 15 s, saved
	f, err := w.NewScenarioFromMap(DiscoveredName(bench)+".yaml", "line2-soak.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(f.Data)
	if !strings.Contains(text, "1m") || !strings.Contains(text, "scan_period") {
		t.Fatalf("the starter has no one-minute soak or no scan-period probe:\n%s", text)
	}
	f, err = w.SaveScenario(f.Name, []byte(strings.ReplaceAll(text, "1m", "15s")), f.SHA256)
	if err != nil {
		t.Fatal(err)
	}

	// 3. validate the patch, baseline to benign, through the target's map
	patch, err := w.AddPatch(ctx, PatchForm{Supplier: "Third Party", Product: "TankPLC",
		From: plcs["baseline"].Firmware, To: plcs["benign"].Firmware, Type: "security"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Validate(ctx, Request{Scenario: f.Name, Before: url("baseline"), After: url("benign"), Patch: patch.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.Verdict != verdict.Go {
		t.Errorf("a security fix that changes no behaviour: %s\n%s", res.Record.Verdict, strings.Join(res.Record.Reasons, "\n"))
	}
	if res.Record.PointMap != DiscoveredName(bench) {
		t.Errorf("validated through point map %q; want the discovered %q", res.Record.PointMap, DiscoveredName(bench))
	}
	ids := map[string]verdict.Status{}
	for _, c := range res.Record.Criteria {
		ids[c.ID] = c.Status
	}
	if ids["timing:scan_period"] != verdict.Pass {
		t.Errorf("timing:scan_period %q; the starter's probe must decide an unchanged scan", ids["timing:scan_period"])
	}
	os.Remove(f.Path)
	os.Remove(w.PointMapsFolder() + "/" + DiscoveredName(bench) + ".yaml")
	if _, _, err := w.ExportValidation(ctx, res.Validation); err != nil {
		t.Errorf("export after the files are gone: %v", err)
	}
	if c := w.VerifyValidation(ctx, res.Validation); !c.OK {
		t.Errorf("verify: %s", c.Text)
	}
}
