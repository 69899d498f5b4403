// Package ots is the Alibaba Tablestore (OTS) sink of the metadata mirror.
package ots

import (
	"context"
	"errors"

	sdk "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/hdfsha/hdfsha/tablestore"
)

var _ = sdk.NewClient

// Sink is a mirror in a Tablestore table.
type Sink struct{ tablestore.Sink }

// Open connects to the instance and table of cfg (creating the table if
// it does not exist).
func Open(ctx context.Context, cfg tablestore.OTSConfig) (*Sink, error) {
	return nil, errors.New("ots: not implemented yet")
}
