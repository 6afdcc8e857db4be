package modbusserver

import (
	"errors"
	"math"
	"testing"

	"github.com/simonvetter/modbus"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/plc"
	"github.com/patchgate/patchgate/simulators/simopt"
)

// startScaledTank serves a tank in the scaled register layout from a random start, on a
// virtual clock nobody advances, so the registers can be checked against Get exactly.
func startScaledTank(t *testing.T) (*plc.Controller, *Server) {
	t.Helper()
	c, err := plc.New("tank", "", plc.Options{Seed: 11, Clock: clock.NewVirtual(), Start: simopt.Start{Random: true}, Layout: "scaled"})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	s, err := Start(c, Config{Addr: "127.0.0.1:0"})
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		c.Close()
	})
	return c, s
}

// TestScaledLayoutOnTheWire reads the scaled tank's holding registers with a plain Modbus
// client and decodes them by hand, not with the shared codec, as another vendor's HMI would:
// 1-based 40001 is protocol address 0, Level is hundredths of a percent, the booleans are
// bits of the status word at 40006, the counters are word-swapped, the firmware string is
// byte-swapped.
func TestScaledLayoutOnTheWire(t *testing.T) {
	c, s := startScaledTank(t)
	mc := client(t, s, 1)
	regs, err := mc.ReadRegisters(0, 12, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	get := func(tag string) point.Value {
		v, err := c.Get(tag)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	hundredths := func(tag string) uint16 { return uint16(math.Round(get(tag).Float() * 100)) }
	for _, w := range []struct {
		addr int
		tag  string
		want uint16
	}{
		{0, "Level", hundredths("Level")},
		{1, "Inflow", hundredths("Inflow")},
		{2, "Outflow", hundredths("Outflow")},
		{3, "Setpoint", hundredths("Setpoint")},
		{4, "Mode", uint16(get("Mode").Float())},
	} {
		if regs[w.addr] != w.want {
			t.Errorf("4%04d (%s) = %d, want %d for %v", w.addr+1, w.tag, regs[w.addr], w.want, get(w.tag))
		}
	}
	bits := map[string]uint{"InletValve": 0, "OutletValve": 1, "Pump": 2, "AlarmHigh": 8, "AlarmLow": 9, "Interlock": 10}
	var word uint16
	for tag, b := range bits {
		if get(tag).Bool() {
			word |= 1 << b
		}
	}
	if regs[5] != word {
		t.Errorf("status word 40006 = %016b, want %016b", regs[5], word)
	}
	if got, want := uint64(regs[7])<<16|uint64(regs[6]), get("AlarmCount"); got != uint64(want.Float()) {
		t.Errorf("AlarmCount (CDAB, 40007-40008) = %d, want %v", got, want)
	}
	fw, err := mc.ReadRegisters(20, 8, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	var text []byte
	for _, r := range fw {
		text = append(text, byte(r), byte(r>>8)) // BADC: low byte first in each word
	}
	if got := string(text[:5]); got != "3.2.0" {
		t.Errorf("Firmware (BADC, 40021-40028) = %q, want 3.2.0", text)
	}
	if _, err := mc.ReadRegisters(0, 1, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("input register 0 on the scaled layout: %v, want illegal data address (everything is in holding registers)", err)
	}
}

// TestStatusWordWrites: a write of the status word sets the command bits and leaves the
// program's bits alone; a scaled setpoint is written as hundredths; a register with no
// writable point refuses the write.
func TestStatusWordWrites(t *testing.T) {
	c, s := startScaledTank(t)
	mc := client(t, s, 1)
	// OutletValve and Pump on, InletValve off, and every program bit set by a careless master
	if err := mc.WriteRegister(5, 0b111_0000_0110); err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]bool{"InletValve": false, "OutletValve": true, "Pump": true, "AlarmHigh": false, "AlarmLow": false, "Interlock": false} {
		if v, _ := c.Get(tag); v.Bool() != want {
			t.Errorf("%s = %v after writing the status word, want %v", tag, v, want)
		}
	}
	if err := mc.WriteRegister(3, 6250); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("Setpoint"); v.Float() != 62.5 {
		t.Errorf("Setpoint = %v after writing 6250 to 40004, want 62.5", v)
	}
	if err := mc.WriteRegister(3, 10001); !errors.Is(err, modbus.ErrIllegalDataValue) {
		t.Errorf("Setpoint 100.01 %%: %v, want illegal data value (the controller accepts 0..100)", err)
	}
	if err := mc.WriteRegister(0, 100); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("write to Level (read-only) at 40001: %v, want illegal data address", err)
	}
}
