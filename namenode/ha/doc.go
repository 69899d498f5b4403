// Package ha is the NameNode's HA state machine (Hadoop's HAState and
// HAContext): which state a NameNode is in, which transitions are legal,
// which steps each runs (Plan, as data), and which operation categories a
// state serves (Allows, StandbyMessage). It does no I/O and reads no
// clock; the namenode package drives it, running each Step in order.
//
// States: Initializing (starting), Standby (tails the shared edit log,
// refuses client calls with StandbyException), Active (the one writer),
// Stopping. Moving to the state one is in is a no-op success, as in
// Hadoop; an illegal move is a *NotAllowedError.
package ha
