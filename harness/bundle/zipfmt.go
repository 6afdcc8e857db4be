package bundle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
)

// The bundle's container is a plain ZIP written by this file, not by archive/zip: every
// header field is fixed here, so that the layout of a bundle depends on nothing but its
// entries (not on the Go release that wrote it), and Verify can rebuild every header byte and
// compare. Every entry is stored (method 0, no compression) with its CRC-32 and sizes in a
// data descriptor after the data, so that entries can be streamed. No ZIP64: a bundle holds
// at most 65535 entries and 4 GiB.

const (
	sigLocal      = 0x04034b50
	sigDescriptor = 0x08074b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50

	zipVersion  = 20        // 2.0: the version needed to extract a stored file
	zipMadeBy   = 3<<8 | 20 // Unix, so that the external attributes carry a file mode
	zipFlags    = 0x0808    // data descriptor after the data; names are UTF-8
	zipDOSDate  = 1<<5 | 1  // 1980-01-01, the earliest date a ZIP can hold
	zipDOSTime  = 0
	zipFileMode = 0o100644 // regular file, rw-r--r--

	localLen      = 30
	descriptorLen = 16
	centralLen    = 46
	endLen        = 22
)

// zipComment is the archive comment of every bundle.
const zipComment = "patchgate evidence bundle; check it offline with: patchgate verify BUNDLE"

var errZipTooLarge = errors.New("the bundle exceeds the ZIP limits (65535 files, 4 GiB)")

// localHeader is the header written before an entry's data.
func localHeader(name string) []byte {
	b := make([]byte, localLen, localLen+len(name))
	le := binary.LittleEndian
	le.PutUint32(b[0:], sigLocal)
	le.PutUint16(b[4:], zipVersion)
	le.PutUint16(b[6:], zipFlags)
	le.PutUint16(b[8:], 0) // stored
	le.PutUint16(b[10:], zipDOSTime)
	le.PutUint16(b[12:], zipDOSDate)
	// CRC-32 and sizes are zero here: they follow the data in the descriptor
	le.PutUint16(b[26:], uint16(len(name)))
	le.PutUint16(b[28:], 0) // no extra field
	return append(b, name...)
}

// descriptor follows an entry's data.
func descriptor(crc uint32, size uint32) []byte {
	b := make([]byte, descriptorLen)
	le := binary.LittleEndian
	le.PutUint32(b[0:], sigDescriptor)
	le.PutUint32(b[4:], crc)
	le.PutUint32(b[8:], size) // compressed size: stored, the same
	le.PutUint32(b[12:], size)
	return b
}

// centralHeader is an entry's record in the central directory.
func centralHeader(name string, crc, size, offset uint32) []byte {
	b := make([]byte, centralLen, centralLen+len(name))
	le := binary.LittleEndian
	le.PutUint32(b[0:], sigCentral)
	le.PutUint16(b[4:], zipMadeBy)
	le.PutUint16(b[6:], zipVersion)
	le.PutUint16(b[8:], zipFlags)
	le.PutUint16(b[10:], 0) // stored
	le.PutUint16(b[12:], zipDOSTime)
	le.PutUint16(b[14:], zipDOSDate)
	le.PutUint32(b[16:], crc)
	le.PutUint32(b[20:], size)
	le.PutUint32(b[24:], size)
	le.PutUint16(b[28:], uint16(len(name)))
	// extra and comment lengths, disk number and internal attributes are zero
	le.PutUint32(b[38:], zipFileMode<<16)
	le.PutUint32(b[42:], offset)
	return append(b, name...)
}

// endRecord closes the archive.
func endRecord(entries int, dirSize, dirOffset uint32) []byte {
	b := make([]byte, endLen, endLen+len(zipComment))
	le := binary.LittleEndian
	le.PutUint32(b[0:], sigEnd)
	le.PutUint16(b[8:], uint16(entries))
	le.PutUint16(b[10:], uint16(entries))
	le.PutUint32(b[12:], dirSize)
	le.PutUint32(b[16:], dirOffset)
	le.PutUint16(b[20:], uint16(len(zipComment)))
	return append(b, zipComment...)
}

// zipEntry is what the central directory needs of a written entry.
type zipEntry struct {
	name   string
	crc    uint32
	size   uint32
	offset uint32
}

// zipWriter streams entries in the canonical layout.
type zipWriter struct {
	w       io.Writer
	off     int64
	entries []zipEntry
	err     error
}

func (z *zipWriter) write(b []byte) {
	if z.err != nil {
		return
	}
	n, err := z.w.Write(b)
	z.off += int64(n)
	z.err = err
}

// entry writes one file whose content fill produces; it returns the content's size and the
// hash h (which fill's bytes also go through, when not nil) has seen.
func (z *zipWriter) entry(name string, h hash.Hash, fill func(io.Writer) error) (int64, error) {
	if z.err != nil {
		return 0, z.err
	}
	if len(z.entries) == math.MaxUint16 || len(name) > math.MaxUint16 {
		return 0, errZipTooLarge
	}
	start := z.off
	z.write(localHeader(name))
	cw := &contentWriter{z: z, crc: crc32.NewIEEE(), h: h}
	if z.err == nil {
		if err := fill(cw); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
	}
	if z.err != nil {
		return 0, z.err
	}
	if z.off > math.MaxUint32 || cw.n > math.MaxUint32 {
		return 0, errZipTooLarge
	}
	crc := cw.crc.Sum32()
	z.write(descriptor(crc, uint32(cw.n)))
	z.entries = append(z.entries, zipEntry{name: name, crc: crc, size: uint32(cw.n), offset: uint32(start)})
	return cw.n, z.err
}

// close writes the central directory and the end record.
func (z *zipWriter) close() error {
	dirStart := z.off
	for _, e := range z.entries {
		z.write(centralHeader(e.name, e.crc, e.size, e.offset))
	}
	if z.off > math.MaxUint32 {
		return errZipTooLarge
	}
	z.write(endRecord(len(z.entries), uint32(z.off-dirStart), uint32(dirStart)))
	return z.err
}

// contentWriter passes an entry's data to the archive, counting it and hashing it.
type contentWriter struct {
	z   *zipWriter
	crc hash.Hash32
	h   hash.Hash
	n   int64
}

func (c *contentWriter) Write(p []byte) (int, error) {
	if c.z.err != nil {
		return 0, c.z.err
	}
	n, err := c.z.w.Write(p)
	c.z.off += int64(n)
	c.n += int64(n)
	c.crc.Write(p[:n])
	if c.h != nil {
		c.h.Write(p[:n])
	}
	if err != nil {
		c.z.err = err
	}
	return n, err
}

// WriteContainer writes entries, in the order given, in the bundle's canonical ZIP layout and
// nothing else: no manifest, no signature. Write is how bundles are made; this is for tests
// and tools that lay out a bundle by hand (a forged or reordered one, to see Verify refuse
// it).
func WriteContainer(w io.Writer, entries []Entry) error {
	z := &zipWriter{w: w}
	for _, e := range entries {
		if _, err := z.entry(e.Name, nil, e.Fill); err != nil {
			return err
		}
	}
	return z.close()
}
