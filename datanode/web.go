package datanode

import (
	"encoding/json"
	"sync/atomic"

	"github.com/hdfsha/hdfsha/internal/version"
)

// registerBeans publishes the DataNode's /jmx beans and /metrics gauges on
// the shared HTTP server (namenode/web).
func (dn *DataNode) registerBeans() {
	w := dn.web
	w.RegisterBean("Hadoop:service=DataNode,name=DataNodeInfo", func() map[string]any {
		nns := map[string]string{}
		for _, a := range dn.actors {
			nns[a.nn.Addr] = dn.BlockPoolID()
		}
		b, _ := json.Marshal(nns)
		return map[string]any{
			"Version":             version.Get().Version,
			"ClusterId":           dn.ClusterID(),
			"DatanodeUuid":        dn.store.DatanodeUUID(),
			"NamenodeAddresses":   string(b),
			"XceiverCount":        dn.xceivers.Load(),
			"DataTransferAddress": dn.TransferAddress(),
		}
	})
	w.RegisterBean("Hadoop:service=DataNode,name=FSDatasetState", func() map[string]any {
		total, _, _ := dn.store.Usage()
		return map[string]any{
			"modelerType": "FSDatasetState",
			"Capacity":    total.Capacity,
			"DfsUsed":     total.DfsUsed,
			"Remaining":   total.Remaining,
			"NumBlocks":   dn.numBlocks(),
		}
	})
	m := &dn.metrics
	w.RegisterBean("Hadoop:service=DataNode,name=DataNodeActivity", func() map[string]any {
		return map[string]any{
			"modelerType":           "DataNodeActivity",
			"BytesWritten":          m.bytesWritten.Load(),
			"BytesRead":             m.bytesRead.Load(),
			"BlocksWritten":         m.blocksWritten.Load(),
			"BlocksRead":            m.blocksRead.Load(),
			"BlocksReplicated":      m.blocksReplicated.Load(),
			"BlocksRemoved":         m.blocksRemoved.Load(),
			"BlocksRecovered":       m.blocksRecovered.Load(),
			"BlockChecksumOpNumOps": m.blockChecksumOps.Load(),
			"BadBlocksReported":     m.badBlk.Load(),
		}
	})
	for _, c := range []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"datanode_bytes_written_total", "Bytes of replicas written (pipelines and transfers).", &m.bytesWritten},
		{"datanode_bytes_read_total", "Bytes of replicas sent to readers.", &m.bytesRead},
		{"datanode_blocks_written_total", "Replicas finalized (pipeline writes, transfers, recoveries).", &m.blocksWritten},
		{"datanode_blocks_read_total", "Replica reads served.", &m.blocksRead},
		{"datanode_blocks_replicated_total", "Replicas copied to other DataNodes on a TRANSFER command.", &m.blocksReplicated},
		{"datanode_blocks_removed_total", "Replicas deleted on an INVALIDATE command.", &m.blocksRemoved},
		{"datanode_blocks_recovered_total", "Block recoveries this node led and committed.", &m.blocksRecovered},
		{"datanode_bad_blocks_reported_total", "Replicas of this node reported corrupt.", &m.badBlk},
	} {
		w.RegisterCounter(c.name, c.help, func() float64 { return float64(c.v.Load()) })
	}
	w.RegisterGauge("datanode_blocks", "Replicas stored in the served block pool.", func() float64 { return float64(dn.numBlocks()) })
	w.RegisterGauge("datanode_xceivers", "Open data transfer connections.", func() float64 { return float64(dn.xceivers.Load()) })
	w.RegisterGauge("datanode_dfs_used_bytes", "Bytes used by replicas.", func() float64 {
		total, _, _ := dn.store.Usage()
		return float64(total.DfsUsed)
	})
}

func (dn *DataNode) numBlocks() int { return dn.store.NumReplicas(dn.BlockPoolID()) }
