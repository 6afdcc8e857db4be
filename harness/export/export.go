// Package export writes traces in the open formats of the evidence bundle: CSV for
// spreadsheets and scripts, JSON as the machine record. It only formats a trace.Trace held
// in memory; it knows nothing of where the trace is stored.
//
// Times are written exactly: seconds and milliseconds as decimals with every digit of the
// nanosecond integers behind them (t_s 1.500000000, late_ms 0.250000), never rounded through
// a float.
package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/patchgate/patchgate/harness/trace"
)

// FormatVersion is the version of the JSON layout written by JSON.
const FormatVersion = 1

// CSV writes one row per sample, in trace order, after a header:
//
//	t_s,slot,tag,value,quality,late_ms
//
// t_s is the read time in seconds since the run start, late_ms how late the read was issued
// against its slot. value is the text of a string sample, else the number; NaN, +Inf and
// -Inf are written as such; quality is good, bad or missing.
func CSV(w io.Writer, tr *trace.Trace) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"t_s", "slot", "tag", "value", "quality", "late_ms"}); err != nil {
		return err
	}
	rec := make([]string, 6)
	var buf []byte
	for i, s := range tr.Samples {
		if int(s.Tag) >= len(tr.Run.Tags) {
			return fmt.Errorf("sample %d: tag index %d, the run has %d tags", i, s.Tag, len(tr.Run.Tags))
		}
		buf = appendFixed(buf[:0], s.T, 1e9, 9)
		n := len(buf)
		buf = strconv.AppendInt(buf, s.Slot, 10)
		m := len(buf)
		buf = appendValue(buf, s)
		v := len(buf)
		buf = appendFixed(buf, s.Late, 1e6, 6)
		str := string(buf) // one allocation for the row's numbers
		rec[0], rec[1], rec[2] = str[:n], str[n:m], tr.Run.Tags[s.Tag]
		rec[3], rec[4], rec[5] = str[m:v], s.Quality.String(), str[v:]
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// EventsCSV writes one row per event, in trace order, after a header:
//
//	t_s,kind,step,tag,value,msg
func EventsCSV(w io.Writer, tr *trace.Trace) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"t_s", "kind", "step", "tag", "value", "msg"}); err != nil {
		return err
	}
	for _, e := range tr.Events {
		if err := cw.Write([]string{string(appendFixed(nil, e.T, 1e9, 9)), string(e.Kind),
			strconv.Itoa(e.Step), e.Tag, e.Value, e.Msg}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// JSON writes the whole trace as one JSON document:
//
//	{
//	  "format": "patchgate.trace",
//	  "version": 1,
//	  "run": { …trace.Run… },
//	  "samples": [
//	    {"slot":0,"tag":"level","t_ns":1000,"late_ns":1000,"quality":"good","value":1.5},
//	    …
//	  ],
//	  "events": [
//	    {"t_ns":0,"kind":"step_start","step":1,"msg":"…"},
//	    …
//	  ]
//	}
//
// A sample's value is a number; NaN is null and the infinities are the strings "+Inf" and
// "-Inf" (JSON has no such numbers); a string sample also has "text". One sample or event
// per line keeps diffs readable.
func JSON(w io.Writer, tr *trace.Trace) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	run, err := marshal(tr.Run, "  ")
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	fmt.Fprintf(bw, "{\n  \"format\": \"patchgate.trace\",\n  \"version\": %d,\n  \"run\": %s,\n  \"samples\": [", FormatVersion, run)
	var buf []byte
	tags := make([][]byte, len(tr.Run.Tags))
	for i, t := range tr.Run.Tags {
		if tags[i], err = marshal(t, ""); err != nil {
			return err
		}
	}
	for i, s := range tr.Samples {
		if int(s.Tag) >= len(tags) {
			return fmt.Errorf("sample %d: tag index %d, the run has %d tags", i, s.Tag, len(tags))
		}
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n    {\"slot\":"...)
		buf = strconv.AppendInt(buf, s.Slot, 10)
		buf = append(buf, ",\"tag\":"...)
		buf = append(buf, tags[s.Tag]...)
		buf = append(buf, ",\"t_ns\":"...)
		buf = strconv.AppendInt(buf, s.T, 10)
		buf = append(buf, ",\"late_ns\":"...)
		buf = strconv.AppendInt(buf, s.Late, 10)
		buf = append(buf, ",\"quality\":\""...)
		buf = append(buf, s.Quality.String()...)
		buf = append(buf, "\",\"value\":"...)
		switch v := s.Value; {
		case math.IsNaN(v):
			buf = append(buf, "null"...)
		case math.IsInf(v, 1):
			buf = append(buf, "\"+Inf\""...)
		case math.IsInf(v, -1):
			buf = append(buf, "\"-Inf\""...)
		default:
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		}
		if s.Text != "" {
			text, err := marshal(s.Text, "")
			if err != nil {
				return err
			}
			buf = append(buf, ",\"text\":"...)
			buf = append(buf, text...)
		}
		buf = append(buf, '}')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if len(tr.Samples) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"events\": [")
	for i, e := range tr.Events {
		ev, err := marshal(e, "")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(ev)
	}
	if len(tr.Events) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// marshal encodes v without HTML escaping, indented after prefix when prefix is not empty.
func marshal(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if prefix != "" {
		enc.SetIndent(prefix, "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// appendFixed appends v/unit as a decimal with the given number of fraction digits,
// exactly (unit is 10^digits).
func appendFixed(b []byte, v, unit int64, digits int) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = uint64(-v) // also right for math.MinInt64
	}
	b = strconv.AppendUint(b, u/uint64(unit), 10)
	b = append(b, '.')
	var tmp [20]byte
	frac := strconv.AppendUint(tmp[:0], u%uint64(unit), 10)
	for range digits - len(frac) {
		b = append(b, '0')
	}
	return append(b, frac...)
}

// appendValue appends a sample's value as CSV shows it.
func appendValue(b []byte, s trace.Sample) []byte {
	switch v := s.Value; {
	case s.Text != "":
		return append(b, s.Text...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	default:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	}
}
