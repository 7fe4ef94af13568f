package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/wiremessage"
)

// The MongoDB wire protocol as far as the write-serialising proxy needs it: framing, and
// just enough parsing to tell a command that may change data from one that only reads.

const (
	headerLen = 16
	// MongoDB and FerretDB both advertise maxMessageSizeBytes = 48,000,000. 48 MiB leaves
	// slack, so the proxy is never the one to refuse a message the server would take.
	maxMessageLen = 48 << 20
	// A connection keeps its message buffer between messages unless it grew past this,
	// so that one bulk insert does not pin megabytes for the connection's lifetime.
	keepBufferCap = 1 << 20
	// opQuery is the legacy OP_QUERY. The driver deprecates its constant because commands
	// belong in OP_MSG, but it still sends its first hello on a connection this way.
	opQuery wiremessage.OpCode = 2004
)

var (
	errMalformed = errors.New("malformed wire message")
	errNoCommand = errors.New("wire message carries no command document")
)

// readMessage reads one whole wire message into buf and returns it; the bytes are valid
// until the next call with the same buf. The buffer grows with the bytes that actually
// arrive, so a lying length field costs no more memory than the data sent.
func readMessage(r io.Reader, buf *bytes.Buffer) ([]byte, error) {
	if buf.Cap() > keepBufferCap {
		*buf = bytes.Buffer{}
	}
	buf.Reset()
	if _, err := io.CopyN(buf, r, headerLen); err != nil {
		return nil, fmt.Errorf("read message header: %w", err)
	}
	length, _, _, _, _, _ := wiremessage.ReadHeader(buf.Bytes())
	if length < headerLen || length > maxMessageLen {
		return nil, fmt.Errorf("%w: length %d outside [%d, %d]", errMalformed, length, headerLen, maxMessageLen)
	}
	if _, err := io.CopyN(buf, r, int64(length-headerLen)); err != nil {
		return nil, fmt.Errorf("read message body: %w", err)
	}
	return buf.Bytes(), nil
}

// request is what the proxy needs to know about a message from a client.
type request struct {
	// exclusive: the command may change data, so it runs while no other such command does.
	exclusive bool
	// moreToCome: the client expects no reply (an unacknowledged write).
	moreToCome bool
	// indexDB and indexColl name the collection the command may have created, which then
	// gets the _id lookup index (see idIndexer); forget: the command may drop collections.
	indexDB, indexColl string
	forget             bool
	// narrowable: an update, delete or findAndModify, whose filter the proxy may narrow
	// to the document's _id (narrow.go).
	narrowable bool
}

// inspect classifies a whole wire message from a client. Only OP_MSG and OP_QUERY (which
// drivers still use for the first hello) are accepted: for any other opcode the proxy
// could not tell how many replies follow.
func inspect(msg []byte) (request, error) {
	_, _, _, opcode, body, ok := wiremessage.ReadHeader(msg)
	if !ok {
		return request{}, fmt.Errorf("%w: short header", errMalformed)
	}
	var (
		req request
		cmd bson.Raw
		err error
	)
	switch opcode {
	case wiremessage.OpMsg:
		flags, sections, ok := wiremessage.ReadMsgFlags(body)
		if !ok {
			return request{}, fmt.Errorf("%w: OP_MSG without flags", errMalformed)
		}
		if flags&wiremessage.ChecksumPresent != 0 {
			if len(sections) < 4 {
				return request{}, fmt.Errorf("%w: OP_MSG without its checksum", errMalformed)
			}
			sections = sections[:len(sections)-4]
		}
		req.moreToCome = flags&wiremessage.MoreToCome != 0
		cmd, err = msgCommand(sections)
	case opQuery:
		cmd, err = queryCommand(body)
	default:
		return request{}, fmt.Errorf("%w: unsupported opcode %s", errMalformed, opcode)
	}
	if err != nil {
		return request{}, err
	}
	req.exclusive, err = mayChangeData(cmd)
	if err != nil {
		return request{}, err
	}
	if req.exclusive {
		req.indexDB, req.indexColl = indexTarget(cmd)
		req.forget = dropsCollections(cmd)
		req.narrowable = opcode == wiremessage.OpMsg && isFilteredWrite(cmd)
	}
	return req, nil
}

// msgCommand finds the body section (kind 0) among an OP_MSG's sections; the document
// sequences (kind 1) hold only bulk arguments such as the documents of an insert.
func msgCommand(sections []byte) (bson.Raw, error) {
	for len(sections) > 0 {
		kind, rest, _ := wiremessage.ReadMsgSectionType(sections)
		switch kind {
		case wiremessage.SingleDocument:
			doc, _, ok := wiremessage.ReadMsgSectionSingleDocument(rest)
			if !ok {
				return nil, fmt.Errorf("%w: truncated OP_MSG body section", errMalformed)
			}
			return bson.Raw(doc), nil
		case wiremessage.DocumentSequence:
			_, _, next, ok := wiremessage.ReadMsgSectionRawDocumentSequence(rest)
			if !ok {
				return nil, fmt.Errorf("%w: truncated OP_MSG document sequence", errMalformed)
			}
			sections = next
		default:
			return nil, fmt.Errorf("%w: OP_MSG section kind %d", errMalformed, kind)
		}
	}
	return nil, errNoCommand
}

// queryCommand returns the query document of an OP_QUERY: after the flags, the
// NUL-terminated collection name, numberToSkip and numberToReturn.
func queryCommand(body []byte) (bson.Raw, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: OP_QUERY without flags", errMalformed)
	}
	body = body[4:]
	end := bytes.IndexByte(body, 0)
	if end < 0 || len(body) < end+1+8 {
		return nil, fmt.Errorf("%w: truncated OP_QUERY", errMalformed)
	}
	doc, _, ok := bsoncore.ReadDocument(body[end+1+8:])
	if !ok {
		return nil, fmt.Errorf("%w: truncated OP_QUERY document", errMalformed)
	}
	return bson.Raw(doc), nil
}

// mayChangeData reports whether a command may change data. The command is the first key
// of the document. Commands known to only read are listed; anything else, including
// commands this list has never heard of, is treated as a write, which is always safe.
func mayChangeData(cmd bson.Raw) (bool, error) {
	first, err := cmd.IndexErr(0)
	if err != nil {
		return false, fmt.Errorf("%w: read command name: %w", errNoCommand, err)
	}
	name, err := first.KeyErr()
	if err != nil {
		return false, fmt.Errorf("%w: read command name: %w", errNoCommand, err)
	}
	switch name {
	case "aggregate":
		return writesOutput(cmd), nil
	case "find", "getMore", "killCursors", "count", "distinct", "explain",
		"listCollections", "listIndexes", "listDatabases", "listCommands",
		"collStats", "dbStats", "dbstats", "dataSize", "validate", "currentOp",
		"hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo",
		"hostInfo", "serverStatus", "getParameter", "getCmdLineOpts", "getLog",
		"getFreeMonitoringStatus", "connectionStatus", "whatsmyuri",
		"saslStart", "saslContinue", "logout", "endSessions":
		return false, nil
	default:
		return true, nil
	}
}

// writesOutput reports whether an aggregation ends in $out or $merge, the stages that
// write (they must be last). FerretDB v1 refuses both, but the classification should not
// depend on that. A pipeline it cannot read counts as writing.
func writesOutput(cmd bson.Raw) bool {
	pipeline, ok := cmd.Lookup("pipeline").ArrayOK()
	if !ok {
		return true
	}
	stages, err := pipeline.Values()
	if err != nil {
		return true
	}
	if len(stages) == 0 {
		return false
	}
	last, ok := stages[len(stages)-1].DocumentOK()
	if !ok {
		return true
	}
	stage, err := last.IndexErr(0)
	if err != nil {
		return true
	}
	name, err := stage.KeyErr()
	return err != nil || name == "$out" || name == "$merge"
}

// appendMsg appends an OP_MSG with a single body section holding doc, which must be a
// well-formed document: the message length is taken from the document's own.
func appendMsg(dst []byte, requestID, responseTo int32, flags wiremessage.MsgFlag, doc bsoncore.Document) []byte {
	docLen, _, _ := bsoncore.ReadLength(doc)
	// header, flags, section kind, document
	dst = wiremessage.AppendHeader(dst, headerLen+4+1+docLen, requestID, responseTo, wiremessage.OpMsg)
	dst = wiremessage.AppendMsgFlags(dst, flags)
	dst = wiremessage.AppendMsgSectionType(dst, wiremessage.SingleDocument)
	return append(dst, doc...)
}

// fenceCommand is the ping the proxy sends after a message the client expects no reply
// to: the server answers a connection's messages in order, so the ping's reply shows the
// earlier message has been carried out.
func fenceCommand() bsoncore.Document {
	return bsoncore.NewDocumentBuilder().AppendInt32("ping", 1).AppendString("$db", "admin").Build()
}
