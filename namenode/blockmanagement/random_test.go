package blockmanagement

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// TestRandomOperations drives the manager with random calls (the driver's
// whole vocabulary, deaths, failovers and stale reports included) and
// checks its invariants after every step.
func TestRandomOperations(t *testing.T) {
	for seed := int64(1); seed <= 50; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			cfg := DefaultConfig()
			cfg.Intn = rng.Intn
			cfg.HeartbeatInterval = time.Second
			cfg.HeartbeatRecheckInterval = 5 * time.Second
			cfg.StaleInterval = time.Hour
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			now := t0
			const nodes, blocks = 5, 12
			gs := map[uint64]uint64{}
			for step := 0; step < 600; step++ {
				i := rng.Intn(nodes) + 1
				id := uint64(1<<30 + rng.Intn(blocks))
				u := dnID(i).UUID
				sid := fmt.Sprintf("DS-%d", i)
				switch rng.Intn(12) {
				case 0:
					m.Register(dnID(i), now)
				case 1:
					m.Heartbeat(u, stats(), []string{sid}, now)
				case 2:
					now = now.Add(time.Duration(rng.Intn(8)) * time.Second)
					m.CheckHeartbeats(now)
				case 3:
					if gs[id] == 0 {
						gs[id] = 1000
					}
					if rng.Intn(3) == 0 {
						gs[id]++
					}
					m.PutBlock(BlockSpec{Block: Block{ID: id, GenStamp: gs[id], NumBytes: 10}, Replication: 1 + rng.Intn(3), Complete: rng.Intn(4) != 0}, now)
				case 4:
					m.RemoveBlock(id, now)
					delete(gs, id)
				case 5:
					m.IncrementalReport(u, sid, []ReceivedDeleted{{Block: Block{ID: id, GenStamp: gs[id] + uint64(rng.Intn(2)), NumBytes: 10}, Status: ReceivedStatus(1 + rng.Intn(3))}}, now)
				case 6:
					var reps []Replica
					for k := 0; k < rng.Intn(blocks); k++ {
						b := uint64(1<<30 + rng.Intn(blocks))
						reps = append(reps, Replica{Block: Block{ID: b, GenStamp: gs[b], NumBytes: 10}})
					}
					m.BlockReport(u, sid, reps, now)
				case 7:
					m.ComputeWork(now)
				case 8:
					m.ReportBadBlock(u, sid, Block{ID: id, GenStamp: gs[id], NumBytes: 10}, now)
				case 9:
					m.SetActive(rng.Intn(3) != 0, now)
				case 10:
					if _, ok := m.RecoveryInProgress(id, now); !ok && m.active {
						gs[id]++
						m.StartRecovery(id, gs[id], now)
					}
				case 11:
					m.ChooseTargets(ChooseRequest{Path: "/f", Replicas: 1 + rng.Intn(3), Writer: dnID(i).IPAddr}, now)
				}
				if err := m.checkInvariants(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
		})
	}
}
