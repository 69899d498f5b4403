package namenode

import (
	"context"
	"fmt"

	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/filesink"
	"github.com/hdfsha/hdfsha/tablestore/ots"
)

// openSink opens the sink cfg names (cfg.Configured() must be true).
func openSink(ctx context.Context, cfg tablestore.Config) (tablestore.Sink, error) {
	switch cfg.Kind {
	case "file":
		s, err := filesink.Open(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("namenode: mirror %s: %w", cfg.URI(), err)
		}
		return s, nil
	case "ots":
		s, err := ots.Open(ctx, cfg.OTS)
		if err != nil {
			return nil, fmt.Errorf("namenode: mirror %s: %w", cfg.URI(), err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("namenode: no mirror sink configured")
}
