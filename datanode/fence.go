package datanode

// fence is the DataNode side of HA fencing (Hadoop's
// BPOfferService.updateActorStatesFromHeartbeat): which NameNode of the
// nameservice this DataNode obeys. Every heartbeat response carries the
// sender's HA state and txid (NNHAStatusHeartbeatProto); a NameNode that
// claims ACTIVE becomes the one obeyed only if its txid is higher than the
// txid of the last acknowledged active claim. A deposed active that has not
// noticed yet (split brain) claims with an older txid and is ignored.
//
// fence is pure: no I/O, no clock, no locking (the DataNode holds a mutex
// around it).
type fence struct {
	// active is the index of the NameNode obeyed, or -1 for none.
	active int
	// lastTxID is the txid of the newest acknowledged active claim.
	// Invariant: claimed is false ⇒ lastTxID == 0.
	lastTxID uint64
	claimed  bool
}

// fenceOutcome says what one heartbeat's HA status did to the fence, for
// the log.
type fenceOutcome int

const (
	fenceUnchanged    fenceOutcome = iota
	fenceAcknowledged              // first active (or first after a relinquish)
	fenceTakeover                  // a new active replaced the previous one
	fenceStaleClaim                // an active claim with a txid not above the last one: ignored
	fenceRelinquished              // the active now says it is not active
)

func newFence() fence { return fence{active: -1} }

// observe updates the fence with NameNode nn's heartbeat status.
func (f *fence) observe(nn int, claimsActive bool, txid uint64) fenceOutcome {
	thinksActive := f.active == nn
	out := fenceUnchanged
	switch {
	case claimsActive && !thinksActive:
		if f.claimed && txid <= f.lastTxID {
			return fenceStaleClaim
		}
		out = fenceAcknowledged
		if f.active >= 0 {
			out = fenceTakeover
		}
		f.active = nn
	case !claimsActive && thinksActive:
		f.active = -1
		out = fenceRelinquished
	}
	if f.active == nn {
		if txid > f.lastTxID || !f.claimed {
			f.lastTxID = txid
		}
		f.claimed = true
	}
	return out
}

// obeys reports whether commands from NameNode nn are to be carried out.
func (f *fence) obeys(nn int) bool { return f.active >= 0 && f.active == nn }

// forget drops nn as the active (its actor stopped or lost contact with it);
// the last claim's txid is kept, so it must claim anew with a higher one.
func (f *fence) forget(nn int) {
	if f.active == nn {
		f.active = -1
	}
}
