package opcuaserver

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchgate/patchgate/simulators/plc"
)

// TestNodeOPCUABrowsesAndReads has node-opcua, an independent OPC UA stack, browse the
// namespace and read values. `make test` installs it (fixtures/interop) and sets
// PATCHGATE_NODE_OPCUA to that folder.
func TestNodeOPCUABrowsesAndReads(t *testing.T) {
	dir := os.Getenv("PATCHGATE_NODE_OPCUA")
	if dir == "" {
		t.Skip("PATCHGATE_NODE_OPCUA not set (make interop installs node-opcua)")
	}
	c, err := plc.New("tank", "benign", plc.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	defer c.Close()
	s, err := Start(context.Background(), c, Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "opcua-browse.js"), s.URL())
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node-opcua: %v\n%s", err, out)
	}
	var got struct {
		Namespaces      []string
		Objects         []string
		Variables       []string
		Level           float64
		LevelStatus     string
		SoftwareVersion string
	}
	// node-opcua writes its own log lines to stdout too: the result is the JSON line
	var line []byte
	for _, l := range bytes.Split(out, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("{")) {
			line = l
		}
	}
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want, _ := c.Get("Level")
	if got.LevelStatus != "Good" || got.Level < want.Float()-1 || got.Level > want.Float()+1 {
		t.Errorf("Level %v (%s), controller %v", got.Level, got.LevelStatus, want)
	}
	if got.SoftwareVersion != "3.2.1" {
		t.Errorf("SoftwareVersion %q, want the firmware 3.2.1", got.SoftwareVersion)
	}
	if len(got.Variables) != len(c.Points().Points) {
		t.Errorf("browsed %d variables %v, the point map has %d", len(got.Variables), got.Variables, len(c.Points().Points))
	}
	found := false
	for _, ns := range got.Namespaces {
		found = found || ns == "urn:patchgate:sim:tank"
	}
	if !found {
		t.Errorf("namespace array %v lacks urn:patchgate:sim:tank", got.Namespaces)
	}
}
