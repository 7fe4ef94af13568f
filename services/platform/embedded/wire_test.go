package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/wiremessage"
)

func marshal(tb testing.TB, doc bson.D) []byte {
	tb.Helper()
	raw, err := bson.Marshal(doc)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return raw
}

// opMsg builds an OP_MSG with a single body section.
func opMsg(tb testing.TB, requestID int32, flags wiremessage.MsgFlag, doc bson.D) []byte {
	tb.Helper()
	return appendMsg(nil, requestID, 0, flags, marshal(tb, doc))
}

// setLength writes msg's length into its header after the test appended to it.
func setLength(msg []byte) []byte {
	n := len(msg)
	if n < headerLen || n > maxMessageLen {
		return nil
	}
	binary.LittleEndian.PutUint32(msg, uint32(n))
	return msg
}

// opMsgSections builds an OP_MSG from raw sections, each starting with its kind byte.
func opMsgSections(flags wiremessage.MsgFlag, sections ...[]byte) []byte {
	_, msg := wiremessage.AppendHeaderStart(nil, 1, 0, wiremessage.OpMsg)
	msg = wiremessage.AppendMsgFlags(msg, flags)
	for _, s := range sections {
		msg = append(msg, s...)
	}
	return setLength(msg)
}

func bodySection(tb testing.TB, doc bson.D) []byte {
	tb.Helper()
	return append([]byte{byte(wiremessage.SingleDocument)}, marshal(tb, doc)...)
}

func sequenceSection(tb testing.TB, id string, docs ...bson.D) []byte {
	tb.Helper()
	payload := append([]byte(id), 0)
	for _, d := range docs {
		payload = append(payload, marshal(tb, d)...)
	}
	n := 4 + len(payload)
	if n > maxMessageLen {
		tb.Fatalf("document sequence of %d bytes", n)
		return nil
	}
	s := []byte{byte(wiremessage.DocumentSequence)}
	s = binary.LittleEndian.AppendUint32(s, uint32(n))
	return append(s, payload...)
}

// queryMsg builds the legacy OP_QUERY drivers send for the first hello.
func queryMsg(tb testing.TB, doc bson.D) []byte {
	tb.Helper()
	_, msg := wiremessage.AppendHeaderStart(nil, 1, 0, opQuery)
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = append(msg, "admin.$cmd\x00"...)
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = binary.LittleEndian.AppendUint32(msg, 1)
	msg = append(msg, marshal(tb, doc)...)
	return setLength(msg)
}

func wireCases(tb testing.TB) []struct {
	name    string
	msg     []byte
	want    request
	wantErr bool
} {
	tb.Helper()
	cmd := func(name string) []byte {
		return opMsg(tb, 1, 0, bson.D{{Key: name, Value: "c"}, {Key: "$db", Value: "d"}})
	}
	aggregate := func(pipeline any) []byte {
		return opMsg(tb, 1, 0, bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: pipeline}})
	}
	match := bson.D{{Key: "$match", Value: bson.D{}}}
	withChecksum := append(opMsg(tb, 1, wiremessage.ChecksumPresent, bson.D{{Key: "find", Value: "c"}}), 1, 2, 3, 4)
	insertBody := bson.D{{Key: "insert", Value: "c"}, {Key: "$db", Value: "d"}}
	docs := sequenceSection(tb, "documents", bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}})
	compressed := setLength(binary.LittleEndian.AppendUint32(
		wiremessage.AppendHeader(nil, 0, 1, 0, wiremessage.OpCompressed), uint32(wiremessage.OpMsg)))

	return []struct {
		name    string
		msg     []byte
		want    request
		wantErr bool
	}{
		{name: "find", msg: cmd("find"), want: request{}},
		{name: "getMore", msg: cmd("getMore"), want: request{}},
		{name: "count", msg: cmd("count"), want: request{}},
		{name: "hello", msg: cmd("hello"), want: request{}},
		{name: "ping", msg: cmd("ping"), want: request{}},
		{name: "insert", msg: cmd("insert"), want: request{exclusive: true, indexDB: "d", indexColl: "c"}},
		{name: "update", msg: cmd("update"), want: request{exclusive: true, indexDB: "d", indexColl: "c", narrowable: true}},
		{name: "delete", msg: cmd("delete"), want: request{exclusive: true, narrowable: true}},
		{name: "findAndModify", msg: cmd("findAndModify"), want: request{exclusive: true, indexDB: "d", indexColl: "c", narrowable: true}},
		{name: "legacy findandmodify", msg: cmd("findandmodify"), want: request{exclusive: true, indexDB: "d", indexColl: "c", narrowable: true}},
		{name: "createIndexes", msg: cmd("createIndexes"), want: request{exclusive: true, indexDB: "d", indexColl: "c"}},
		{name: "dropIndexes", msg: cmd("dropIndexes"), want: request{exclusive: true}},
		{name: "drop", msg: cmd("drop"), want: request{exclusive: true, forget: true}},
		{name: "create", msg: cmd("create"), want: request{exclusive: true, indexDB: "d", indexColl: "c"}},
		{name: "dropDatabase", msg: cmd("dropDatabase"), want: request{exclusive: true, forget: true}},
		{name: "renameCollection", msg: cmd("renameCollection"), want: request{exclusive: true, forget: true}},
		{name: "unknown command", msg: cmd("someFutureCommand"), want: request{exclusive: true}},
		{name: "aggregate", msg: aggregate(bson.A{match}), want: request{}},
		{name: "aggregate, empty pipeline", msg: aggregate(bson.A{}), want: request{}},
		{name: "aggregate $out", msg: aggregate(bson.A{match, bson.D{{Key: "$out", Value: "x"}}}), want: request{exclusive: true}},
		{name: "aggregate $merge", msg: aggregate(bson.A{bson.D{{Key: "$merge", Value: "x"}}}), want: request{exclusive: true}},
		{name: "aggregate, unreadable pipeline", msg: aggregate("x"), want: request{exclusive: true}},
		{
			name: "unacknowledged insert",
			msg:  opMsg(tb, 1, wiremessage.MoreToCome, bson.D{{Key: "insert", Value: "c"}}),
			want: request{exclusive: true, moreToCome: true},
		},
		{name: "find with checksum", msg: setLength(withChecksum), want: request{}},
		{name: "insert with document sequence", msg: opMsgSections(0, bodySection(tb, insertBody), docs), want: request{exclusive: true, indexDB: "d", indexColl: "c"}},
		{name: "document sequence first", msg: opMsgSections(0, docs, bodySection(tb, insertBody)), want: request{exclusive: true, indexDB: "d", indexColl: "c"}},
		{name: "OP_QUERY isMaster", msg: queryMsg(tb, bson.D{{Key: "isMaster", Value: 1}}), want: request{}},
		{name: "OP_QUERY other command", msg: queryMsg(tb, bson.D{{Key: "insert", Value: "c"}}), want: request{exclusive: true}},
		{name: "OP_QUERY update", msg: queryMsg(tb, bson.D{{Key: "update", Value: "c"}}), want: request{exclusive: true}},
		{name: "OP_COMPRESSED", msg: compressed, wantErr: true},
		{name: "empty command document", msg: opMsg(tb, 1, 0, bson.D{}), wantErr: true},
		{name: "no body section", msg: opMsgSections(0, docs), wantErr: true},
		{name: "no sections", msg: opMsgSections(0), wantErr: true},
		{name: "unknown section kind", msg: opMsgSections(0, []byte{7, 5, 0, 0, 0, 0}), wantErr: true},
		{name: "truncated body", msg: opMsgSections(0, bodySection(tb, insertBody)[:8]), wantErr: true},
		{name: "checksum flag without checksum", msg: opMsgSections(wiremessage.ChecksumPresent), wantErr: true},
		{name: "header only", msg: wiremessage.AppendHeader(nil, headerLen, 1, 0, wiremessage.OpMsg), wantErr: true},
	}
}

func TestInspect(t *testing.T) {
	for _, tt := range wireCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inspect(tt.msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("inspect error = %v, want error %t", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("inspect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadMessage(t *testing.T) {
	valid := opMsg(t, 1, 0, bson.D{{Key: "ping", Value: 1}})
	lengthOnly := func(n int32) []byte {
		return wiremessage.AppendHeader(nil, n, 1, 0, wiremessage.OpMsg)
	}
	tests := []struct {
		name    string
		stream  []byte
		want    int // whole messages read before the error
		wantErr error
	}{
		{name: "two messages", stream: append(append([]byte{}, valid...), valid...), want: 2, wantErr: io.EOF},
		{name: "truncated body", stream: valid[:len(valid)-1], wantErr: io.EOF},
		{name: "truncated header", stream: valid[:10], wantErr: io.EOF},
		{name: "length below header", stream: lengthOnly(15), wantErr: errMalformed},
		{name: "negative length", stream: lengthOnly(-1), wantErr: errMalformed},
		{name: "length above limit", stream: lengthOnly(maxMessageLen + 1), wantErr: errMalformed},
		{name: "length at limit, data missing", stream: lengthOnly(maxMessageLen), wantErr: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bytes.NewReader(tt.stream)
			var buf bytes.Buffer
			n := 0
			for {
				msg, err := readMessage(r, &buf)
				if err != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("error = %v, want %v", err, tt.wantErr)
					}
					break
				}
				if !bytes.Equal(msg, valid) {
					t.Errorf("message %d = %x, want %x", n, msg, valid)
				}
				n++
			}
			if n != tt.want {
				t.Errorf("read %d messages, want %d", n, tt.want)
			}
		})
	}
}

func TestFenceIsAPing(t *testing.T) {
	msg := appendMsg(nil, -3, 0, 0, fenceCommand())
	length, requestID, _, _, _, ok := wiremessage.ReadHeader(msg)
	if !ok || int(length) != len(msg) || requestID != -3 {
		t.Fatalf("header: length %d of %d bytes, request id %d", length, len(msg), requestID)
	}
	got, err := inspect(msg)
	if err != nil || got != (request{}) {
		t.Errorf("inspect = %+v, %v; want a plain read", got, err)
	}
	cmd, err := msgCommand(msg[headerLen+4:])
	if err != nil {
		t.Fatalf("command: %v", err)
	}
	if name := cmd.Index(0).Key(); name != "ping" {
		t.Errorf("command = %q, want ping", name)
	}
	if err := bsoncore.Document(cmd).Validate(); err != nil {
		t.Errorf("invalid document: %v", err)
	}
}

// The proxy reads whatever a client or the server sends: framing and classification must
// reject garbage with an error, never panic or return a message of the wrong size.
func FuzzReadMessage(f *testing.F) {
	for _, tt := range wireCases(f) {
		f.Add(tt.msg)
	}
	f.Add(append(queryMsg(f, bson.D{{Key: "hello", Value: 1}}), opMsg(f, 2, 0, bson.D{{Key: "find", Value: "c"}})...))
	f.Add(wiremessage.AppendHeader(nil, maxMessageLen, 1, 0, wiremessage.OpMsg))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bytes.NewReader(stream)
		var buf bytes.Buffer
		for {
			msg, err := readMessage(r, &buf)
			if err != nil {
				return
			}
			length, _, _, _, _, ok := wiremessage.ReadHeader(msg)
			if !ok || int(length) != len(msg) || length > maxMessageLen {
				t.Fatalf("read a %d-byte message whose header says %d", len(msg), length)
			}
			// Only the absence of a panic matters here; TestInspect checks the answers.
			_, _ = inspect(msg)
		}
	})
}
