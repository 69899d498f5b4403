package rpc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// BenchmarkCall measures getFileInfo-shaped calls on loopback, answered from
// memory, with 1 and 64 concurrent callers sharing one client connection.
func BenchmarkCall(b *testing.B) {
	srv := startServer(b, func(cfg *ServerConfig) { cfg.Logger = zap.NewNop() }, func(s *Server) {
		s.Register(clientProtocol, statMethod())
	})
	c := newClient(b, func(cfg *ClientConfig) { cfg.Logger = zap.NewNop() })
	addr := srv.Addr().String()
	req := &hdfspb.GetFileInfoRequestProto{Src: proto.String("/user/alice/data/part-00000")}

	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			b.ReportAllocs()
			errs := make(chan error, callers)
			var wg sync.WaitGroup
			b.ResetTimer()
			for g := range callers {
				n := b.N / callers
				if g < b.N%callers {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp := &hdfspb.GetFileInfoResponseProto{}
					for range n {
						if err := c.Call(context.Background(), addr, clientProtocol, "getFileInfo", req, resp); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		})
	}
}
