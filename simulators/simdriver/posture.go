package simdriver

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/firmware"
)

// Station ports: what a station serving this controller listens on (simulators/station).
const (
	stationModbusPort = 502
	stationOPCUAPort  = 4840
)

// ProbedCodes are the read-only Modbus function codes a posture asks about, as the Modbus
// driver does.
var probedCodes = []int{1, 2, 3, 4, 7, 11, 12, 17, 43}

// Posture implements driver.Posturer: the posture a station serving this controller would
// show over the wire (docs/architecture.md, section Security posture), from the firmware
// profile: its Modbus and OPC UA ports and the profile's extra open ports; OPC UA endpoints
// Basic256Sha256 Sign and SignAndEncrypt with user names, plus None/None with anonymous
// login when the profile adds it; the profile's certificate; and the function codes the
// Modbus server answers (1 to 4; the others with exception 01).
func (k *Conn) Posture(ctx context.Context, req driver.PostureRequest) (driver.Posture, error) {
	if err := ctx.Err(); err != nil {
		return driver.Posture{}, err
	}
	return StationPosture(k.c.Profile(), k.c.Clock().Now(), req), nil
}

// StationPosture is the posture of a station running the profile, at time now.
func StationPosture(prof firmware.Profile, now time.Time, req driver.PostureRequest) driver.Posture {
	p := driver.Posture{Collected: now.UTC()}
	open := append([]int{stationModbusPort, stationOPCUAPort}, prof.OpenPorts...)
	ports := slices.Clone(req.Ports)
	sort.Ints(ports)
	for _, n := range ports {
		st := driver.PortClosed
		if slices.Contains(open, n) {
			st = driver.PortOpen
		}
		p.Ports = append(p.Ports, driver.PortState{Port: n, State: st})
	}
	ua := &driver.OPCUAPosture{Endpoints: []driver.Endpoint{
		{Policy: "Basic256Sha256", Mode: "Sign", Tokens: []string{"UserName"}},
		{Policy: "Basic256Sha256", Mode: "SignAndEncrypt", Tokens: []string{"UserName"}},
	}}
	if prof.InsecureEndpoint {
		ua.Endpoints = append([]driver.Endpoint{{Policy: "None", Mode: "None", Tokens: []string{"Anonymous"}}}, ua.Endpoints...)
	}
	cs := prof.Certificate()
	sig := "SHA256-RSA"
	if cs.Hash == "sha1" {
		sig = "SHA1-RSA"
	}
	nb := now.UTC().Add(-time.Hour).Truncate(time.Second)
	ua.Certificate = &driver.Certificate{Key: "RSA", Bits: cs.Bits, Signature: sig, NotBefore: nb,
		NotAfter: nb.Add(time.Hour + time.Duration(cs.Days)*24*time.Hour)}
	p.OPCUA = ua
	mb := &driver.ModbusPosture{}
	for _, fc := range probedCodes {
		a := driver.FCAnswered
		if fc > 4 {
			a = driver.FCException(1)
		}
		mb.Codes = append(mb.Codes, driver.FunctionCode{Code: fc, Answer: a})
	}
	p.Modbus = mb
	return p
}
