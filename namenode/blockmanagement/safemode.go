package blockmanagement

import (
	"fmt"
	"time"
)

// SafeModeStatus is BlockManagerSafeMode's status.
type SafeModeStatus int

const (
	// SafeModeOff: the startup safe mode is over (a manual one may still
	// be on).
	SafeModeOff SafeModeStatus = iota
	// SafeModePendingThreshold: waiting for enough reported blocks and
	// live DataNodes.
	SafeModePendingThreshold
	// SafeModeExtension: thresholds met; waiting out the extension.
	SafeModeExtension
)

// safeMode is Hadoop's BlockManagerSafeMode plus the manual flag. The
// counters are kept by refresh for every block, whatever the status.
type safeMode struct {
	status SafeModeStatus
	manual bool
	// total counts complete blocks; safeBlocks the complete blocks with
	// at least MinReplication live replicas.
	total, safeBlocks int
	reached           time.Time
	// Transitions are logged by the driver; this records the last one.
	changed bool
}

// StartSafeMode enters the startup safe mode once the namespace's blocks
// are loaded (BlockManagerSafeMode.activate): it is left at once if the
// thresholds are already met (an empty namespace, say), else it waits.
func (m *Manager) StartSafeMode(now time.Time) {
	if m.safe.thresholdsMet(m) {
		m.safe.status = SafeModeOff
		return
	}
	m.safe.status = SafeModePendingThreshold
}

func (s *safeMode) threshold(cfg Config) int {
	// Hadoop truncates: (long)(blockTotal * threshold).
	return int(float64(s.total) * cfg.SafeModeThresholdPct)
}

func (s *safeMode) thresholdsMet(m *Manager) bool {
	return s.safeBlocks >= s.threshold(m.cfg) && m.NumLiveDatanodes() >= m.cfg.SafeModeMinDatanodes
}

// check moves the status on (checkSafeMode and the safe mode monitor).
func (s *safeMode) check(m *Manager, now time.Time) {
	switch s.status {
	case SafeModePendingThreshold:
		if s.thresholdsMet(m) {
			if m.cfg.SafeModeExtension > 0 {
				s.status = SafeModeExtension
				s.reached = now
			} else {
				s.status = SafeModeOff
			}
			s.changed = true
		}
	case SafeModeExtension:
		if now.Sub(s.reached) >= m.cfg.SafeModeExtension && s.thresholdsMet(m) {
			s.status = SafeModeOff
			s.changed = true
		}
	}
}

// becomeActive leaves the startup safe mode at once when the thresholds
// are met: a standby that had every report does not wait for the
// extension again after a failover.
func (s *safeMode) becomeActive(m *Manager, now time.Time) {
	if s.status != SafeModeOff && s.thresholdsMet(m) {
		s.status = SafeModeOff
		s.changed = true
	}
}

// CheckSafeMode re-evaluates the startup safe mode at now (the driver calls
// it periodically: the extension ends with time alone) and reports whether
// the status changed since the last call.
func (m *Manager) CheckSafeMode(now time.Time) (SafeModeStatus, bool) {
	m.safe.check(m, now)
	changed := m.safe.changed
	m.safe.changed = false
	return m.safe.status, changed
}

// InSafeMode reports whether the NameNode is in safe mode, startup or
// manual.
func (m *Manager) InSafeMode() bool { return m.safe.manual || m.safe.status != SafeModeOff }

// SafeModeStatus returns the startup safe mode's status and whether a
// manual safe mode is on.
func (m *Manager) SafeModeStatus() (SafeModeStatus, bool) { return m.safe.status, m.safe.manual }

// EnterSafeMode is dfsadmin -safemode enter: safe mode until
// LeaveSafeMode, whatever the blocks.
func (m *Manager) EnterSafeMode() { m.safe.manual = true }

// LeaveSafeMode is dfsadmin -safemode leave: it ends the manual and the
// startup safe mode alike.
func (m *Manager) LeaveSafeMode() {
	m.safe.manual = false
	if m.safe.status != SafeModeOff {
		m.safe.status = SafeModeOff
		m.safe.changed = true
	}
}

// SafeModeTip is the explanation Hadoop appends to SafeModeException
// messages and prints in the NameNode UI, "" out of safe mode.
func (m *Manager) SafeModeTip(now time.Time) string {
	if !m.InSafeMode() {
		return ""
	}
	if m.safe.manual {
		return `It was turned on manually. Use "hdfs dfsadmin -safemode leave" to turn safe mode off.`
	}
	s := &m.safe
	th := s.threshold(m.cfg)
	var msg string
	if s.safeBlocks < th {
		msg = fmt.Sprintf("The reported blocks %d needs additional %d blocks to reach the threshold %.4f of total blocks %d.\n",
			s.safeBlocks, th-s.safeBlocks, m.cfg.SafeModeThresholdPct, s.total)
	} else {
		msg = fmt.Sprintf("The reported blocks %d has reached the threshold %.4f of total blocks %d. ",
			s.safeBlocks, m.cfg.SafeModeThresholdPct, s.total)
	}
	live, need := m.NumLiveDatanodes(), m.cfg.SafeModeMinDatanodes
	if live < need {
		msg += fmt.Sprintf("The number of live datanodes %d needs an additional %d live datanodes to reach the minimum number %d.\n", live, need-live, need)
	} else {
		msg += fmt.Sprintf("The number of live datanodes %d has reached the minimum number %d. ", live, need)
	}
	const turnOff = "Safe mode will be turned off automatically "
	switch s.status {
	case SafeModePendingThreshold:
		msg += turnOff + "once the thresholds have been reached."
	case SafeModeExtension:
		left := s.reached.Add(m.cfg.SafeModeExtension).Sub(now)
		msg += fmt.Sprintf("In safe mode extension. %sin %d seconds.", turnOff, left.Milliseconds()/1000)
	}
	return msg
}
