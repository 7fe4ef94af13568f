package embedded

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/wiremessage"
)

// ioTimeout only keeps a broken proxy from hanging the test; nothing waits for it.
const ioTimeout = 10 * time.Second

// socketDir is a private folder for the test's sockets, short enough for a socket path
// (t.TempDir's may not be).
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := privateSocketDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// startFakeUpstream serves what MongoDB does but FerretDB v1 does not: it sends no reply
// to a request flagged moreToCome, and answers "stream" with three replies, the first two
// flagged moreToCome, as an exhaust cursor would. It listens in dir.
func startFakeUpstream(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(dir, ferretDBSocket))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveFake(conn)
		}
	}()
	return ln.Addr().String()
}

// serveFake answers until the proxy hangs up. On anything unexpected it hangs up itself,
// which the test sees as a failed read.
func serveFake(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	var buf bytes.Buffer
	for {
		msg, err := readMessage(conn, &buf)
		if err != nil {
			return
		}
		_, requestID, _, _, body, _ := wiremessage.ReadHeader(msg)
		flags, sections, _ := wiremessage.ReadMsgFlags(body)
		if flags&wiremessage.MoreToCome != 0 {
			continue
		}
		cmd, err := msgCommand(sections)
		if err != nil {
			return
		}
		replies := 1
		if cmd.Index(0).Key() == "stream" {
			replies = 3
		}
		for i := range replies {
			var replyFlags wiremessage.MsgFlag
			if i < replies-1 {
				replyFlags = wiremessage.MoreToCome
			}
			doc, err := bson.Marshal(bson.D{{Key: "ok", Value: 1}, {Key: "i", Value: i}})
			if err != nil {
				return
			}
			if _, err := conn.Write(appendMsg(nil, 0, requestID, replyFlags, doc)); err != nil {
				return
			}
		}
	}
}

func dialProxy(t *testing.T, p *proxy) net.Conn {
	t.Helper()
	conn, err := net.Dial("unix", p.addr())
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	return conn
}

func send(t *testing.T, conn net.Conn, msg []byte) {
	t.Helper()
	if _, err := conn.Write(msg); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// receive reads one reply and checks which request it answers.
func receive(t *testing.T, conn net.Conn, buf *bytes.Buffer, wantResponseTo int32) []byte {
	t.Helper()
	reply, err := readMessage(conn, buf)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if _, _, responseTo, _, _, _ := wiremessage.ReadHeader(reply); responseTo != wantResponseTo {
		t.Fatalf("reply answers request %d, want %d", responseTo, wantResponseTo)
	}
	return reply
}

// startTestProxy runs a proxy in front of the fake upstream until the test ends.
func startTestProxy(t *testing.T) *proxy {
	t.Helper()
	dir := socketDir(t)
	p, err := startProxy(filepath.Join(dir, proxySocket), startFakeUpstream(t, dir), nil)
	if err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(func() {
		if err := p.close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	return p
}

func TestProxyRelaysByTheFlags(t *testing.T) {
	p := startTestProxy(t)
	conn := dialProxy(t, p)
	var buf bytes.Buffer

	// The unacknowledged insert gets no reply, so the next reply the client sees answers
	// its ping (the fence's reply stays with the proxy).
	send(t, conn, opMsg(t, 1, wiremessage.MoreToCome, bson.D{{Key: "insert", Value: "c"}}))
	send(t, conn, opMsg(t, 2, 0, bson.D{{Key: "ping", Value: 1}}))
	if reply := receive(t, conn, &buf, 2); wiremessage.IsMsgMoreToCome(reply) {
		t.Error("ping reply flagged moreToCome")
	}

	send(t, conn, opMsg(t, 3, wiremessage.ExhaustAllowed, bson.D{{Key: "stream", Value: 1}}))
	for i, wantMore := range []bool{true, true, false} {
		if reply := receive(t, conn, &buf, 3); wiremessage.IsMsgMoreToCome(reply) != wantMore {
			t.Errorf("exhaust reply %d: moreToCome = %t, want %t", i, !wantMore, wantMore)
		}
	}

	send(t, conn, opMsg(t, 4, 0, bson.D{{Key: "update", Value: "c"}}))
	receive(t, conn, &buf, 4)
}

func TestProxyDropsGarbage(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
	}{
		{name: "length below header", msg: wiremessage.AppendHeader(nil, 3, 1, 0, wiremessage.OpMsg)},
		{name: "length above limit", msg: wiremessage.AppendHeader(nil, maxMessageLen+1, 1, 0, wiremessage.OpMsg)},
		{name: "legacy OP_INSERT", msg: setLength(append(wiremessage.AppendHeader(nil, 0, 1, 0, wiremessage.OpInsert), 0, 0, 0, 0, 'c', 0))},
		{name: "OP_MSG without command", msg: opMsgSections(0)},
	}
	p := startTestProxy(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialProxy(t, p)
			send(t, conn, tt.msg)
			if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("read after garbage: %v, want the connection closed", err)
			}
		})
	}
}

func TestProxyCloseDropsClients(t *testing.T) {
	dir := socketDir(t)
	p, err := startProxy(filepath.Join(dir, proxySocket), startFakeUpstream(t, dir), nil)
	if err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	conn := dialProxy(t, p)
	var buf bytes.Buffer
	send(t, conn, opMsg(t, 1, 0, bson.D{{Key: "ping", Value: 1}}))
	receive(t, conn, &buf, 1)

	if err := p.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := p.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after close: %v, want the connection closed", err)
	}
	if conn, err := net.Dial("unix", p.addr()); err == nil {
		_ = conn.Close()
		t.Error("proxy still accepts connections after close")
	}
}
