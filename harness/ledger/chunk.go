package ledger

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

// The chunk layout is documented in the package comment.
const (
	chunkVersion = 1
	chunkHeader  = 9
	recordSize   = 37
	textHeader   = 8
	maxChunk     = 1 << 16 // records per chunk row
)

var le = binary.LittleEndian

// chunkEncoder packs one tag's samples into a chunk blob.
type chunkEncoder struct {
	buf     []byte // header (filled by finish) and records
	texts   []byte // text entries
	n       uint32
	ntext   uint32
	slotMin int64
	slotMax int64
}

func newChunkEncoder(records int) *chunkEncoder {
	return &chunkEncoder{buf: make([]byte, chunkHeader, chunkHeader+records*recordSize)}
}

// add appends a record; idx is the sample's ordinal minus the chunk's first ordinal and must
// grow from one call to the next.
func (e *chunkEncoder) add(idx uint32, s *trace.Sample) {
	off := len(e.buf)
	if cap(e.buf)-off < recordSize {
		e.buf = append(e.buf, make([]byte, recordSize)...)
	} else {
		e.buf = e.buf[:off+recordSize]
	}
	r := e.buf[off : off+recordSize]
	le.PutUint32(r[0:], idx)
	le.PutUint64(r[4:], uint64(s.Slot))
	le.PutUint64(r[12:], uint64(s.T))
	le.PutUint64(r[20:], uint64(s.Late))
	r[28] = byte(s.Quality)
	le.PutUint64(r[29:], math.Float64bits(s.Value))
	if s.Text != "" {
		e.texts = le.AppendUint32(e.texts, e.n)
		e.texts = le.AppendUint32(e.texts, uint32(len(s.Text)))
		e.texts = append(e.texts, s.Text...)
		e.ntext++
	}
	if e.n == 0 || s.Slot < e.slotMin {
		e.slotMin = s.Slot
	}
	if e.n == 0 || s.Slot > e.slotMax {
		e.slotMax = s.Slot
	}
	e.n++
}

// finish returns the chunk blob.
func (e *chunkEncoder) finish() []byte {
	e.buf[0] = chunkVersion
	le.PutUint32(e.buf[1:], e.n)
	le.PutUint32(e.buf[5:], e.ntext)
	return append(e.buf, e.texts...)
}

// encodeChunk packs samples with their ordinals relative to the chunk's first (idx[i] goes
// with ss[i]).
func encodeChunk(idx []uint32, ss []trace.Sample) []byte {
	e := newChunkEncoder(len(ss))
	for i := range ss {
		e.add(idx[i], &ss[i])
	}
	return e.finish()
}

// decodeChunk checks a chunk blob and calls fn with every record in order. The samples'
// Tag is left zero: the tag is the chunk row's. Errors wrap ErrCorrupt.
func decodeChunk(data []byte, fn func(idx uint32, s trace.Sample) error) error {
	if len(data) < chunkHeader {
		return corrupt("chunk of %d bytes is shorter than its header", len(data))
	}
	if data[0] != chunkVersion {
		return corrupt("chunk format %d, this build reads %d", data[0], chunkVersion)
	}
	n := uint64(le.Uint32(data[1:]))
	m := uint64(le.Uint32(data[5:]))
	end := chunkHeader + n*recordSize
	if end > uint64(len(data)) {
		return corrupt("chunk of %d bytes cannot hold %d records", len(data), n)
	}
	if m > n {
		return corrupt("chunk has %d text entries for %d records", m, n)
	}
	type text struct {
		rec uint32
		s   []byte
	}
	texts := make([]text, 0, m)
	p := end
	for i := uint64(0); i < m; i++ {
		if uint64(len(data))-p < textHeader {
			return corrupt("text entry %d: truncated", i)
		}
		rec := le.Uint32(data[p:])
		l := uint64(le.Uint32(data[p+4:]))
		p += textHeader
		switch {
		case uint64(rec) >= n:
			return corrupt("text entry %d: record %d of %d", i, rec, n)
		case i > 0 && rec <= texts[i-1].rec:
			return corrupt("text entry %d: record %d out of order", i, rec)
		case l == 0:
			return corrupt("text entry %d: empty", i)
		case uint64(len(data))-p < l:
			return corrupt("text entry %d: %d bytes, %d left", i, l, uint64(len(data))-p)
		}
		texts = append(texts, text{rec, data[p : p+l]})
		p += l
	}
	if p != uint64(len(data)) {
		return corrupt("%d bytes after the last text entry", uint64(len(data))-p)
	}
	next := 0
	var prev uint32
	for i := uint64(0); i < n; i++ {
		r := data[chunkHeader+i*recordSize:]
		idx := le.Uint32(r[0:])
		if i > 0 && idx <= prev {
			return corrupt("record %d: ordinal offset %d after %d", i, idx, prev)
		}
		prev = idx
		q := driver.Quality(r[28])
		if q > driver.Missing {
			return corrupt("record %d: quality %d", i, r[28])
		}
		s := trace.Sample{
			Slot:    int64(le.Uint64(r[4:])),
			T:       int64(le.Uint64(r[12:])),
			Late:    int64(le.Uint64(r[20:])),
			Quality: q,
			Value:   math.Float64frombits(le.Uint64(r[29:])),
		}
		if next < len(texts) && uint64(texts[next].rec) == i {
			s.Text = string(texts[next].s)
			next++
		}
		if err := fn(idx, s); err != nil {
			return err
		}
	}
	return nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
