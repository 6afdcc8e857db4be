package simdriver

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/firmware"
)

// Station ports: what a station serving this controller listens on (simulators/station).
const (
	stationModbusPort = 502
	stationOPCUAPort  = 4840
)

// stationPolicies are the secure policies a station offers (opcuaserver.AllPolicies).
var stationPolicies = []string{"Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"}

// probedTables are the tables function codes 1 to 4 read.
var probedTables = []point.Register{point.RegisterCoil, point.RegisterDiscrete, point.RegisterHolding, point.RegisterInput}

// coversZero: a point of pm covers address 0 of the table.
func coversZero(pm *point.Map, reg point.Register) bool {
	for _, p := range pm.Points {
		if p.Modbus != nil && p.Modbus.Register == reg && p.Modbus.Address == 0 {
			return true
		}
	}
	return false
}

// ProbedCodes are the read-only Modbus function codes a posture asks about, as the Modbus
// driver does.
var probedCodes = []int{1, 2, 3, 4, 7, 11, 12, 17, 43}

// Posture implements driver.Posturer: the posture a station serving this controller shows
// over the wire (docs/architecture.md, section Security posture) when it serves OPC UA with
// security "secure" and no users, and opens the firmware's debug ports at their numbers
// (station.Config Security "secure", Debug "127.0.0.1"), from the firmware profile: its
// Modbus and OPC UA ports and the profile's extra open ports; OPC UA endpoints Sign and
// SignAndEncrypt of each policy the station offers, with anonymous login, plus None/None
// when the profile adds it; the profile's certificate; and the function codes the Modbus
// server answers (1 to 4 and the profile's extra codes; the others with exception 01).
// simulators/station's tests hold this view to what the station serves.
func (k *Conn) Posture(ctx context.Context, req driver.PostureRequest) (driver.Posture, error) {
	if err := ctx.Err(); err != nil {
		return driver.Posture{}, err
	}
	return StationPosture(k.c.Profile(), k.c.Points(), k.c.Clock().Now(), req), nil
}

// StationPosture is the posture of a station running the profile and serving the point map
// pm (the controller's, moves applied) over Modbus, at time now.
func StationPosture(prof firmware.Profile, pm *point.Map, now time.Time, req driver.PostureRequest) driver.Posture {
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
	ua := &driver.OPCUAPosture{}
	if prof.InsecureEndpoint {
		ua.Endpoints = append(ua.Endpoints, driver.Endpoint{Policy: "None", Mode: "None", Tokens: []string{"Anonymous"}})
	}
	for _, pol := range stationPolicies {
		for _, mode := range []string{"Sign", "SignAndEncrypt"} {
			ua.Endpoints = append(ua.Endpoints, driver.Endpoint{Policy: pol, Mode: mode, Tokens: []string{"Anonymous"}})
		}
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
		switch {
		case fc <= 4 && !coversZero(pm, probedTables[fc-1]):
			a = driver.FCException(2) // the probe reads address 0, which no point covers
		case fc > 4 && !slices.Contains(prof.ExtraCodes, fc):
			a = driver.FCException(1)
		}
		mb.Codes = append(mb.Codes, driver.FunctionCode{Code: fc, Answer: a})
	}
	p.Modbus = mb
	return p
}
