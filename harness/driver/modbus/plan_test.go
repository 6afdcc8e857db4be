package modbus

import (
	"slices"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
)

// gapsMap has gaps, a string longer than a small request, two bits of one register, the
// same address in two tables and an OPC UA-only point.
const gapsMap = `
version: 1
name: gaps
points:
  - {tag: A, type: uint16, modbus: {register: holding, address: 0}}
  - {tag: B, type: float32, modbus: {register: holding, address: 1}}
  - {tag: C, type: uint16, modbus: {register: holding, address: 4}}
  - {tag: D, type: string, length: 20, modbus: {register: holding, address: 5}}
  - {tag: E, type: bool, modbus: {register: holding, address: 15, bit: 0}}
  - {tag: F, type: bool, modbus: {register: holding, address: 15, bit: 3}}
  - {tag: G, type: uint16, modbus: {register: input, address: 0}}
  - {tag: H, type: bool, modbus: {register: coil, address: 0}}
  - {tag: I, type: bool, modbus: {register: coil, address: 1}}
  - {tag: J, type: bool, modbus: {register: coil, address: 3}}
  - {tag: K, type: float64, modbus: {register: holding, address: 100}}
  - {tag: U, type: float64, opcua: {id: "ns=2;s=U"}}
`

func TestPlan(t *testing.T) {
	gaps, err := point.Parse("gaps.yaml", []byte(gapsMap))
	if err != nil {
		t.Fatal(err)
	}
	tank := tankMap(t)
	gapTags := []string{"K", "J", "I", "H", "G", "F", "E", "D", "C", "B", "A"} // reversed: the plan sorts
	small := defaultOptions()
	small.maxRegisters, small.maxBits = 4, 64
	onePer := defaultOptions()
	onePer.onePerPoint = true

	cases := []struct {
		name    string
		pm      *point.Map
		tags    []string
		opt     options
		want    string // one request a line: range, then the tags it answers
		wantErr string
	}{
		{
			name: "tank, all points",
			pm:   tank, tags: tank.Tags(), opt: defaultOptions(),
			want: `
coil 0+3: InletValve OutletValve Pump
discrete 0+3: AlarmHigh AlarmLow Interlock
input 0+8: Level Inflow Outflow AlarmCount
input 10+4: ScanCount ScanTimeUs
input 20+8: Firmware
holding 0: Mode
holding 2+2: Setpoint`,
		},
		{
			name: "tank, max_registers_per_request=4",
			pm:   tank, tags: tank.Tags(), opt: small,
			want: `
coil 0+3: InletValve OutletValve Pump
discrete 0+3: AlarmHigh AlarmLow Interlock
input 0+4: Level Inflow
input 4+4: Outflow AlarmCount
input 10+4: ScanCount ScanTimeUs
input 20+8: Firmware
holding 0: Mode
holding 2+2: Setpoint`,
		},
		{
			name: "tank, one_request_per_point",
			pm:   tank, tags: []string{"Setpoint", "Level", "Inflow", "Pump", "InletValve"}, opt: onePer,
			want: `
coil 0: InletValve
coil 2: Pump
input 0+2: Level
input 2+2: Inflow
holding 2+2: Setpoint`,
		},
		{
			name: "gaps are never read through",
			pm:   gaps, tags: gapTags, opt: defaultOptions(),
			want: `
coil 0+2: H I
coil 3: J
input 0: G
holding 0+3: A B
holding 4+12: C D E F
holding 100+4: K`,
		},
		{
			name: "gaps, max_registers_per_request=4: an oversized string gets its own request",
			pm:   gaps, tags: gapTags, opt: small,
			want: `
coil 0+2: H I
coil 3: J
input 0: G
holding 0+3: A B
holding 4: C
holding 5+10: D
holding 15: E F
holding 100+4: K`,
		},
		{
			name: "gaps, one_request_per_point",
			pm:   gaps, tags: gapTags, opt: onePer,
			want: `
coil 0: H
coil 1: I
coil 3: J
input 0: G
holding 0: A
holding 1+2: B
holding 4: C
holding 5+10: D
holding 15: E
holding 15: F
holding 100+4: K`,
		},
		{
			name: "a tag twice shares its request",
			pm:   gaps, tags: []string{"B", "A", "B"}, opt: defaultOptions(),
			want: `
holding 0+3: A B B`,
		},
		{name: "unknown tag", pm: gaps, tags: []string{"A", "Nope"}, opt: defaultOptions(), wantErr: `tag "Nope" is not in point map "gaps"`},
		{name: "OPC UA-only point", pm: gaps, tags: []string{"U"}, opt: defaultOptions(), wantErr: `tag "U" has no Modbus address`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := newPlan(tc.pm, tc.tags, tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(pl.String()), strings.TrimSpace(tc.want); got != want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, want)
			}
			// every tag is answered exactly once, at the offset of its address
			seen := make([]int, len(tc.tags))
			for _, r := range pl.reqs {
				for _, s := range r.slots {
					seen[s.out]++
					if tc.tags[s.out] != s.tag {
						t.Errorf("slot for out[%d] is %s, want %s", s.out, s.tag, tc.tags[s.out])
					}
					if int(r.start)+s.off != int(s.addr.Address) || s.off+size(s.addr) > r.count {
						t.Errorf("%s at offset %d does not sit in %s", s.tag, s.off, r)
					}
				}
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("%s answered %d times", tc.tags[i], n)
				}
			}
		})
	}
}

func TestPlanCache(t *testing.T) {
	pm := tankMap(t)
	var pc planCache
	a := []string{"Level", "Mode"}
	b := []string{"Mode", "Level"}
	p1, err := pc.get(pm, a, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := pc.get(pm, slices.Clone(a), defaultOptions())
	if p1 != p2 {
		t.Error("same tag list planned twice")
	}
	p3, _ := pc.get(pm, b, defaultOptions())
	if p3 == p1 {
		t.Error("another tag order got the plan of the first; out indexes would be wrong")
	}
	if p4, _ := pc.get(pm, a, defaultOptions()); p4 != p1 {
		t.Error("first tag list not found again after another")
	}
	a[0] = "Setpoint" // the caller reuses its slice: the cached plan must not change with it
	if p5, _ := pc.get(pm, a, defaultOptions()); p5 == p1 {
		t.Error("changed tag list got the old plan")
	}
	if allocs := testing.AllocsPerRun(100, func() { pc.get(pm, a, defaultOptions()) }); allocs != 0 {
		t.Errorf("plan lookup of the last tag list allocates %v times", allocs)
	}
}
