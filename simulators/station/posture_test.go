package station_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/simdriver"
	"github.com/patchgate/patchgate/simulators/station"
)

// postureStation starts a station with the firmware's debug ports open and every port on a
// free loopback port; with security "secure" and no users it is the station
// simdriver.StationPosture describes.
func postureStation(t *testing.T, prof firmware.Profile, cfg station.Config) *station.Station {
	t.Helper()
	cfg.Model, cfg.Firmware, cfg.Seed = prof.Model, prof.Name, 1
	for _, a := range []*string{&cfg.Modbus, &cfg.OPCUA, &cfg.Debug} {
		if *a == "" {
			*a = "127.0.0.1:0"
		}
	}
	st, err := station.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("station %s/%s: %v", prof.Model, prof.Name, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// trustedURL is the station's OPC UA target over Basic256Sha256 SignAndEncrypt, trusting
// its certificate.
func trustedURL(t *testing.T, st *station.Station) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "station.der"), st.OPCUA.Certificate(), 0o644); err != nil {
		t.Fatal(err)
	}
	return st.OPCUAURL() + "?security=Basic256Sha256&mode=SignAndEncrypt&trust=" + url.QueryEscape(dir)
}

// freePort is a loopback port nothing listens on (it was free a moment ago).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func port(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostureOnTheWireIsTheSimView: for the tank's profiles, the posture the real drivers
// read from a station (modbus:// and opc.tcp://) is the one sim:// computes for the same
// firmware (simdriver.StationPosture): the same ports open, the same OPC UA endpoints and
// certificate, the same Modbus function codes answered. The station's ports are free ones,
// so the sim view's 502, 4840 and 2323 are mapped onto them. The sim view is a station with
// OPC UA security "secure"; with security "all" the wire shows None/None with anonymous
// login beside it, whatever the firmware.
//
// gopcua's client refuses a secure channel to a server whose key is under 2048 bits (as
// Basic256Sha256 and the Aes policies require), so the weak-cert firmware's OPC UA posture
// is read over None, from the station with security "all"; with "secure" the connection
// must fail on the key size.
//
// The profiles: the baseline, every one that changes the posture, and register-moved (the
// probe's read of input register 0 gets exception 02 once Level has moved away). Security
// "all" for the baseline and the profiles that change OPC UA.
func TestPostureOnTheWireIsTheSimView(t *testing.T) {
	if raceEnabled {
		// a station a profile and security setting, each making its certificate: a minute
		// of CPU under the race detector; `make realtime` runs it once without
		t.Skip("stations of every posture profile: run without -race (make test does)")
	}
	for _, prof := range firmware.ForModel("tank") {
		if prof.Kind != firmware.Baseline && prof.Breaks != "posture" && len(prof.Moved) == 0 {
			continue
		}
		for _, sec := range []string{"secure", "all"} {
			if sec == "all" && prof.Kind != firmware.Baseline && !prof.InsecureEndpoint && prof.Cert == nil {
				continue
			}
			t.Run(prof.Name+"/"+sec, func(t *testing.T) {
				checkPosture(t, prof, sec)
			})
		}
	}
}

func checkPosture(t *testing.T, prof firmware.Profile, sec string) {
	st := postureStation(t, prof, station.Config{Security: sec})
	pm := st.Controller.Points()
	debug := freePort(t) // closed, unless the firmware opens its debug port
	if ps := st.DebugPorts(); len(ps) > 0 {
		debug = ps[0]
	}
	if len(st.DebugPorts()) != len(prof.OpenPorts) {
		t.Fatalf("debug ports %v; the firmware opens %v", st.DebugPorts(), prof.OpenPorts)
	}
	simPorts := []int{502, 2323, 4840}
	if len(prof.OpenPorts) > 0 {
		simPorts[1] = prof.OpenPorts[0]
	}
	wirePorts := []int{port(t, st.Modbus.Addr()), debug, port(t, st.OPCUA.Addr())}
	want := simdriver.StationPosture(prof, pm, time.Now(), driver.PostureRequest{Ports: simPorts})
	wantPorts := map[int]string{}
	for _, p := range want.Ports {
		wantPorts[p.Port] = p.State
	}
	wantEPs := want.OPCUA.Endpoints
	if sec == "all" && !prof.InsecureEndpoint {
		wantEPs = append([]driver.Endpoint{{Policy: "None", Mode: "None", Tokens: []string{"Anonymous"}}}, wantEPs...)
	}
	req := driver.PostureRequest{Ports: wirePorts, Timeout: 2 * time.Second}
	protos := []string{"opcua"}
	if sec == "secure" {
		protos = append(protos, "modbus") // the Modbus face does not depend on OPC UA's security
	}
	for _, proto := range protos {
		u := st.ModbusURL()
		if proto == "opcua" {
			u = st.OPCUAURL() + "?security=None&allow_insecure=1"
			if sec == "secure" {
				u = trustedURL(t, st)
			}
		}
		tg, err := driver.ParseTarget(u)
		if err != nil {
			t.Fatal(err)
		}
		c, err := driver.Open(context.Background(), tg, pm)
		if proto == "opcua" && sec == "secure" && prof.Certificate().Bits < 2048 {
			if err == nil || !strings.Contains(err.Error(), "key size") {
				t.Fatalf("secure channel to an RSA %d server: %v; want gopcua to refuse the key size", prof.Certificate().Bits, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("open %s: %v", u, err)
		}
		defer c.Close()
		got, err := c.(driver.Posturer).Posture(context.Background(), req)
		if err != nil {
			t.Fatalf("%s posture: %v", proto, err)
		}
		if len(got.Errors) > 0 {
			t.Errorf("%s posture errors: %v", proto, got.Errors)
		}
		gotPorts := map[int]string{}
		for _, p := range got.Ports {
			gotPorts[p.Port] = p.State
		}
		for i, sp := range simPorts {
			if g, w := gotPorts[wirePorts[i]], wantPorts[sp]; g != w {
				t.Errorf("%s: port %d (sim:// %d) %s on the wire, %s on sim://", proto, wirePorts[i], sp, g, w)
			}
		}
		switch proto {
		case "modbus":
			if got.Modbus == nil || !reflect.DeepEqual(got.Modbus.Codes, want.Modbus.Codes) {
				t.Errorf("modbus function codes on the wire %+v; sim:// %+v", got.Modbus, want.Modbus.Codes)
			}
		case "opcua":
			if got.OPCUA == nil || got.OPCUA.Certificate == nil {
				t.Fatalf("opc ua posture %+v: no certificate", got.OPCUA)
			}
			if !reflect.DeepEqual(got.OPCUA.Endpoints, wantEPs) {
				t.Errorf("endpoints on the wire %+v; sim:// %+v", got.OPCUA.Endpoints, wantEPs)
			}
			g, w := *got.OPCUA.Certificate, *want.OPCUA.Certificate
			if g.Key != w.Key || g.Bits != w.Bits || g.Signature != w.Signature {
				t.Errorf("certificate on the wire %s %d %s; sim:// %s %d %s", g.Key, g.Bits, g.Signature, w.Key, w.Bits, w.Signature)
			}
			// both count from their clock: the station's at its start, sim:// now
			if gv, wv := g.NotAfter.Sub(g.NotBefore), w.NotAfter.Sub(w.NotBefore); gv != wv {
				t.Errorf("certificate validity %v on the wire; sim:// %v", gv, wv)
			}
			if d := w.NotBefore.Sub(g.NotBefore); d < 0 || d > time.Minute {
				t.Errorf("certificate valid from %v on the wire; sim:// %v", g.NotBefore, w.NotBefore)
			}
		}
	}
}

// TestDebugAddress: the firmware's debug port opens only where Config.Debug says, on a
// loopback host only, and stays closed for a firmware that has none.
func TestDebugAddress(t *testing.T) {
	debugPort, _ := firmware.Lookup("tank", "debug-port")
	base, _ := firmware.Lookup("tank", "")
	for _, tc := range []struct {
		fw, debug string
		ports     int
		err       string
	}{
		{debugPort.Name, "", 0, ""},
		{debugPort.Name, "127.0.0.1:0", 1, ""},
		{debugPort.Name, "[::1]:0", 1, ""},
		{base.Name, "127.0.0.1:0", 0, ""},
		{debugPort.Name, "0.0.0.0:0", 0, "loopback"},
		{debugPort.Name, "192.0.2.1", 0, "loopback"},
		{debugPort.Name, "example.com:0", 0, "loopback"},
		{debugPort.Name, "127.0.0.1:70000", 0, "expected 0 to 65535"},
	} {
		st, err := station.Start(context.Background(), station.Config{Model: "tank", Firmware: tc.fw, Debug: tc.debug})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s debug %q: %v; want an error naming %q", tc.fw, tc.debug, err, tc.err)
			}
			if st != nil {
				st.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s debug %q: %v", tc.fw, tc.debug, err)
			continue
		}
		ps := st.DebugPorts()
		if len(ps) != tc.ports {
			t.Errorf("%s debug %q: ports %v", tc.fw, tc.debug, ps)
		}
		for _, p := range ps {
			host, _, _ := net.SplitHostPort(tc.debug)
			c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err != nil {
				t.Errorf("debug port %d: %v", p, err)
				continue
			}
			// the shell hangs up at once
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Errorf("debug port %d: read %d bytes, %v; want it closed", p, n, err)
			}
			c.Close()
		}
		st.Close()
	}
}
