package discover

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/driver/modbus"
	"github.com/patchgate/patchgate/harness/point"
)

// Range is a span of addresses of one Modbus table to probe, both ends included.
type Range struct {
	Table       point.Register
	First, Last uint16
}

func (r Range) String() string { return fmt.Sprintf("%s %s", r.Table, span(r.First, r.Last)) }

func span(a, b uint16) string {
	if a == b {
		return strconv.Itoa(int(a))
	}
	return fmt.Sprintf("%d-%d", a, b)
}

// tableWords are the short and long names --ranges takes.
var tableWords = map[string]point.Register{
	"hr": point.RegisterHolding, "holding": point.RegisterHolding,
	"ir": point.RegisterInput, "input": point.RegisterInput,
	"co": point.RegisterCoil, "coil": point.RegisterCoil, "coils": point.RegisterCoil,
	"di": point.RegisterDiscrete, "discrete": point.RegisterDiscrete,
}

// ParseRanges parses a list of table ranges, "hr:0-999,ir:0-99,co:0-199,di:0-199": a table
// (hr holding, ir input, co coil, di discrete) and a protocol (0-based) address or range.
// Errors wrap driver.ErrBadTarget and say which item is wrong and what was expected.
func ParseRanges(s string) ([]Range, error) {
	var out []Range
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%w: range %q: %s; expected TABLE:FIRST-LAST such as hr:0-999 (tables hr, ir, co, di; protocol addresses 0..65535)", driver.ErrBadTarget, item, why)
		}
		word, addrs, ok := strings.Cut(item, ":")
		if !ok {
			return nil, bad("no table")
		}
		table, ok := tableWords[strings.ToLower(strings.TrimSpace(word))]
		if !ok {
			return nil, bad(fmt.Sprintf("unknown table %q", word))
		}
		lo, hi, isRange := strings.Cut(addrs, "-")
		if !isRange {
			hi = lo
		}
		first, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		last, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		switch {
		case err1 != nil || err2 != nil:
			return nil, bad("an address is not a whole number 0..65535")
		case last < first:
			return nil, bad("the last address is below the first")
		}
		out = append(out, Range{Table: table, First: uint16(first), Last: uint16(last)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no ranges in %q; expected e.g. %s", driver.ErrBadTarget, s, DefaultRanges)
	}
	for i := range out {
		for j := range i {
			a, b := out[i], out[j]
			if a.Table == b.Table && a.First <= b.Last && b.First <= a.Last {
				return nil, fmt.Errorf("%w: ranges %s and %s overlap; expected each address once", driver.ErrBadTarget, b, a)
			}
		}
	}
	return out, nil
}

// rawReader is what the probe needs of a Modbus connection (*modbus.Conn): reads with the
// read function codes, and a reconnect after a request that got no answer.
type rawReader interface {
	ReadRaw(ctx context.Context, table point.Register, start uint16, n int) ([]uint16, []bool, error)
	MaxRead(table point.Register) int
	Reconnect(ctx context.Context) error
}

// Outcome is what a run of addresses answered.
type Outcome struct {
	Answered  bool
	Exception modbus.Exception // when refused with an exception
	NoAnswer  bool             // no answer within the timeout
}

func (o Outcome) String() string {
	switch {
	case o.Answered:
		return "answered"
	case o.NoAnswer:
		return "no answer"
	}
	return fmt.Sprintf("exception %02X %s", uint8(o.Exception), o.Exception.Error())
}

// Span is a run of adjacent addresses of one table with the same outcome; Regs or Bits hold
// what answered addresses read.
type Span struct {
	Table       point.Register
	First, Last uint16
	Outcome     Outcome
	Regs        []uint16
	Bits        []bool
}

// maxNoAnswer is how many single addresses in a row may go unanswered before the probe
// stops probing that range: a device that drops requests would cost a timeout each.
const maxNoAnswer = 3

// prober probes address ranges with as few requests as it can: it asks for as many
// addresses as a request may hold, halves the request on an exception (one unmapped address
// refuses the whole request) down to a single address, and doubles it again after every
// answer. A table that is all there costs one request per 125 registers (2000 bits); an
// empty one costs one per address, which no strategy can beat, since only a read of that
// address alone says it is not there. A single address answered with 01 Illegal Function
// ends the probe of its range: the device has no such table.
type prober struct {
	r        rawReader
	lim      *limiter
	progress func(done, total int)
	requests int
	spans    []Span
}

func (p *prober) probe(ctx context.Context, ranges []Range) ([]Span, error) {
	total, done := 0, 0
	for _, r := range ranges {
		total += int(r.Last) - int(r.First) + 1
	}
	for _, rg := range ranges {
		most := p.r.MaxRead(rg.Table)
		size, silent := most, 0
		for a := int(rg.First); a <= int(rg.Last); {
			n := min(size, int(rg.Last)-a+1)
			if err := p.lim.wait(ctx); err != nil {
				return nil, err
			}
			regs, bits, err := p.r.ReadRaw(ctx, rg.Table, uint16(a), n)
			p.requests++
			var ex modbus.Exception
			switch {
			case err == nil:
				p.add(Span{Table: rg.Table, First: uint16(a), Last: uint16(a + n - 1), Outcome: Outcome{Answered: true}, Regs: regs, Bits: bits})
				a += n
				done += n
				size, silent = min(2*n, most), 0
			case errors.As(err, &ex) && n > 1:
				size = n / 2
			case errors.As(err, &ex) && ex == modbus.IllegalFunction:
				p.add(Span{Table: rg.Table, First: uint16(a), Last: rg.Last, Outcome: Outcome{Exception: ex}})
				done += int(rg.Last) - a + 1
				a = int(rg.Last) + 1
			case errors.As(err, &ex):
				p.add(Span{Table: rg.Table, First: uint16(a), Last: uint16(a), Outcome: Outcome{Exception: ex}})
				a++
				done++
				silent = 0
			case errors.Is(err, driver.ErrDisconnected) && ctx.Err() == nil:
				// no answer: the device may drop requests it does not like; ask again smaller
				if rerr := p.r.Reconnect(ctx); rerr != nil {
					return nil, fmt.Errorf("probing %s %s, no answer, then reconnect: %w", rg.Table, span(uint16(a), uint16(a+n-1)), rerr)
				}
				if n > 1 {
					size = n / 2
					break
				}
				silent++
				last := a
				if silent >= maxNoAnswer {
					last = int(rg.Last) // give up on the rest of the range
				}
				p.add(Span{Table: rg.Table, First: uint16(a), Last: uint16(last), Outcome: Outcome{NoAnswer: true}})
				done += last - a + 1
				a = last + 1
			default:
				return nil, fmt.Errorf("probing %s %s: %w", rg.Table, span(uint16(a), uint16(a+n-1)), err)
			}
			if p.progress != nil {
				p.progress(done, total)
			}
		}
	}
	return p.spans, nil
}

// add appends s, merged into the last span when adjacent with the same outcome.
func (p *prober) add(s Span) {
	if k := len(p.spans) - 1; k >= 0 {
		l := &p.spans[k]
		if l.Table == s.Table && int(l.Last)+1 == int(s.First) && l.Outcome == s.Outcome {
			l.Last = s.Last
			l.Regs = append(l.Regs, s.Regs...)
			l.Bits = append(l.Bits, s.Bits...)
			return
		}
	}
	p.spans = append(p.spans, s)
}

// limiter spaces requests at least every apart; every 0 is unlimited.
type limiter struct {
	every time.Duration
	next  time.Time
}

func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return &limiter{}
	}
	return &limiter{every: time.Duration(float64(time.Second) / rate)}
}

func (l *limiter) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil || l.every <= 0 {
		return err
	}
	now := time.Now()
	if d := l.next.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		now = l.next
	}
	l.next = now.Add(l.every)
	return nil
}
