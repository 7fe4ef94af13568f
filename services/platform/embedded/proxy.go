package embedded

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/wiremessage"
)

const (
	dialTimeout = 5 * time.Second
	// Accept errors other than a closed listener (such as running out of file
	// descriptors) pass; the proxy backs off meanwhile instead of spinning.
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// proxy stands between the clients and FerretDB and lets only one command that may change
// data run at a time. FerretDB v1 carries out update and findAndModify as a read, a change
// in Go and a separate write, so concurrent writers would overwrite each other; MongoDB
// makes every single-document write atomic and the services rely on that. SQLite admits
// one writer at a time anyway, so serialising writes costs little. Reads are not held up.
// Under the same lock it narrows a write whose filter pairs _id with other conditions to
// the _id alone, which FerretDB then looks up instead of scanning (narrow.go).
type proxy struct {
	listener net.Listener
	// upstream is FerretDB's Unix domain socket.
	upstream string
	// ids indexes the _id lookups of each new collection (nil: no data folder known).
	ids *idIndexer

	// writeMu is held by the command that may change data, from sending it to FerretDB
	// until FerretDB has answered.
	writeMu sync.Mutex

	mu     sync.Mutex // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup
}

// startProxy listens on the Unix domain socket path and relays connections to the one at
// upstream.
func startProxy(path, upstream string, ids *idIndexer) (*proxy, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	p := &proxy{listener: ln, upstream: upstream, ids: ids, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *proxy) addr() string {
	return p.listener.Addr().String()
}

// close stops accepting, drops every client and upstream connection and waits for the
// relays to end. Only the first call does anything.
func (p *proxy) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.listener.Close()
	for c := range p.conns {
		// The connection is being dropped; how its closing went does not matter.
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if err != nil {
		err = fmt.Errorf("close proxy listener: %w", err)
	}
	if p.ids != nil {
		err = errors.Join(err, p.ids.close())
	}
	return err
}

func (p *proxy) accept() {
	backoff := minAcceptBackoff
	for {
		client, err := p.listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(backoff)
			backoff = min(2*backoff, maxAcceptBackoff)
			continue
		}
		backoff = minAcceptBackoff
		p.wg.Go(func() { p.relay(client) })
	}
}

// track registers a connection for close to drop; false means the proxy is closing and
// the connection has been closed.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// relay serves one client connection over its own upstream connection until either side
// closes it or sends something that is not a well-formed wire message.
func (p *proxy) relay(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.DialTimeout("unix", p.upstream, dialTimeout)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	c := &relayConn{
		proxy:   p,
		client:  client,
		server:  server,
		fromCli: bufio.NewReader(client),
		fromSrv: bufio.NewReader(server),
		fence:   fenceCommand(),
	}
	for {
		// The error only says why the connection ends; the driver sees it dropped.
		if err := c.exchange(); err != nil {
			return
		}
	}
}

// relayConn is one client connection paired with its upstream connection. A driver sends
// a request on a connection only after the previous one has been answered, so the relay
// handles one exchange at a time.
type relayConn struct {
	proxy            *proxy
	client, server   net.Conn
	fromCli, fromSrv *bufio.Reader
	buf              bytes.Buffer
	// checkBuf holds the reply to a narrowing check, which must not overwrite the
	// request in buf.
	checkBuf bytes.Buffer
	fence    bsoncore.Document
	fenceMsg []byte
	fenceID  int32
}

// exchange relays one request and everything the server sends back for it.
func (c *relayConn) exchange() error {
	msg, err := readMessage(c.fromCli, &c.buf)
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	req, err := inspect(msg)
	if err != nil {
		return fmt.Errorf("inspect request: %w", err)
	}
	reply, err := c.execute(msg, req)
	if err != nil || reply == nil {
		return err
	}
	for {
		if _, err := c.client.Write(reply); err != nil {
			return fmt.Errorf("relay reply: %w", err)
		}
		// A reply flagged moreToCome (an exhaust cursor, a streaming hello) is followed
		// by further replies to the same request without the client asking again.
		if !wiremessage.IsMsgMoreToCome(reply) {
			return nil
		}
		if reply, err = readMessage(c.fromSrv, &c.buf); err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
	}
}

// execute sends a request upstream and returns the server's first reply, or nil if the
// client expects none. A command that may change data holds the write lock until the
// server has answered; the lock is released before the reply goes back to the client,
// because the server has finished the command by then and a slow client must not hold
// up everyone else's writes.
func (c *relayConn) execute(msg []byte, req request) ([]byte, error) {
	if req.exclusive {
		c.proxy.writeMu.Lock()
		defer c.proxy.writeMu.Unlock()
	}
	if req.narrowable && !req.moreToCome {
		if n := narrowable(msg); n != nil {
			narrowed, err := c.narrow(msg, n)
			if err != nil {
				return nil, err
			}
			if narrowed != nil {
				msg = narrowed
			}
		}
	}
	if _, err := c.server.Write(msg); err != nil {
		return nil, fmt.Errorf("forward request: %w", err)
	}
	if !req.moreToCome {
		reply, err := readMessage(c.fromSrv, &c.buf)
		if err != nil {
			return nil, fmt.Errorf("read reply: %w", err)
		}
		c.afterWrite(req)
		return reply, nil
	}
	err := c.awaitFence()
	c.afterWrite(req)
	return nil, err
}

// narrow returns msg with its filter narrowed to an _id alone, which FerretDB looks up
// without a scan (narrow.go): to the document's own _id if that document matches the
// whole filter; for an upsert that matched nothing, to that _id if the document is
// absent and the filter adds no field to the one inserted (insertsOnlyID); for any other
// write that matched nothing, to an _id the collection does not hold, so that nothing
// matches; and msg itself when a check fails or no such _id is at hand. It runs under the
// write lock, so what the checks found still holds when the write runs.
func (c *relayConn) narrow(msg []byte, n *narrowing) ([]byte, error) {
	found, answered, err := c.exists(check(n.db, n.coll, n.id, n.filter))
	switch {
	case err != nil:
		return nil, err
	case !answered:
		return msg, nil
	case found:
		return n.rewrite(idFilter(n.id)), nil
	}
	target := absentCandidate(n.id)
	if n.upsert {
		// A present document that does not match makes the upsert's insert collide, as
		// sent; narrowed to its _id, the upsert would change it instead.
		if !insertsOnlyID(n.filter) {
			return msg, nil
		}
		target = n.id
	}
	found, answered, err = c.exists(check(n.db, n.coll, target, nil))
	switch {
	case err != nil:
		return nil, err
	case !answered || found:
		return msg, nil
	}
	return n.rewrite(idFilter(target)), nil
}

// exists sends a narrowing check and reads whether it found a document and whether it
// answered at all (checkResult).
func (c *relayConn) exists(check bsoncore.Document) (found, answered bool, err error) {
	c.fenceID--
	if _, err := c.server.Write(appendMsg(nil, c.fenceID, 0, 0, check)); err != nil {
		return false, false, fmt.Errorf("send narrowing check: %w", err)
	}
	reply, err := readMessage(c.fromSrv, &c.checkBuf)
	if err != nil {
		return false, false, fmt.Errorf("read narrowing check reply: %w", err)
	}
	if _, _, responseTo, _, _, _ := wiremessage.ReadHeader(reply); responseTo != c.fenceID {
		return false, false, fmt.Errorf("%w: narrowing check answered out of turn", errMalformed)
	}
	found, answered = checkResult(reply)
	return found, answered, nil
}

// afterWrite gives a collection the write may have created its _id lookup index, still
// under the write lock. A failure only leaves reads by _id scanning, as FerretDB's own
// index does, so it does not fail the client's command.
func (c *relayConn) afterWrite(req request) {
	ids := c.proxy.ids
	switch {
	case ids == nil:
	case req.forget:
		ids.forget()
	case req.indexDB != "":
		_ = ids.ensure(req.indexDB, req.indexColl)
	}
}

// awaitFence sends a ping after a request the client expects no reply to and discards
// everything up to the ping's reply. That keeps the write lock until the unacknowledged
// write is done, and it drops the reply FerretDB v1 sends even to such requests, which
// would otherwise reach the client as the answer to its next one.
func (c *relayConn) awaitFence() error {
	// Drivers number their requests upwards from 1, so negative ids do not collide.
	// Narrowing checks draw from the same numbers.
	c.fenceID--
	c.fenceMsg = appendMsg(c.fenceMsg[:0], c.fenceID, 0, 0, c.fence)
	if _, err := c.server.Write(c.fenceMsg); err != nil {
		return fmt.Errorf("send fence: %w", err)
	}
	for {
		reply, err := readMessage(c.fromSrv, &c.buf)
		if err != nil {
			return fmt.Errorf("read fence reply: %w", err)
		}
		if _, _, responseTo, _, _, _ := wiremessage.ReadHeader(reply); responseTo == c.fenceID {
			return nil
		}
	}
}
