package modbusserver

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/plc"
)

func startTank(t *testing.T, fw string) (*plc.Controller, *Server) {
	t.Helper()
	c, err := plc.New("tank", fw, plc.Options{Seed: 7})
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

func client(t *testing.T, s *Server, unit uint8) *modbus.ModbusClient {
	t.Helper()
	mc, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + s.Addr(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Open(); err != nil {
		t.Fatal(err)
	}
	mc.SetUnitId(unit)
	t.Cleanup(func() { mc.Close() })
	return mc
}

func TestReadsMatchController(t *testing.T) {
	c, s := startTank(t, "")
	mc := client(t, s, 1)
	if err := c.Set("Setpoint", point.Float(62.5)); err != nil {
		t.Fatal(err)
	}
	sp, err := mc.ReadFloat32(2, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if sp != 62.5 {
		t.Errorf("Setpoint over Modbus = %v, want 62.5", sp)
	}
	fw, err := mc.ReadBytes(20, 16, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fw[:5]); got != "3.2.0" {
		t.Errorf("Firmware = %q, want 3.2.0", fw)
	}
	lvl, err := mc.ReadFloat32(0, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if lvl < 45 || lvl > 55 {
		t.Errorf("Level = %v, want about 50 at start", lvl)
	}
	n1, err := mc.ReadUint32(10, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	// the counter must move: wait on the controller's own count, not on the wall clock
	for {
		v, _ := c.Get(plc.TagScanCount)
		if u, _ := v.Uint64(); u > uint64(n1)+2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	n2, err := mc.ReadUint32(10, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if n2 <= n1 {
		t.Errorf("ScanCount did not advance: %d then %d", n1, n2)
	}
}

func TestWritesReachController(t *testing.T) {
	c, s := startTank(t, "")
	mc := client(t, s, 1)
	if err := mc.WriteCoil(2, true); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("Pump"); !v.Bool() {
		t.Error("Pump coil write did not reach the controller")
	}
	if err := mc.WriteFloat32(2, 71.25); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("Setpoint"); v.Float() != 71.25 {
		t.Errorf("Setpoint = %v, want 71.25", v)
	}
	if err := mc.WriteRegister(0, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("Mode"); v.Float() != 1 {
		t.Errorf("Mode = %v, want 1", v)
	}
}

func TestExceptionCodes(t *testing.T) {
	_, s := startTank(t, "")
	mc := client(t, s, 1)
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"unmapped input register", func() error { _, err := mc.ReadRegister(900, modbus.INPUT_REGISTER); return err }, modbus.ErrIllegalDataAddress},
		{"range runs past the map", func() error { _, err := mc.ReadRegisters(0, 60, modbus.INPUT_REGISTER); return err }, modbus.ErrIllegalDataAddress},
		{"unmapped coil", func() error { return mc.WriteCoil(77, true) }, modbus.ErrIllegalDataAddress},
		{"mode out of range", func() error { return mc.WriteRegister(0, 5) }, modbus.ErrIllegalDataValue},
		{"setpoint above 100 %", func() error { return mc.WriteFloat32(2, 150) }, modbus.ErrIllegalDataValue},
		{"setpoint NaN", func() error { return mc.WriteFloat32(2, float32(math.NaN())) }, modbus.ErrIllegalDataValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOtherUnitGetsGatewayException(t *testing.T) {
	_, s := startTank(t, "")
	mc := client(t, s, 9)
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrGWTargetFailedToRespond) {
		t.Errorf("unit 9: got %v, want gateway target failed to respond", err)
	}
}

func TestMovedRegisterProfile(t *testing.T) {
	c, s := startTank(t, "register-moved")
	mc := client(t, s, 1)
	if _, err := mc.ReadFloat32(0, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("old Level address: got %v, want illegal data address", err)
	}
	lvl, err := mc.ReadFloat32(40, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatalf("new Level address: %v", err)
	}
	want, _ := c.Get("Level")
	if math.Abs(float64(lvl)-want.Float()) > 5 {
		t.Errorf("Level at 40 = %v, controller says %v", lvl, want)
	}
}

func TestInjectedExceptions(t *testing.T) {
	c, s := startTank(t, "")
	mc := client(t, s, 1)
	c.SetFaults(fault.Set{Exceptions: 1})
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrServerDeviceBusy) {
		t.Errorf("got %v, want server device busy", err)
	}
	c.SetFaults(fault.Set{})
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err != nil {
		t.Errorf("after clearing the fault: %v", err)
	}
}

func TestDropThenReconnect(t *testing.T) {
	c, s := startTank(t, "")
	mc := client(t, s, 1)
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err != nil {
		t.Fatal(err)
	}
	c.DropConnections()
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err == nil {
		t.Fatal("read on a dropped connection succeeded")
	}
	mc.Close()
	if err := mc.Open(); err != nil {
		t.Fatalf("reconnect after drop: %v", err)
	}
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err != nil {
		t.Errorf("read after reconnect: %v", err)
	}
}

func TestRestartRefusesThenServes(t *testing.T) {
	c, s := startTank(t, "")
	c.SetFaults(fault.Set{RestartTime: 200 * time.Millisecond})
	c.Restart()
	mc, _ := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + s.Addr(), Timeout: time.Second})
	if err := mc.Open(); err == nil {
		mc.Close()
		t.Fatal("connected to a controller that is restarting")
	}
	deadline := time.Now().Add(10 * time.Second)
	for mc.Open() != nil {
		if time.Now().After(deadline) {
			t.Fatal("controller never came back after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer mc.Close()
	if v, err := mc.ReadUint32(10, modbus.INPUT_REGISTER); err != nil {
		t.Fatal(err)
	} else if v > 1000 {
		t.Errorf("ScanCount %d after restart; want it reset", v)
	}
}
