package modbus

import (
	"context"
	"errors"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// TestReadRaw: Dial needs no point map; ReadRaw reads what is mapped, answers an unmapped
// address with its Exception, and refuses a request the protocol does not allow before any
// I/O.
func TestReadRaw(t *testing.T) {
	_, s := startTank(t, "", true)
	tg, err := driver.ParseTarget(s.URL() + "&max_registers_per_request=10")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Dial(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.MaxRead(point.RegisterHolding) != 10 || c.MaxRead(point.RegisterCoil) != 160 {
		t.Errorf("limits %d %d", c.MaxRead(point.RegisterHolding), c.MaxRead(point.RegisterCoil))
	}
	if regs, bits, err := c.ReadRaw(ctx, point.RegisterInput, 0, 8); err != nil || len(regs) != 8 || bits != nil {
		t.Errorf("input 0+8: %v %v %v", regs, bits, err)
	}
	if regs, bits, err := c.ReadRaw(ctx, point.RegisterCoil, 0, 3); err != nil || len(bits) != 3 || regs != nil {
		t.Errorf("coil 0+3: %v %v %v", regs, bits, err)
	}
	var ex Exception
	if _, _, err := c.ReadRaw(ctx, point.RegisterInput, 0, 10); !errors.As(err, &ex) || ex != IllegalDataAddress {
		t.Errorf("input 0+10 over a hole: %v; want illegal data address", err)
	}
	before := c.Stats().Requests
	for _, r := range []struct {
		t     point.Register
		start uint16
		n     int
	}{{point.RegisterHolding, 0, 0}, {point.RegisterHolding, 0, 11}, {point.RegisterCoil, 0, 161}, {point.RegisterInput, 65535, 2}} {
		if _, _, err := c.ReadRaw(ctx, r.t, r.start, r.n); err == nil {
			t.Errorf("%s %d+%d: no error", r.t, r.start, r.n)
		}
	}
	if c.Stats().Requests != before {
		t.Errorf("refused requests reached the device: %d requests, %d before", c.Stats().Requests, before)
	}
}
