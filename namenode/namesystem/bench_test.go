package namesystem

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// BenchmarkNamesystem calls the handlers directly (no RPC) from 64
// goroutines, with the local journal on the real filesystem (fsync on):
// the namesystem's own ceiling.
func BenchmarkNamesystem(b *testing.B) {
	h := newHarness(b, nil)
	var seq atomic.Int64
	run := func(b *testing.B, fn func(ctx context.Context, i int64) error) {
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := rpc.ContextWithCaller(context.Background(), &rpc.Caller{User: superuser, ClientID: []byte("0123456789abcdef"), CallID: -1})
			for pb.Next() {
				if err := fn(ctx, seq.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	}
	b.Run("mkdirs", func(b *testing.B) {
		run(b, func(ctx context.Context, i int64) error {
			_, err := h.sys.mkdirs(ctx, mkdirsReq(fmt.Sprintf("/b/d%d/x%d", i%64, i), 0o755, true))
			return err
		})
	})
	b.Run("create", func(b *testing.B) {
		run(b, func(ctx context.Context, i int64) error {
			_, err := h.sys.create(ctx, createReq(fmt.Sprintf("/b/f%d/x%d", i%64, i), fmt.Sprintf("c%d", i%64), hdfspb.CreateFlagProto_CREATE, true))
			return err
		})
	})
	b.Run("fileStatus", func(b *testing.B) {
		run(b, func(ctx context.Context, i int64) error {
			_, err := h.sys.getFileInfo(ctx, &hdfspb.GetFileInfoRequestProto{Src: proto.String(fmt.Sprintf("/b/d%d", i%64))})
			return err
		})
	})
}
