package ha

import "github.com/hdfsha/hdfsha/proto/commonpb"

// State is a NameNode's HA state (Hadoop's HAServiceState).
type State int

const (
	Initializing State = iota
	Standby
	Active
	Stopping
)

// String is Hadoop's lower-case name: what haadmin -getServiceState prints.
func (s State) String() string {
	switch s {
	case Initializing:
		return "initializing"
	case Standby:
		return "standby"
	case Active:
		return "active"
	case Stopping:
		return "stopping"
	}
	return "unknown"
}

// Proto is the state on the wire (HAServiceStateProto has no STOPPING;
// a stopping NameNode reports INITIALIZING, as Hadoop does).
func (s State) Proto() commonpb.HAServiceStateProto {
	switch s {
	case Active:
		return commonpb.HAServiceStateProto_ACTIVE
	case Standby:
		return commonpb.HAServiceStateProto_STANDBY
	}
	return commonpb.HAServiceStateProto_INITIALIZING
}
