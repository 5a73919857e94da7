package httpapi

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func frame(typ, flags byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, 0, 0, 0, 1}, payload...)
}

// Only the client's first SETTINGS ACK is dropped, whatever sizes the
// reads come in; every other byte passes unchanged.
func TestSettingsAckDropConn(t *testing.T) {
	settings := frame(frameSettings, 0, []byte{0, 3, 0, 0, 0, 100})
	ack := frame(frameSettings, frameFlagAck, nil)
	headers := frame(0x1, 0x4, bytes.Repeat([]byte{7}, 300))
	var in, want []byte
	in = append(in, http2Preface...)
	in = append(in, settings...)
	in = append(in, ack...) // the mux's settings: dropped
	in = append(in, headers...)
	in = append(in, ack...) // the HTTP server's settings: kept
	want = append(want, http2Preface...)
	want = append(want, settings...)
	want = append(want, headers...)
	want = append(want, ack...)

	for _, chunk := range []int{1, 5, 9, 64, len(in)} {
		client, server := net.Pipe()
		go func() {
			for rest := in; len(rest) > 0; {
				k := min(chunk, len(rest))
				_, _ = client.Write(rest[:k])
				rest = rest[k:]
			}
			_ = client.Close()
		}()
		c := &settingsAckDropConn{Conn: server, preface: len(http2Preface)}
		got, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, want, got, "writes of %d bytes", chunk)
	}
}
