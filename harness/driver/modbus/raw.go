package modbus

import (
	"context"
	"fmt"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// Dial opens a connection to the target without a point map, for discovery
// (harness/discover): only ReadRaw, Reconnect, Stats and Close are of use on it. The target
// takes the same parameters as Open's.
func Dial(ctx context.Context, t driver.Target) (*Conn, error) {
	c, err := Driver{}.Open(ctx, t, &point.Map{Version: 1, Name: "discovery"})
	if err != nil {
		return nil, err
	}
	return c.(*Conn), nil
}

// MaxRead is the most registers (holding, input) or bits (coil, discrete) one ReadRaw may
// ask for on this connection: max_registers_per_request, or 16 times that for bits, at most
// the protocol's 125 and 2000.
func (c *Conn) MaxRead(table point.Register) int { return c.opt.limit(table) }

// ReadRaw reads n (1..MaxRead) registers or bits of a table from start, with the read
// function code of the table only (FC01 coils, FC02 discrete inputs, FC03 holding, FC04
// input registers): it never writes. Exactly one of the slices is set. A device's refusal is
// an error matching its Exception (errors.As); no answer within the timeout or a lost
// connection wraps driver.ErrDisconnected, and the connection then refuses every operation
// until Reconnect.
func (c *Conn) ReadRaw(ctx context.Context, table point.Register, start uint16, n int) ([]uint16, []bool, error) {
	if err := c.usable(); err != nil {
		return nil, nil, err
	}
	if lim := c.MaxRead(table); n < 1 || n > lim {
		return nil, nil, fmt.Errorf("modbus: read of %d %s; expected 1 to %d", n, rangeString(table, int(start), n), lim)
	}
	if int(start)+n > 1<<16 {
		return nil, nil, fmt.Errorf("modbus: %s runs past address 65535", rangeString(table, int(start), n))
	}
	regs, bits, err := c.readRange(ctx, table, start, n)
	if err != nil {
		return nil, nil, err
	}
	if table.IsBit() {
		return nil, append([]bool(nil), bits...), nil
	}
	return append([]uint16(nil), regs...), nil, nil
}
