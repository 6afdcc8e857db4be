package registertest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// BenchWrites measures register writes (RecordValidation, each with its audit row) per
// second with the given number of concurrent writers on store s.
func BenchWrites(b *testing.B, s register.Store, writers int) {
	ctx := context.Background()
	p, err := s.AddPatch(ctx, NewPatch("PLC"), "bench")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n.Add(1) <= int64(b.N) {
				if _, err := s.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: Record(verdict.Go)}, fmt.Sprint("w", w)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
