// Package rawws is a minimal WebSocket client for holding very many idle
// connections from one load process: a connection is a bare net.Conn with no
// goroutine and no buffer of its own once its handshake and join are done.
// Only what the harness needs is implemented: the client handshake, masked
// text frames out, unmasked frames in (no fragmentation, no extensions).
package rawws

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// Handshake upgrades conn to a WebSocket on path (host is the Host header).
// br is a reader over conn that the caller keeps using for frames.
func Handshake(conn net.Conn, br *bufio.Reader, host, path string) error {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return err
	}
	status, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		return fmt.Errorf("rawws: handshake refused: %s", strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

// Dial connects from local (may be nil) to addr and performs the handshake.
func Dial(ctx context.Context, local net.Addr, addr, path string, br *bufio.Reader) (net.Conn, error) {
	d := net.Dialer{LocalAddr: local}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	br.Reset(conn)
	if err := Handshake(conn, br, addr, path); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// WriteText writes one masked text frame with a random masking key.
func WriteText(w io.Writer, payload []byte) error {
	var key [4]byte
	rand.Read(key[:])
	_, err := w.Write(AppendText(make([]byte, 0, 14+len(payload)), payload, key))
	return err
}

// AppendText appends payload as a text frame masked with key.
func AppendText(b, payload []byte, key [4]byte) []byte {
	b = append(b, 0x81)
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= key[i&3]
	}
	return b
}

// ErrClosed is returned by ReadFrame for a close frame.
var ErrClosed = errors.New("rawws: close frame received")

// ReadFrame reads one data frame (text or binary), skipping pings and pongs.
func ReadFrame(br *bufio.Reader) ([]byte, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return nil, err
		}
		op := h[0] & 0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if h[1]&0x80 != 0 {
			return nil, errors.New("rawws: masked frame from server")
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("rawws: frame of %d bytes", n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, err
		}
		switch op {
		case 0x1, 0x2:
			return data, nil
		case 0x8:
			return nil, ErrClosed
		}
	}
}
