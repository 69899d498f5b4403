// Package ha is the NameNode's HA state machine (Hadoop's HAState and
// HAContext): which state a NameNode is in and which steps a transition
// runs. It does no I/O and reads no clock; the namenode package drives it.
package ha
