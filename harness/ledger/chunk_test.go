package ledger

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

type chunkCase struct {
	name string
	idx  []uint32
	ss   []trace.Sample
	b    []byte
}

var chunkCases = []chunkCase{
	{
		name: "empty",
		b: []byte{
			0x01,       // version 1
			0, 0, 0, 0, // n = 0 records
			0, 0, 0, 0, // m = 0 text entries
		},
	},
	{
		name: "one good sample",
		idx:  []uint32{0},
		ss:   []trace.Sample{{Slot: 1, T: 2, Late: 3, Quality: driver.Good, Value: 1.5}},
		b: []byte{
			0x01,       // version 1
			1, 0, 0, 0, // n = 1
			0, 0, 0, 0, // m = 0
			0, 0, 0, 0, // record 0: ordinal offset 0
			1, 0, 0, 0, 0, 0, 0, 0, //   slot 1
			2, 0, 0, 0, 0, 0, 0, 0, //   t 2 ns
			3, 0, 0, 0, 0, 0, 0, 0, //   late 3 ns
			0,                            //   quality good
			0, 0, 0, 0, 0, 0, 0xf8, 0x3f, //   value 1.5
		},
	},
	{
		name: "bad NaN then a string",
		idx:  []uint32{2, 0x01000000},
		ss: []trace.Sample{
			{Slot: -1, T: -2, Late: math.MinInt64, Quality: driver.Bad, Value: math.Float64frombits(0x7ff8000000000001)},
			{Slot: math.MaxInt64, T: 256, Late: 0, Quality: driver.Missing, Value: math.Inf(-1), Text: "ON"},
		},
		b: []byte{
			0x01,       // version 1
			2, 0, 0, 0, // n = 2
			1, 0, 0, 0, // m = 1
			2, 0, 0, 0, // record 0: ordinal offset 2
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //   slot -1
			0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //   t -2
			0, 0, 0, 0, 0, 0, 0, 0x80, //   late MinInt64
			1,                            //   quality bad
			1, 0, 0, 0, 0, 0, 0xf8, 0x7f, //   value NaN with payload 1
			0, 0, 0, 1, // record 1: ordinal offset 0x01000000
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, //   slot MaxInt64
			0, 1, 0, 0, 0, 0, 0, 0, //   t 256
			0, 0, 0, 0, 0, 0, 0, 0, //   late 0
			2,                            //   quality missing
			0, 0, 0, 0, 0, 0, 0xf0, 0xff, //   value -Inf
			1, 0, 0, 0, // text entry: record 1
			2, 0, 0, 0, //   2 bytes
			'O', 'N', //   "ON"
		},
	},
}

func TestChunkCodec(t *testing.T) {
	for _, c := range chunkCases {
		t.Run(c.name, func(t *testing.T) {
			got := encodeChunk(c.idx, c.ss)
			if !bytes.Equal(got, c.b) {
				t.Errorf("encode:\n got % x\nwant % x", got, c.b)
			}
			idx, ss, err := decodeAll(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if len(idx) != len(c.idx) {
				t.Fatalf("decoded %d records, want %d", len(idx), len(c.idx))
			}
			for i := range idx {
				if idx[i] != c.idx[i] {
					t.Errorf("record %d: offset %d, want %d", i, idx[i], c.idx[i])
				}
			}
			sameSamples(t, ss, c.ss)
		})
	}
}

var badChunks = []struct {
	name string
	b    []byte
}{
	{"nothing", nil},
	{"short header", []byte{1, 0, 0, 0, 0, 0, 0, 0}},
	{"version 2", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0}},
	{"n beyond the data", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0}},
	{"n at the uint32 limit", []byte{1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
	{"more texts than records", []byte{1, 0, 0, 0, 0, 1, 0, 0, 0}},
	{"trailing byte", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	{"quality 3", withByte(chunkCases[1].b, chunkHeader+28, 3)},
	{"offsets not increasing", withByte(chunkCases[2].b, chunkHeader+recordSize+3, 0)},
	{"text for record 2 of 2", withByte(chunkCases[2].b, chunkHeader+2*recordSize, 2)},
	{"empty text", withByte(chunkCases[2].b[:len(chunkCases[2].b)-2], chunkHeader+2*recordSize+4, 0)},
	{"text truncated", chunkCases[2].b[:len(chunkCases[2].b)-1]},
	{"text entry truncated", chunkCases[2].b[:chunkHeader+2*recordSize+5]},
	{"text longer than the blob", withByte(chunkCases[2].b, chunkHeader+2*recordSize+7, 0x80)},
}

func withByte(b []byte, i int, v byte) []byte {
	b = bytes.Clone(b)
	b[i] = v
	return b
}

func TestChunkDecodeErrors(t *testing.T) {
	for _, c := range badChunks {
		if _, _, err := decodeAll(c.b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", c.name, err)
		}
	}
	// Two texts out of order.
	b := encodeChunk([]uint32{0, 1}, []trace.Sample{{Text: "a"}, {Text: "b"}})
	tail := chunkHeader + 2*recordSize
	b[tail] = 1   // first entry says record 1
	b[tail+9] = 0 // second entry says record 0
	if _, _, err := decodeAll(b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("texts out of order: %v, want ErrCorrupt", err)
	}
}

func decodeAll(b []byte) ([]uint32, []trace.Sample, error) {
	var idx []uint32
	var ss []trace.Sample
	err := decodeChunk(b, func(i uint32, s trace.Sample) error {
		idx = append(idx, i)
		ss = append(ss, s)
		return nil
	})
	return idx, ss, err
}

// FuzzDecodeChunk: random bytes never panic, errors are ErrCorrupt, and whatever decodes
// encodes back to the same bytes (the format is canonical).
func FuzzDecodeChunk(f *testing.F) {
	for _, c := range chunkCases {
		f.Add(c.b)
	}
	for _, c := range badChunks {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, ss, err := decodeAll(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := encodeChunk(idx, ss); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode:\n got % x\nwant % x", again, b)
		}
	})
}

// FuzzChunkRoundTrip: any samples encode and decode back bit for bit.
func FuzzChunkRoundTrip(f *testing.F) {
	for _, c := range chunkCases {
		for i, s := range c.ss {
			f.Add(c.idx[i], s.Slot, s.T, s.Late, uint8(s.Quality), math.Float64bits(s.Value), s.Text, uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, first uint32, slot, tm, late int64, q uint8, bits uint64, text string, n uint8) {
		q %= 3
		var idx []uint32
		var ss []trace.Sample
		for i := range uint32(n) + 1 {
			if uint64(first)+uint64(i)*7 > math.MaxUint32 {
				break
			}
			s := trace.Sample{Slot: slot + int64(i), T: tm ^ int64(i), Late: late - int64(i),
				Quality: driver.Quality((q + uint8(i)) % 3), Value: math.Float64frombits(bits + uint64(i))}
			if i%2 == 0 {
				s.Text = text
			}
			idx = append(idx, first+i*7)
			ss = append(ss, s)
		}
		b := encodeChunk(idx, ss)
		gotIdx, got, err := decodeAll(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(gotIdx) != len(idx) {
			t.Fatalf("%d records back, want %d", len(gotIdx), len(idx))
		}
		for i := range idx {
			if gotIdx[i] != idx[i] {
				t.Fatalf("record %d: offset %d, want %d", i, gotIdx[i], idx[i])
			}
		}
		sameSamples(t, got, ss)
	})
}
