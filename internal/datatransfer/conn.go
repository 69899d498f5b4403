package datatransfer

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// DefaultSocketTimeout is dfs.client.socket-timeout's default: the longest
// a client waits for a DataNode to answer or to send the next packet.
const DefaultSocketTimeout = 60 * time.Second

// DefaultMaxPacketsInFlight is dfs.client.write.max-packets-in-flight's
// default: the unacked packets a pipeline writer may have outstanding.
const DefaultMaxPacketsInFlight = 80

// readTimeoutExtension is added per pipeline node to the ack timeout, as
// Hadoop's DFSClient.getDatanodeReadTimeout does (5 s each).
const readTimeoutExtension = 5 * time.Second

// DialFunc opens a connection to a DataNode's transfer address. Tests and
// proxies replace it; the default is a net.Dialer with the socket timeout.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// XferAddr is a DataNode's transfer address, "ip:port" (Hadoop's
// DatanodeID.getXferAddr), as firstBadLink names it.
func XferAddr(dn *hdfspb.DatanodeInfoProto) string {
	id := dn.GetId()
	return net.JoinHostPort(id.GetIpAddr(), strconv.Itoa(int(id.GetXferPort())))
}

func dial(ctx context.Context, d DialFunc, addr string, timeout time.Duration) (net.Conn, error) {
	if d == nil {
		nd := &net.Dialer{Timeout: timeout}
		d = nd.DialContext
	}
	return d(ctx, "tcp", addr)
}

// watchContext makes ctx's cancellation interrupt blocking I/O on c, and
// returns the function that stops watching.
func watchContext(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
