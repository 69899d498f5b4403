package datanode

import (
	"encoding/json"

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
	w.RegisterGauge("datanode_blocks", "Replicas stored in the served block pool.", func() float64 { return float64(dn.numBlocks()) })
	w.RegisterGauge("datanode_xceivers", "Open data transfer connections.", func() float64 { return float64(dn.xceivers.Load()) })
	w.RegisterGauge("datanode_dfs_used_bytes", "Bytes used by replicas.", func() float64 {
		total, _, _ := dn.store.Usage()
		return float64(total.DfsUsed)
	})
}

func (dn *DataNode) numBlocks() int {
	bpid := dn.BlockPoolID()
	if bpid == "" {
		return 0
	}
	return len(dn.store.Report(bpid))
}
