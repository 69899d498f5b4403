// Package rpc is hdfsha's Hadoop IPC (protocol version 9) server and client:
// connection setup, framing, call ids and multiplexing, dispatch by protocol
// and method to typed handlers, and the mapping between Java exception class
// names and Go errors (errors.go, the one table). Stock Hadoop clients and
// github.com/colinmarc/hdfs/v2 talk to the Server unchanged; the Client talks
// to Hadoop servers and to this one. Only SIMPLE authentication is spoken (no
// SASL, no Kerberos, no tokens).
//
// # Wire format
//
// A client opens a TCP connection and sends a 7-byte preamble, once:
//
//	  0     1     2     3     4         5               6
//	+-----+-----+-----+-----+---------+---------------+---------------+
//	| 'h' | 'r' | 'p' | 'c' | version | service class | auth protocol |
//	+-----+-----+-----+-----+---------+---------------+---------------+
//	                          0x09      0x00            0x00 NONE (SIMPLE)
//	                                                    0xDF SASL (-33)
//
// Everything after it, in both directions, is a frame: a 4-byte big-endian
// length, then that many bytes holding protobuf messages, each preceded by its
// length as a varint (protobuf's "delimited" form):
//
//	+----------------------+--------+----------+--------+----------+---
//	| length (uint32, BE)  | varint | message1 | varint | message2 | ...
//	+----------------------+--------+----------+--------+----------+---
//	  counts every byte after itself
//
// Requests (client → server) start with an RpcRequestHeaderProto; its callId
// says what follows:
//
//	callId -3   connection context, sent once right after the preamble:
//	            RpcRequestHeaderProto, IpcConnectionContextProto (user, protocol)
//	callId -4   ping: RpcRequestHeaderProto only; the server ignores it
//	callId ≥ 0  a call: RpcRequestHeaderProto, RequestHeaderProto (methodName,
//	            declaringClassProtocolName, clientProtocolVersion), request
//
// Responses (server → client) carry the call's id:
//
//	SUCCESS     RpcResponseHeaderProto, response
//	ERROR       RpcResponseHeaderProto (exceptionClassName, errorMsg,
//	            errorDetail) only; the connection stays open
//	FATAL       as ERROR, then the server closes the connection; callId is
//	            -1 (0xFFFFFFFF) when the failure is not about one call
//
// For example, a ping from a client whose id is 16 bytes c0..c15 is 31 bytes:
//
//	00 00 00 1b                  frame length 27
//	1a                           header length 26
//	08 02                        rpcKind    = RPC_PROTOCOL_BUFFER
//	10 00                        rpcOp      = RPC_FINAL_PACKET
//	18 07                        callId     = -4 (sint32, zigzag)
//	22 10 c0 .. c15              clientId   = 16 bytes
//	28 01                        retryCount = -1 (sint32, zigzag)
//
// Responses come back in the order calls finish, not the order they were
// sent; the call id matches them up.
//
// What the server refuses, and how (it keeps serving every other
// connection):
//
//	preamble not "hrpc", or version ≠ 9   FATAL_VERSION_MISMATCH (clients older than
//	                                      version 9 are just disconnected)
//	"GET " instead of "hrpc"              a plain-text HTTP 404 naming the mistake
//	SASL or unknown auth protocol         FATAL_UNAUTHORIZED
//	frame longer than MaxDataLength       FATAL_INVALID_RPC_HEADER naming both lengths
//	header not decodable                  FATAL_DESERIALIZING_REQUEST
//	header fields invalid, or call before
//	the connection context                FATAL_INVALID_RPC_HEADER
//	request body not decodable            FATAL_DESERIALIZING_REQUEST
//	unknown protocol / method             ERROR_NO_SUCH_PROTOCOL / ERROR_NO_SUCH_METHOD
//	handler error                         ERROR_APPLICATION with the error's Java class
//	handler panic                         ERROR_RPC_SERVER, java.io.IOException
//
// # Serving
//
// A Server listens when created and dispatches each call by
// (declaringClassProtocolName, methodName):
//
//	srv, err := rpc.NewServer(cfg) // cfg from rpc.DefaultServerConfig()
//	srv.Register("org.apache.hadoop.hdfs.protocol.ClientProtocol",
//		rpc.Unary("getFileInfo", func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
//			caller, _ := rpc.CallerFromContext(ctx) // user, client id, call id, retry count, ...
//			...
//			return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
//		}))
//	go srv.Serve()
//	defer srv.Close()
//
// Calls run on a pool of HandlerCount goroutines fed by a queue of
// HandlerCount × QueueSizePerHandler calls; when it is full, connection
// readers wait. Handlers must return when their ctx is cancelled (the
// connection or the server closed): Close waits for them.
//
// Errors a handler returns travel as Java exceptions: a *RemoteError (what
// Errorf builds) keeps its class and exact message; another error takes the
// class of the first table sentinel it matches with errors.Is, or
// java.io.IOException, with err.Error() as the message.
//
// # Calling
//
// A Client keeps one connection per (address, protocol), shared by all
// concurrent calls:
//
//	c, err := rpc.NewClient(rpc.DefaultClientConfig("alice"))
//	defer c.Close()
//	err = c.Call(ctx, "nn1:8020", "org.apache.hadoop.hdfs.protocol.ClientProtocol",
//		"getFileInfo", req, resp)
//	if errors.Is(err, rpc.ErrFileNotFound) { ... }
//
// A server error comes back as a *RemoteError (errors.As gives the Java class,
// also for classes not in the table). ErrConnectionLost means the call may
// have run. The Client never retries by itself; code that fails over to
// another NameNode retries with rpc.WithAttempt(a.Retry()) so the call keeps
// its call id and client id and the server's retry cache can recognise it.
package rpc
