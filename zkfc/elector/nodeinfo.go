package elector

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrBadNodeInfo: znode data that is not an ActiveNodeInfo message.
var ErrBadNodeInfo = errors.New("bad ActiveNodeInfo data")

// NodeInfo is the identity a ZKFC writes into the lock and breadcrumb znodes:
// Hadoop's ActiveNodeInfo message (hadoop-hdfs HAZKInfo.proto). Its bytes are
// exactly Hadoop's, so a Hadoop ZKFC and this one can read each other's
// znodes:
//
//	field 1 nameserviceId string (required)
//	field 2 namenodeId    string (required)
//	field 3 hostname      string (required)
//	field 4 port          int32  (required; the NameNode's HA service port)
//	field 5 zkfcPort      int32  (required)
type NodeInfo struct {
	Nameservice string
	NameNode    string
	Host        string
	Port        int32
	ZKFCPort    int32
}

// Protobuf field numbers of ActiveNodeInfo (HAZKInfo.proto).
const (
	fieldNameservice protowire.Number = 1
	fieldNameNode    protowire.Number = 2
	fieldHost        protowire.Number = 3
	fieldPort        protowire.Number = 4
	fieldZKFCPort    protowire.Number = 5
)

// Marshal encodes n as Hadoop's ActiveNodeInfo, fields in number order.
func (n NodeInfo) Marshal() []byte {
	var b []byte
	b = protowire.AppendTag(b, fieldNameservice, protowire.BytesType)
	b = protowire.AppendString(b, n.Nameservice)
	b = protowire.AppendTag(b, fieldNameNode, protowire.BytesType)
	b = protowire.AppendString(b, n.NameNode)
	b = protowire.AppendTag(b, fieldHost, protowire.BytesType)
	b = protowire.AppendString(b, n.Host)
	b = protowire.AppendTag(b, fieldPort, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(int64(n.Port)))
	b = protowire.AppendTag(b, fieldZKFCPort, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(int64(n.ZKFCPort)))
	return b
}

// ParseNodeInfo decodes an ActiveNodeInfo. Unknown fields are skipped; a
// missing required field or malformed bytes are an error wrapping
// ErrBadNodeInfo.
func ParseNodeInfo(b []byte) (NodeInfo, error) {
	var n NodeInfo
	var seen [6]bool
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return NodeInfo{}, fmt.Errorf("%w: %w", ErrBadNodeInfo, protowire.ParseError(l))
		}
		b = b[l:]
		switch {
		case (num == fieldNameservice || num == fieldNameNode || num == fieldHost) && typ == protowire.BytesType:
			s, l := protowire.ConsumeString(b)
			if l < 0 {
				return NodeInfo{}, fmt.Errorf("%w: field %d: %w", ErrBadNodeInfo, num, protowire.ParseError(l))
			}
			b = b[l:]
			switch num {
			case fieldNameservice:
				n.Nameservice = s
			case fieldNameNode:
				n.NameNode = s
			default:
				n.Host = s
			}
			seen[num] = true
		case (num == fieldPort || num == fieldZKFCPort) && typ == protowire.VarintType:
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return NodeInfo{}, fmt.Errorf("%w: field %d: %w", ErrBadNodeInfo, num, protowire.ParseError(l))
			}
			b = b[l:]
			if num == fieldPort {
				n.Port = int32(v)
			} else {
				n.ZKFCPort = int32(v)
			}
			seen[num] = true
		default:
			l := protowire.ConsumeFieldValue(num, typ, b)
			if l < 0 {
				return NodeInfo{}, fmt.Errorf("%w: field %d: %w", ErrBadNodeInfo, num, protowire.ParseError(l))
			}
			b = b[l:]
		}
	}
	for f := fieldNameservice; f <= fieldZKFCPort; f++ {
		if !seen[f] {
			return NodeInfo{}, fmt.Errorf("%w: required field %d missing", ErrBadNodeInfo, f)
		}
	}
	return n, nil
}

// Addr is the NameNode's HA service address, "host:port".
func (n NodeInfo) Addr() string {
	return net.JoinHostPort(n.Host, strconv.Itoa(int(n.Port)))
}

// ZKFCAddr is the address of the NameNode's ZKFC, "host:zkfcPort".
func (n NodeInfo) ZKFCAddr() string {
	return net.JoinHostPort(n.Host, strconv.Itoa(int(n.ZKFCPort)))
}

// SameNode reports whether n and o name the same NameNode of the same
// nameservice.
func (n NodeInfo) SameNode(o NodeInfo) bool {
	return n.Nameservice == o.Nameservice && n.NameNode == o.NameNode
}

// String is how messages name the node: "NameNode at host:port".
func (n NodeInfo) String() string { return "NameNode at " + n.Addr() }
