package namenode

import (
	"context"
	"errors"
)

// recoveryState is the recovery mode's progress (RUNNING, FINISH).
type recoveryState struct{}

// startRecoveryLocked is Start in recovery mode (cfg.Mirror.RecoveryMode):
// the namespace comes from the sink, nothing is written to the journal,
// and the NameNode serves read-only as the active. Called under trMu and
// mu with n.started set; on error Start's cleanup runs.
func (n *NameNode) startRecoveryLocked(ctx context.Context) error {
	return errors.New("namenode: recovery mode is not implemented yet")
}

// Recovery states, as dfsadmin -metaStatus prints them.
const (
	RecoveryRunning = "RUNNING"
	RecoveryFinish  = "FINISH"
)

// recoveryStatus is the recovery mode's progress: state "" when not in
// recovery mode, else RecoveryRunning (loaded of target txids applied) or
// RecoveryFinish. Safe from any goroutine.
func (n *NameNode) recoveryStatus() (state string, loaded, target int64) { return "", 0, 0 }
