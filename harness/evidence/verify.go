package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Report is what Verify found in a bundle in which every byte is as signed: the container's
// findings (harness/bundle) and the record.
type Report struct {
	Verdict  verdict.Outcome `json:"verdict"`
	Scenario string          `json:"scenario"`
	bundle.Report
	Record verdict.Record `json:"-"`
}

// Verify checks a bundle of size bytes read from r as bundle.Verify does (every byte as
// signed, by one of trusted when trusted is not empty) and reads its record.
func Verify(r io.ReaderAt, size int64, trusted []ed25519.PublicKey) (*Report, error) {
	br, err := bundle.Verify(r, size, trusted)
	if err != nil {
		return nil, err
	}
	rep := &Report{Report: *br}
	if err := json.Unmarshal(br.RecordJSON, &rep.Record); err != nil {
		return nil, fmt.Errorf("%s: %w", RecordFile, err)
	}
	rep.Verdict, rep.Scenario = rep.Record.Verdict, rep.Record.Scenario
	return rep, nil
}
