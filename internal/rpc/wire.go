package rpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// Wire constants of Hadoop IPC version 9.
const (
	ipcVersion byte = 9

	authNone byte = 0    // SIMPLE authentication, no SASL exchange
	authSASL byte = 0xDF // -33 as a signed byte

	// Call ids below zero are out-of-band messages, not calls.
	connectionFailedCallID  int32 = -1 // responses about the connection itself
	connectionContextCallID int32 = -3
	pingCallID              int32 = -4
	saslCallID              int32 = -33

	// invalidRetryCount marks out-of-band messages; calls start at 0.
	invalidRetryCount int32 = -1

	// protocolVersion is the clientProtocolVersion of every protobuf protocol
	// hdfsha speaks (ClientNamenodeProtocolPB, HAServiceProtocolPB, ... are all 1).
	protocolVersion uint64 = 1

	// DefaultMaxDataLength is ipc.maximum.data.length: the largest frame a
	// server accepts, and the largest response a client accepts.
	DefaultMaxDataLength = 128 << 20

	preambleLen = 7
)

var preambleMagic = [4]byte{'h', 'r', 'p', 'c'}

// httpGet is what a browser pointed at the IPC port sends first.
var httpGet = [4]byte{'G', 'E', 'T', ' '}

// httpOnIPCPortResponse answers an HTTP request sent to the IPC port, so the
// user sees a hint instead of a reset connection.
const httpOnIPCPortResponse = "HTTP/1.1 404 Not Found\r\n" +
	"Content-type: text/plain\r\n\r\n" +
	"This is a Hadoop IPC port, not an HTTP one: use the web address of this daemon instead.\r\n"

var errHTTPOnIPCPort = errors.New("HTTP request on the IPC port")

type rpcCode = commonpb.RpcResponseHeaderProto_RpcErrorCodeProto

const (
	codeApplication         = commonpb.RpcResponseHeaderProto_ERROR_APPLICATION
	codeNoSuchMethod        = commonpb.RpcResponseHeaderProto_ERROR_NO_SUCH_METHOD
	codeNoSuchProtocol      = commonpb.RpcResponseHeaderProto_ERROR_NO_SUCH_PROTOCOL
	codeRPCServer           = commonpb.RpcResponseHeaderProto_ERROR_RPC_SERVER
	codeSerializingResponse = commonpb.RpcResponseHeaderProto_ERROR_SERIALIZING_RESPONSE
	codeInvalidRPCHeader    = commonpb.RpcResponseHeaderProto_FATAL_INVALID_RPC_HEADER
	codeDeserializing       = commonpb.RpcResponseHeaderProto_FATAL_DESERIALIZING_REQUEST
	codeVersionMismatch     = commonpb.RpcResponseHeaderProto_FATAL_VERSION_MISMATCH
	codeUnauthorized        = commonpb.RpcResponseHeaderProto_FATAL_UNAUTHORIZED
)

// fatalError ends a connection. When code is not zero the server first answers
// with a FATAL response carrying class and msg (callID -1 when the failing
// call is not known).
type fatalError struct {
	callID     int32
	retryCount int32
	clientID   []byte
	code       rpcCode
	class      string
	msg        string
}

func (e *fatalError) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.class, e.code, e.msg)
}

func newFatal(code rpcCode, class, format string, args ...any) *fatalError {
	return &fatalError{
		callID:     connectionFailedCallID,
		retryCount: invalidRetryCount,
		code:       code,
		class:      class,
		msg:        fmt.Sprintf(format, args...),
	}
}

// inbound is one decoded frame from a client.
type inbound struct {
	header *commonpb.RpcRequestHeaderProto
	// context is set for the connection context (call id -3).
	context *commonpb.IpcConnectionContextProto
	// request and body are set for calls (call id >= 0): body holds the
	// encoded request message, still to be decoded by the method's type. It
	// points into the decoder's buffer and is valid until the next frame.
	request *commonpb.RequestHeaderProto
	body    []byte
}

// decoder reads what a client sends on one connection: the preamble, then
// frames, each checked against the connection's state. It reads only from r,
// keeps no clock and starts no goroutines; FuzzFrameDecoder drives it directly.
//
// Every error it returns is either a *fatalError (the client broke the
// protocol), errHTTPOnIPCPort, or an I/O error from r wrapped with %w.
type decoder struct {
	r             *bufio.Reader
	maxDataLength int
	remote        string // for messages only

	contextRead bool
	frame       []byte // reused between frames when small
}

func newDecoder(r *bufio.Reader, maxDataLength int, remote string) *decoder {
	return &decoder{r: r, maxDataLength: maxDataLength, remote: remote}
}

// readPreamble reads the 7-byte preamble and checks "hrpc", the version and
// the auth protocol. The service class (a QoS hint) is ignored.
func (d *decoder) readPreamble() error {
	var p [preambleLen]byte
	if _, err := io.ReadFull(d.r, p[:4]); err != nil {
		return fmt.Errorf("reading connection preamble: %w", err)
	}
	if [4]byte(p[:4]) == httpGet {
		return errHTTPOnIPCPort
	}
	if _, err := io.ReadFull(d.r, p[4:]); err != nil {
		return fmt.Errorf("reading connection preamble: %w", err)
	}
	version, auth := p[4], p[6]
	if [4]byte(p[:4]) != preambleMagic {
		return versionMismatch(version,
			"Invalid RPC connection preamble %q from %s: expected \"hrpc\" and IPC version %d",
			p[:4], d.remote, ipcVersion)
	}
	if version != ipcVersion {
		return versionMismatch(version, "Server IPC version %d cannot communicate with client version %d",
			ipcVersion, version)
	}
	switch auth {
	case authNone:
	case authSASL:
		return newFatal(codeUnauthorized, classAccessControl,
			"SASL authentication is not enabled.  Available:[SIMPLE]")
	default:
		return newFatal(codeUnauthorized, classIPCException, "Unknown auth protocol:%d", int8(auth))
	}
	return nil
}

// versionMismatch is Hadoop's answer to a bad preamble: a version-9-style
// FATAL response for clients claiming version 9 or later, and nothing (code
// zero: just close) for older clients, who could not parse it.
func versionMismatch(version byte, format string, args ...any) *fatalError {
	fe := newFatal(codeVersionMismatch, classVersionMismatch, format, args...)
	if version < ipcVersion {
		fe.code = 0
	}
	return fe
}

// next reads and decodes one frame. Pings come back as an inbound without
// context or request; the caller ignores them.
func (d *decoder) next() (*inbound, error) {
	frame, err := d.readFrame()
	if err != nil {
		return nil, err
	}
	in, err := decodeFrame(frame)
	if err != nil {
		return nil, err
	}
	callID := in.header.GetCallId()
	switch {
	case callID == connectionContextCallID && d.contextRead:
		return nil, headerFatal(in.header, "Connection context already processed")
	case callID == connectionContextCallID:
		d.contextRead = true
	case callID >= 0 && !d.contextRead:
		return nil, headerFatal(in.header, "Connection context not established")
	}
	return in, nil
}

// readFrame reads one length-prefixed frame. The returned slice is valid until
// the next call.
func (d *decoder) readFrame() ([]byte, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(d.r, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("reading frame length: %w", err)
	}
	n := int32(binary.BigEndian.Uint32(lenBuf[:]))
	switch {
	case n < 0:
		return nil, newFatal(codeInvalidRPCHeader, classIOException,
			"Unexpected data length %d from %s", n, d.remote)
	case int64(n) > int64(d.maxDataLength):
		return nil, newFatal(codeInvalidRPCHeader, classIOException,
			"Requested data length %d from %s is longer than maximum configured RPC length %d (ipc.maximum.data.length)",
			n, d.remote, d.maxDataLength)
	}
	// Frames up to keep bytes (most calls) reuse one buffer; larger ones
	// are not kept, so an idle connection holds little memory.
	const keep = 4 << 10
	if int(n) <= cap(d.frame) {
		d.frame = d.frame[:n]
	} else {
		d.frame = make([]byte, n)
		if n > keep {
			defer func() { d.frame = nil }()
		}
	}
	frame := d.frame
	if _, err := io.ReadFull(d.r, frame); err != nil {
		return nil, fmt.Errorf("reading %d-byte frame: %w", n, err)
	}
	return frame, nil
}

// decodeFrame decodes one request frame (without its length prefix): the
// RpcRequestHeaderProto, then by call id the connection context or the
// RequestHeaderProto and the request body. It checks what does not depend on
// the connection's state.
func decodeFrame(frame []byte) (*inbound, error) {
	hb, rest, err := splitDelimited(frame)
	if err != nil {
		return nil, newFatal(codeDeserializing, classRPCServerException,
			"Error decoding RpcRequestHeaderProto: %v", err)
	}
	h := &commonpb.RpcRequestHeaderProto{}
	if err := proto.Unmarshal(hb, h); err != nil {
		return nil, newFatal(codeDeserializing, classRPCServerException,
			"Error decoding RpcRequestHeaderProto: %v", err)
	}
	in := &inbound{header: h}
	switch {
	case h.RpcOp == nil:
		return nil, headerFatal(h, "IPC Server: No rpc op in rpcRequestHeader")
	case h.GetRpcOp() != commonpb.RpcRequestHeaderProto_RPC_FINAL_PACKET:
		return nil, headerFatal(h, "IPC Server does not implement rpc header operation %s", h.GetRpcOp())
	case h.RpcKind == nil:
		return nil, headerFatal(h, "IPC Server: No rpc kind in rpcRequestHeader")
	}

	switch callID := h.GetCallId(); {
	case callID == connectionContextCallID:
		b, _, err := splitDelimited(rest)
		if err == nil {
			in.context = &commonpb.IpcConnectionContextProto{}
			err = proto.Unmarshal(b, in.context)
		}
		if err != nil {
			return nil, deserializingFatal(h, "Error decoding IpcConnectionContextProto: %v", err)
		}
	case callID == pingCallID:
	case callID == saslCallID:
		return nil, headerFatal(h, "SASL protocol not requested by client")
	case callID < 0:
		return nil, headerFatal(h, "Unknown out of band call #%d", callID)
	default:
		if h.GetRpcKind() != commonpb.RpcKindProto_RPC_PROTOCOL_BUFFER {
			return nil, headerFatal(h, "Unknown rpc kind in rpc header %s", h.GetRpcKind())
		}
		b, rest, err := splitDelimited(rest)
		if err == nil {
			in.request = &commonpb.RequestHeaderProto{}
			err = proto.Unmarshal(b, in.request)
		}
		if err != nil {
			return nil, deserializingFatal(h, "Error decoding RequestHeaderProto: %v", err)
		}
		// A missing body is an empty message, as the Java server reads it.
		if len(rest) > 0 {
			if in.body, _, err = splitDelimited(rest); err != nil {
				return nil, deserializingFatal(h, "IPC server unable to read call parameters: %v", err)
			}
		}
	}
	return in, nil
}

func headerFatal(h *commonpb.RpcRequestHeaderProto, format string, args ...any) *fatalError {
	fe := newFatal(codeInvalidRPCHeader, classRPCServerException, format, args...)
	fe.callID, fe.retryCount, fe.clientID = h.GetCallId(), h.GetRetryCount(), h.GetClientId()
	return fe
}

func deserializingFatal(h *commonpb.RpcRequestHeaderProto, format string, args ...any) *fatalError {
	fe := headerFatal(h, format, args...)
	fe.code = codeDeserializing
	return fe
}

// splitDelimited splits a varint-length-prefixed message off the front of b.
func splitDelimited(b []byte) (msg, rest []byte, err error) {
	n, k := protowire.ConsumeVarint(b)
	if k < 0 {
		if len(b) == 0 {
			return nil, nil, errors.New("missing message")
		}
		return nil, nil, fmt.Errorf("bad length prefix: %w", protowire.ParseError(k))
	}
	if n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("message of %d bytes truncated to %d", n, len(b)-k)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// appendFrame appends a frame holding msgs, each varint-length-prefixed, after
// a 4-byte big-endian length. Nil messages are skipped.
func appendFrame(buf []byte, msgs ...proto.Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	for _, m := range msgs {
		if m == nil {
			continue
		}
		// proto.Size fills the size cache that MarshalAppend then reuses.
		buf = protowire.AppendVarint(buf, uint64(proto.Size(m)))
		var err error
		if buf, err = (proto.MarshalOptions{UseCachedSize: true}).MarshalAppend(buf, m); err != nil {
			return buf[:start], err
		}
	}
	n := len(buf) - start - 4
	if n > 1<<31-1 {
		return buf[:start], fmt.Errorf("frame of %d bytes is too long", n)
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(n))
	return buf, nil
}

// responseHeader builds the header of a response to call callID.
func responseHeader(callID, retryCount int32, clientID []byte, status commonpb.RpcResponseHeaderProto_RpcStatusProto) *commonpb.RpcResponseHeaderProto {
	return &commonpb.RpcResponseHeaderProto{
		// The field is uint32 on the wire; -1 travels as 0xFFFFFFFF, as in Java.
		CallId:              proto.Uint32(uint32(callID)),
		Status:              status.Enum(),
		ServerIpcVersionNum: proto.Uint32(uint32(ipcVersion)),
		ClientId:            clientID,
		RetryCount:          proto.Int32(retryCount),
	}
}

// errorHeader builds the header of an ERROR or FATAL response.
func errorHeader(callID, retryCount int32, clientID []byte, code rpcCode, class, msg string) *commonpb.RpcResponseHeaderProto {
	status := commonpb.RpcResponseHeaderProto_ERROR
	if code >= commonpb.RpcResponseHeaderProto_FATAL_UNKNOWN {
		status = commonpb.RpcResponseHeaderProto_FATAL
	}
	h := responseHeader(callID, retryCount, clientID, status)
	h.ExceptionClassName = proto.String(class)
	h.ErrorMsg = proto.String(msg)
	h.ErrorDetail = code.Enum()
	return h
}
