package cli

import (
	"context"
	"fmt"

	"github.com/patchgate/patchgate/harness/ledger"
)

// store is the ledger seen as the runner's Recorder.
type store struct {
	ledger.Recorder
	db *ledger.DB
}

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := ledger.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &store{Recorder: ledger.Recorder{DB: db}, db: db}, nil
}

func (s *store) Close() error { return s.db.Close() }
