package rpc

import (
	"context"
	"net"

	"google.golang.org/protobuf/proto"
)

// Method is one RPC method a server answers: its wire name and a typed
// handler. Build one with Unary.
type Method struct {
	name       string
	newRequest func() proto.Message
	invoke     func(ctx context.Context, req proto.Message) (proto.Message, error)
}

// Name returns the method name as it appears on the wire.
func (m Method) Name() string { return m.name }

// Unary returns a Method named name (the methodName on the wire, e.g.
// "getFileInfo") that decodes its request as Req and answers with fn's Resp.
//
// fn runs on a server handler goroutine. Its ctx is cancelled when the
// connection or the server closes, and carries the Caller (CallerFromContext).
// An error fn returns goes to the client as a Java exception (see Errorf and
// ClassOf); a panic in fn is recovered and answered as java.io.IOException.
func Unary[Req, Resp proto.Message](name string, fn func(ctx context.Context, req Req) (Resp, error)) Method {
	var zero Req
	reqType := zero.ProtoReflect().Type()
	return Method{
		name:       name,
		newRequest: func() proto.Message { return reqType.New().Interface() },
		invoke: func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return fn(ctx, req.(Req))
		},
	}
}

// Caller describes who made the call a handler is serving. The NameNode's
// retry cache keys on (ClientID, CallID); permission checks use User.
type Caller struct {
	// User is the effective user from the connection context.
	User string
	// RealUser is the proxy user acting for User; empty when not impersonating.
	RealUser string
	// ClientID is the client's id (16 bytes for Hadoop and hdfsha clients);
	// it stays the same when a call is retried.
	ClientID []byte
	// CallID is the call's id on the wire; a retried call keeps it.
	CallID int32
	// RetryCount is 0 for a first attempt and n for the n-th retry.
	RetryCount int32
	// RemoteAddr is the client's address.
	RemoteAddr net.Addr
	// Protocol is the protocol declaring the method (declaringClassProtocolName).
	Protocol string
	// Method is the method name.
	Method string
	// ConnectionProtocol is the protocol named in the connection context.
	ConnectionProtocol string
	// CallerContext is the free-form caller context, empty when not sent.
	CallerContext string
}

type callerKey struct{}

// CallerFromContext returns the Caller of the call a handler is serving.
func CallerFromContext(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(*Caller)
	return c, ok
}

// ContextWithCaller returns ctx carrying c, for tests of handlers that read
// CallerFromContext without a server.
func ContextWithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}
