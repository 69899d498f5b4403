package rpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// FuzzFrameDecoder feeds arbitrary bytes to the server's decoder as one
// connection's stream: preamble, then frames. It must never panic, and each
// step must give either a well-formed call or an error the server knows how
// to answer.
//
// The seed corpus is testdata/fuzz/FuzzFrameDecoder (see TestWriteFuzzSeeds).
func FuzzFrameDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(bufio.NewReader(bytes.NewReader(data)), 4096, "fuzz")
		if err := d.readPreamble(); err != nil {
			checkDecodeError(t, err)
			return
		}
		for {
			in, err := d.next()
			if err != nil {
				checkDecodeError(t, err)
				return
			}
			checkInbound(t, in)
		}
	})
}

// checkDecodeError checks that err is one the server handles: a protocol
// error it can answer, the HTTP hint, or the end of the input.
func checkDecodeError(t *testing.T, err error) {
	var fe *fatalError
	switch {
	case errors.As(err, &fe):
		if fe.code == 0 {
			return // disconnect without an answer
		}
		if fe.code < commonpb.RpcResponseHeaderProto_FATAL_UNKNOWN || fe.class == "" || fe.msg == "" {
			t.Fatalf("fatal error without a proper answer: %+v", fe)
		}
		if _, err := appendFrame(nil, errorHeader(fe.callID, fe.retryCount, fe.clientID, fe.code, fe.class, fe.msg)); err != nil {
			t.Fatalf("FATAL answer cannot be encoded: %v", err)
		}
	case errors.Is(err, errHTTPOnIPCPort), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	default:
		t.Fatalf("unexpected error %T: %v", err, err)
	}
}

// checkInbound checks that a decoded frame is what the server relies on.
func checkInbound(t *testing.T, in *inbound) {
	h := in.header
	if h == nil || h.CallId == nil || h.ClientId == nil || h.RpcKind == nil ||
		h.GetRpcOp() != commonpb.RpcRequestHeaderProto_RPC_FINAL_PACKET {
		t.Fatalf("bad header accepted: %v", h)
	}
	if _, err := proto.Marshal(h); err != nil {
		t.Fatalf("accepted header does not re-encode: %v", err)
	}
	switch id := h.GetCallId(); {
	case id == connectionContextCallID:
		if in.context == nil || in.request != nil {
			t.Fatalf("connection context frame decoded as %+v", in)
		}
	case id == pingCallID:
		if in.context != nil || in.request != nil {
			t.Fatalf("ping decoded as %+v", in)
		}
	case id >= 0:
		if in.request == nil || in.context != nil || h.GetRpcKind() != commonpb.RpcKindProto_RPC_PROTOCOL_BUFFER {
			t.Fatalf("call decoded as %+v", in)
		}
		// The body decodes or fails cleanly, as the server does it.
		_ = proto.Unmarshal(in.body, &hdfspb.GetFileInfoRequestProto{})
	default:
		t.Fatalf("out-of-band call id %d accepted", id)
	}
}

type fuzzSeed struct {
	name string
	data []byte
}

// fuzzSeeds are valid and invalid streams, written to
// testdata/fuzz/FuzzFrameDecoder by TestWriteFuzzSeeds.
func fuzzSeeds() []fuzzSeed {
	frame := func(msgs ...proto.Message) []byte {
		b, err := appendFrame(nil, msgs...)
		if err != nil {
			panic(err)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	preamble := []byte{'h', 'r', 'p', 'c', ipcVersion, 0, authNone}
	ctxFrame := frame(rpcHeader(connectionContextCallID), &commonpb.IpcConnectionContextProto{
		UserInfo: &commonpb.UserInformationProto{EffectiveUser: proto.String("alice"), RealUser: proto.String("hue")},
		Protocol: proto.String(clientProtocol),
	})
	call := frame(rpcHeader(1), requestHeader(clientProtocol, "getFileInfo"),
		&hdfspb.GetFileInfoRequestProto{Src: proto.String("/user/alice")})
	ping := frame(rpcHeader(pingCallID))
	return []fuzzSeed{
		{"session", cat(preamble, ctxFrame, call, ping, call)},
		{"context-only", cat(preamble, ctxFrame)},
		{"call-without-context", cat(preamble, call)},
		{"bad-magic", []byte("hrpx\x09\x00\x00")},
		{"sasl", []byte("hrpc\x09\x00\xdf")},
		{"old-version", []byte("hrpc\x07\x00\x00")},
		{"http", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"oversized", cat(preamble, ctxFrame, []byte{0x7f, 0xff, 0xff, 0xff})},
		{"negative-length", cat(preamble, []byte{0x80, 0, 0, 0})},
		{"truncated-header", cat(preamble, []byte{0, 0, 0, 3, 50, 0x08, 0x02})},
		{"garbage-header", cat(preamble, []byte{0, 0, 0, 5, 4, 0xff, 0xff, 0xff, 0xff})},
		{"truncated-frame", cat(preamble, ctxFrame, call[:len(call)-3])},
	}
}

// TestWriteFuzzSeeds rewrites the committed seed corpus from fuzzSeeds when
// HDFSHA_WRITE_FUZZ_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("HDFSHA_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set HDFSHA_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzFrameDecoder")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzFrameDecoder")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.data)
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPingFrameBytes checks the example drawn in doc.go.
func TestPingFrameBytes(t *testing.T) {
	clientID := []byte("0123456789abcdef")
	h := rpcHeader(pingCallID)
	h.ClientId = clientID
	h.RetryCount = proto.Int32(invalidRetryCount)
	got, err := appendFrame(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 0x1b, 0x1a, 0x08, 0x02, 0x10, 0x00, 0x18, 0x07, 0x22, 0x10}
	want = append(want, clientID...)
	want = append(want, 0x28, 0x01)
	if !bytes.Equal(got, want) {
		t.Fatalf("ping frame\n got % x\nwant % x", got, want)
	}
}
