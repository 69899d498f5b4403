package fsck

import (
	"fmt"
	"strings"
)

// result is NamenodeFsck.Result: the counters of one kind of block
// (replicated here; erasure coding is not implemented, so its section
// always prints zeros).
type result struct {
	replication, minReplication int

	missingIDs                    int64
	missingSize                   int64
	corruptFiles                  int64
	corruptBlocks                 int64
	corruptSize                   int64
	excessiveReplicas             int64
	missingReplicas               int64
	decommissionedReplicas        int64
	decommissioningReplicas       int64
	enteringMaintenanceReplicas   int64
	inMaintenanceReplicas         int64
	numUnderMinReplicatedBlocks   int64
	numOverReplicatedBlocks       int64
	numUnderReplicatedBlocks      int64
	numMisReplicatedBlocks        int64
	numMinReplicatedBlocks        int64
	totalBlocks                   int64
	numExpectedReplicas           int64
	totalOpenFilesBlocks          int64
	totalFiles                    int64
	totalOpenFiles                int64
	totalSize                     int64
	totalOpenFilesSize            int64
	totalReplicas                 int64
	numBlocksQueuedForReplication int64
}

// healthy: no missing and no corrupt block.
func (r *result) healthy() bool { return r.missingIDs == 0 && r.corruptBlocks == 0 }

// replicationFactor is the average number of replicas per block.
func (r *result) replicationFactor() string {
	if r.totalBlocks == 0 {
		return javaFloat(0)
	}
	return javaFloat(float32(r.totalReplicas) / float32(r.totalBlocks))
}

// pct appends " (p %)" when there are blocks.
func (r *result) pct(b *strings.Builder, n int64) {
	if r.totalBlocks > 0 {
		fmt.Fprintf(b, " (%s %%)", percent(n, r.totalBlocks))
	}
}

func (r *result) header(b *strings.Builder, blocksLabel, avgLabel, openLabel string) {
	fmt.Fprintf(b, " Total size:\t%d B", r.totalSize)
	if r.totalOpenFilesSize != 0 {
		fmt.Fprintf(b, " (Total open files size: %d B)", r.totalOpenFilesSize)
	}
	fmt.Fprintf(b, "\n Total files:\t%d", r.totalFiles)
	if r.totalOpenFiles != 0 {
		fmt.Fprintf(b, " (Files currently being written: %d)", r.totalOpenFiles)
	}
	fmt.Fprintf(b, "\n %s:\t%d", blocksLabel, r.totalBlocks)
	if r.totalBlocks > 0 {
		fmt.Fprintf(b, " (%s %d B)", avgLabel, r.totalSize/r.totalBlocks)
	}
	if r.totalOpenFilesBlocks != 0 {
		fmt.Fprintf(b, " (%s: %d)", openLabel, r.totalOpenFilesBlocks)
	}
}

func (r *result) replicaTail(b *strings.Builder, decommissioned, decommissioning string) {
	if r.totalReplicas > 0 {
		fmt.Fprintf(b, " (%s %%)", javaFloat(float32(r.missingReplicas*100)/float32(r.numExpectedReplicas)))
	}
	if r.decommissionedReplicas > 0 {
		fmt.Fprintf(b, "\n %s:\t%d", decommissioned, r.decommissionedReplicas)
	}
	if r.decommissioningReplicas > 0 {
		fmt.Fprintf(b, "\n %s:\t%d", decommissioning, r.decommissioningReplicas)
	}
	if r.enteringMaintenanceReplicas > 0 {
		fmt.Fprintf(b, "\n EnteringMaintenanceReplicas:\t%d", r.enteringMaintenanceReplicas)
	}
	if r.inMaintenanceReplicas > 0 {
		fmt.Fprintf(b, "\n InMaintenanceReplicas:\t%d", r.inMaintenanceReplicas)
	}
	fmt.Fprintf(b, "\n Blocks queued for replication:\t%d", r.numBlocksQueuedForReplication)
}

// replicatedString is ReplicationResult.toString.
func (r *result) replicatedString() string {
	var b strings.Builder
	r.header(&b, "Total blocks (validated)", "avg. block size", "Total open file blocks (not validated)")
	if r.corruptFiles > 0 || r.numUnderMinReplicatedBlocks > 0 {
		b.WriteString("\n  ********************************")
		if r.numUnderMinReplicatedBlocks > 0 {
			fmt.Fprintf(&b, "\n  UNDER MIN REPL'D BLOCKS:\t%d", r.numUnderMinReplicatedBlocks)
			r.pct(&b, r.numUnderMinReplicatedBlocks)
			fmt.Fprintf(&b, "\n  MINIMAL BLOCK REPLICATION:\t%d", r.minReplication)
		}
		if r.corruptFiles > 0 {
			fmt.Fprintf(&b, "\n  CORRUPT FILES:\t%d", r.corruptFiles)
			if r.missingSize > 0 {
				fmt.Fprintf(&b, "\n  MISSING BLOCKS:\t%d\n  MISSING SIZE:\t\t%d B", r.missingIDs, r.missingSize)
			}
			if r.corruptBlocks > 0 {
				fmt.Fprintf(&b, "\n  CORRUPT BLOCKS: \t%d\n  CORRUPT SIZE:\t\t%d B", r.corruptBlocks, r.corruptSize)
			}
		}
		b.WriteString("\n  ********************************")
	}
	fmt.Fprintf(&b, "\n Minimally replicated blocks:\t%d", r.numMinReplicatedBlocks)
	r.pct(&b, r.numMinReplicatedBlocks)
	fmt.Fprintf(&b, "\n Over-replicated blocks:\t%d", r.numOverReplicatedBlocks)
	r.pct(&b, r.numOverReplicatedBlocks)
	fmt.Fprintf(&b, "\n Under-replicated blocks:\t%d", r.numUnderReplicatedBlocks)
	r.pct(&b, r.numUnderReplicatedBlocks)
	fmt.Fprintf(&b, "\n Mis-replicated blocks:\t\t%d", r.numMisReplicatedBlocks)
	r.pct(&b, r.numMisReplicatedBlocks)
	fmt.Fprintf(&b, "\n Default replication factor:\t%d", r.replication)
	fmt.Fprintf(&b, "\n Average block replication:\t%s", r.replicationFactor())
	fmt.Fprintf(&b, "\n Missing blocks:\t\t%d", r.missingIDs)
	fmt.Fprintf(&b, "\n Corrupt blocks:\t\t%d", r.corruptBlocks)
	fmt.Fprintf(&b, "\n Missing replicas:\t\t%d", r.missingReplicas)
	r.replicaTail(&b, "DecommissionedReplicas", "DecommissioningReplicas")
	return b.String()
}

// erasureCodedString is ErasureCodingResult.toString.
func (r *result) erasureCodedString() string {
	var b strings.Builder
	r.header(&b, "Total block groups (validated)", "avg. block group size", "Total open file block groups (not validated)")
	if r.corruptFiles > 0 || r.numUnderMinReplicatedBlocks > 0 {
		b.WriteString("\n  ********************************")
		if r.numUnderMinReplicatedBlocks > 0 {
			fmt.Fprintf(&b, "\n  UNRECOVERABLE BLOCK GROUPS:\t%d", r.numUnderMinReplicatedBlocks)
			r.pct(&b, r.numUnderMinReplicatedBlocks)
		}
		if r.corruptFiles > 0 {
			fmt.Fprintf(&b, "\n  CORRUPT FILES:\t%d", r.corruptFiles)
			if r.missingSize > 0 {
				fmt.Fprintf(&b, "\n  MISSING BLOCK GROUPS:\t%d\n  MISSING SIZE:\t\t%d B", r.missingIDs, r.missingSize)
			}
			if r.corruptBlocks > 0 {
				fmt.Fprintf(&b, "\n  CORRUPT BLOCK GROUPS: \t%d\n  CORRUPT SIZE:\t\t%d B", r.corruptBlocks, r.corruptSize)
			}
		}
		b.WriteString("\n  ********************************")
	}
	fmt.Fprintf(&b, "\n Minimally erasure-coded block groups:\t%d", r.numMinReplicatedBlocks)
	r.pct(&b, r.numMinReplicatedBlocks)
	fmt.Fprintf(&b, "\n Over-erasure-coded block groups:\t%d", r.numOverReplicatedBlocks)
	r.pct(&b, r.numOverReplicatedBlocks)
	fmt.Fprintf(&b, "\n Under-erasure-coded block groups:\t%d", r.numUnderReplicatedBlocks)
	r.pct(&b, r.numUnderReplicatedBlocks)
	fmt.Fprintf(&b, "\n Unsatisfactory placement block groups:\t%d", r.numMisReplicatedBlocks)
	r.pct(&b, r.numMisReplicatedBlocks)
	fmt.Fprintf(&b, "\n Average block group size:\t%s", r.replicationFactor())
	fmt.Fprintf(&b, "\n Missing block groups:\t\t%d", r.missingIDs)
	fmt.Fprintf(&b, "\n Corrupt block groups:\t\t%d", r.corruptBlocks)
	fmt.Fprintf(&b, "\n Missing internal blocks:\t%d", r.missingReplicas)
	r.replicaTail(&b, "Decommissioned internal blocks", "Decommissioning internal blocks")
	return b.String()
}
