package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/plc"
)

// TestSimOptionErrors: --start, --scan and --map refuse a bad value with exit 2, naming the
// flag, the value and what was expected.
func TestSimOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"sim", "--start", "rnd"}, []string{`--start "rnd": expected default, random or random:N`}},
		{[]string{"sim", "--scan", "0s"}, []string{`--scan "0s": expected a scan period from 1ms to 5s`}},
		{[]string{"sim", "--scan", "50"}, []string{`--scan "50": expected a scan period from 1ms to 5s, such as 50ms`}},
		{[]string{"sim", "--scan", "10s"}, []string{`--scan "10s": expected`}},
		{[]string{"sim", "--map", "siemens"}, []string{`--map "siemens": expected one of default, scaled`}},
		{[]string{"sim", "--model", "heater", "--map", "tank-scaled"}, []string{`--map "tank-scaled"`, "shipped for heater"}},
		{[]string{"demo", "--start", "later"}, []string{`--start "later": expected default, random or random:N`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d; stderr %s", code, ExitBadInput, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
		})
	}
}

// TestSimStartScanMap: `patchgate sim --start random --scan 50ms --map scaled` on a 5 % slower
// firmware says what it serves, and serves it: the scaled point map reads every point Good
// over Modbus TCP, and the controller's own last scan period is 52.5 ms.
func TestSimStartScanMap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- Main(ctx, Env{Stdout: pw, Stderr: io.Discard}, []string{"sim", "--model", "tank", "--firmware", "scan-slow-5",
			"--start", "random", "--seed", "4", "--scan", "50ms", "--map", "scaled", "--modbus", "127.0.0.1:0", "--opcua", "", "--json"})
		pw.Close()
	}()
	defer func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("exit %d after interrupt", code)
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var in stationInfo
	if err := json.Unmarshal([]byte(line), &in); err != nil {
		t.Fatalf("%v: %q", err, line)
	}
	if in.Start != "random" || in.Scan != "52.5ms" || in.Map != "tank-scaled" || in.OPCUA != "" {
		t.Errorf("station says start %q scan %q map %q opcua %q; want random, 52.5ms, tank-scaled and no OPC UA", in.Start, in.Scan, in.Map, in.OPCUA)
	}
	pm, err := plc.Layout("tank", "scaled")
	if err != nil {
		t.Fatal(err)
	}
	tags, out := readEveryPoint(ctx, t, in.Modbus, pm)
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("%s: %s (%v)", tags[i], r.Quality, r.Err)
		}
		if tags[i] == plc.TagScanTimeUs {
			// the controller's measure of its last scan: 52.5 ms within the firmware's jitter
			if us := r.Value.Float(); math.Abs(us-52500) > 0.1*52500 {
				t.Errorf("ScanTimeUs %v, want about 52500", us)
			}
		}
	}
}

// TestSimDebugPort: `patchgate sim --firmware debug-port --debug 127.0.0.1:0` names the debug
// port it opened, which accepts a connection; a non-loopback --debug is refused.
func TestSimDebugPort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- Main(ctx, Env{Stdout: pw, Stderr: io.Discard}, []string{"sim", "--firmware", "debug-port",
			"--debug", "127.0.0.1:0", "--modbus", "127.0.0.1:0", "--opcua", "", "--json"})
		pw.Close()
	}()
	defer func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("exit %d after interrupt", code)
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var in stationInfo
	if err := json.Unmarshal([]byte(line), &in); err != nil {
		t.Fatalf("%v: %q", err, line)
	}
	if len(in.Debug) != 1 {
		t.Fatalf("debug ports %v; want the firmware's one", in.Debug)
	}
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(in.Debug[0])))
	if err != nil {
		t.Fatalf("debug port: %v", err)
	}
	c.Close()

	code, _, errOut := runCLI(t, "sim", "--firmware", "debug-port", "--debug", "0.0.0.0:0", "--modbus", "127.0.0.1:0", "--opcua", "")
	if code != ExitBadInput || !strings.Contains(errOut, "loopback") {
		t.Errorf("--debug 0.0.0.0:0: exit %d, stderr %q; want a refusal naming loopback", code, errOut)
	}
}
