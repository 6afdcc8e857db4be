package ledger

import (
	"context"
	"fmt"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

var benchTags = []string{"level", "inflow", "outflow", "pump", "valve", "temp", "alarm_hi", "alarm_lo"}

// benchBatch is n samples of slots starting at slot, all tags per slot, as the runner
// writes them.
func benchBatch(slot int64, n int) []trace.Sample {
	ss := make([]trace.Sample, n)
	for i := range ss {
		sl := slot + int64(i/len(benchTags))
		ss[i] = trace.Sample{Slot: sl, Tag: uint16(i % len(benchTags)), T: sl*100_000_000 + int64(i%len(benchTags))*20_000,
			Late: int64(i%len(benchTags)) * 20_000, Quality: driver.Good, Value: float64(sl%1000) * 0.125}
	}
	return ss
}

// BenchmarkStoreSamples commits batches of samples of 8 tags; the target is 1,000,000
// samples/s. The runner's default batch is 4096 samples (or 500 ms).
func BenchmarkStoreSamples(b *testing.B) {
	for _, size := range []int{512, 4096, 32768} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db, _ := openTemp(b)
			ctx := context.Background()
			r := newRun(benchTags...)
			if _, err := db.CreateRun(ctx, r); err != nil {
				b.Fatal(err)
			}
			batch := benchBatch(0, size)
			for b.Loop() {
				if err := db.AppendSamples(ctx, r.ID, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkLoad1M loads a run of 1,000,000 samples (125,000 slots of 8 tags); the target is
// at most 500 ms.
func BenchmarkLoad1M(b *testing.B) {
	const total, batch = 1_000_000, 4096
	db, _ := openTemp(b)
	ctx := context.Background()
	r := newRun(benchTags...)
	if _, err := db.CreateRun(ctx, r); err != nil {
		b.Fatal(err)
	}
	for done := 0; done < total; {
		n := min(batch, total-done)
		if err := db.AppendSamples(ctx, r.ID, benchBatch(int64(done/len(benchTags)), n)); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	for b.Loop() {
		tr, err := db.LoadTrace(ctx, r.ID)
		if err != nil {
			b.Fatal(err)
		}
		if len(tr.Samples) != total {
			b.Fatalf("%d samples", len(tr.Samples))
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/load")
}
