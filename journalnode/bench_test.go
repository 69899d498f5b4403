package journalnode

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

// BenchmarkJournal measures journal() through RPC onto the OS filesystem
// (one fsync per call), for several batch sizes.
func BenchmarkJournal(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("txns=%d", batch), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.Logger = nil // keep the benchmark output readable
			jn := startJN(b, cfg)
			q := newQJ(b, newClient(b), jn)
			must(b, q.format())
			_, err := q.newEpoch(1)
			must(b, err)
			must(b, q.startSegment(1))
			// Encode outside the timer; the txids change every call.
			reqs := make([]*qjournalpb.JournalRequestProto, b.N)
			next := uint64(1)
			for i := range reqs {
				reqs[i] = &qjournalpb.JournalRequestProto{
					FirstTxnId: proto.Uint64(next), NumTxns: proto.Uint32(uint32(batch)),
					Records: records(b, next, batch), SegmentTxnId: proto.Uint64(1),
				}
				next += uint64(batch)
			}
			b.SetBytes(int64(len(reqs[0].Records)))
			b.ResetTimer()
			for i, req := range reqs {
				req.ReqInfo = q.reqInfo(uint64(i * batch))
				must(b, q.call("journal", req, &qjournalpb.JournalResponseProto{}))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "txns/s")
		})
	}
}
