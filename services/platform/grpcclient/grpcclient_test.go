package grpcclient_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/devpki"
	"github.com/lillvet/register/services/platform/grpcclient"
	"github.com/lillvet/register/services/platform/telemetry"
	"github.com/lillvet/register/services/platform/tlsconf"
)

func TestWaitReadyHonoursContext(t *testing.T) {
	files, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A port that was free a moment ago: nothing answers there.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}

	conn, err := grpcclient.Dial(addr, files, telemetry.Noop(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := grpcclient.WaitReady(ctx, conn); err == nil {
		t.Fatal("WaitReady succeeded without a server")
	}
}

func TestDialRejectsBadTLSFiles(t *testing.T) {
	_, err := grpcclient.Dial("127.0.0.1:1", tlsconf.Files{CAFile: "/nonexistent/ca.pem"}, telemetry.Noop(nil))
	if err == nil {
		t.Fatal("Dial with a missing CA file succeeded")
	}
}
