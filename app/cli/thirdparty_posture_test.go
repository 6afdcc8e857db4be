package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchgate/patchgate/fixtures/thirdparty"
	"github.com/patchgate/patchgate/harness/verdict"
)

// TestThirdPartyPosture: the posture of the third-party tank PLC (node-opcua, modbus-serial),
// over Modbus TCP and over OPC UA, against itself passes: the same ports open (its two and a
// freed one refused), the same endpoints, certificate and function codes.
func TestThirdPartyPosture(t *testing.T) {
	dir := thirdparty.DirOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := thirdparty.Start(ctx, dir, "baseline")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	port := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return u.Port()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	fixtures, _ := filepath.Abs(filepath.Join("..", "..", "fixtures", "thirdparty"))
	for _, pr := range []struct{ name, points, target string }{
		{"modbus", "tankplc-modbus.yaml", p.Modbus},
		{"opcua", "tankplc-opcua.yaml", p.OPCUA + "?security=None&allow_insecure=1"},
	} {
		t.Run(pr.name, func(t *testing.T) {
			sc := filepath.Join(t.TempDir(), "posture.yaml")
			src := fmt.Sprintf(`version: 1
name: tankplc-posture
points: %s
sample: {period: 100ms, tags: [Level]}
posture: {ports: [%s, %s, %d], rate: 50, timeout: 1s}
steps:
  - wait: 1s
`, filepath.Join(fixtures, pr.points), port(p.Modbus), port(p.OPCUA), freed)
			if err := os.WriteFile(sc, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "validate", "--json", "--db", filepath.Join(t.TempDir(), "v.db"),
				"--scenario", sc, "--before", pr.target, "--after", pr.target)
			var rec verdict.Record
			if err := json.Unmarshal([]byte(out), &rec); err != nil {
				t.Fatalf("exit %d, no verdict record (%v)\nstderr: %s", code, err, errOut)
			}
			c, ok := criterion(rec, "posture")
			t.Logf("%s: %s %s; before: %s", pr.name, rec.Verdict, c.Status, c.Before)
			if !ok || c.Status != verdict.Pass {
				t.Errorf("posture %q: %s, want pass", c.Status, c.Reason)
			}
		})
	}
}
