package embedded

import (
	"bytes"
	"encoding/binary"
	"net"
	"path/filepath"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/wiremessage"
)

// statement returns the filter and the single statement an update or delete message
// carries, wherever the message holds it.
func statement(t *testing.T, msg []byte) (bsoncore.Document, bsoncore.Document) {
	t.Helper()
	_, _, _, _, body, _ := wiremessage.ReadHeader(msg)
	_, sections, _ := wiremessage.ReadMsgFlags(body)
	parts, ok := splitSections(sections)
	if !ok {
		t.Fatal("unreadable message")
	}
	name := parts.body.Index(0).Key()
	if name == "findAndModify" {
		return parts.body.Lookup("query").Document(), parts.body
	}
	stmt, _, ok := parts.onlyStatement(name + "s")
	if !ok {
		t.Fatal("no single statement")
	}
	return stmt.Lookup("q").Document(), stmt
}

func TestNarrowable(t *testing.T) {
	oid := bson.NewObjectID()
	versioned := bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 3}}
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "Aino"}}}}
	updateBody := bson.D{{Key: "update", Value: "owners"}, {Key: "ordered", Value: true}, {Key: "$db", Value: "reg"}}
	deleteBody := bson.D{{Key: "delete", Value: "claims"}, {Key: "ordered", Value: true}, {Key: "$db", Value: "reg"}}
	update := func(stmts ...bson.D) []byte {
		return opMsgSections(0, bodySection(t, updateBody), sequenceSection(t, "updates", stmts...))
	}
	stmt := func(q bson.D, u any, extra ...bson.E) bson.D {
		return append(bson.D{{Key: "q", Value: q}, {Key: "u", Value: u}}, extra...)
	}
	field := func(key string, value any) bson.D {
		return bson.D{{Key: "_id", Value: "o-1"}, {Key: key, Value: value}}
	}
	findAndModify := func(extra ...bson.E) []byte {
		return opMsg(t, 1, 0, append(bson.D{
			{Key: "findAndModify", Value: "owners"}, {Key: "query", Value: versioned},
			{Key: "update", Value: set}, {Key: "new", Value: true},
		}, append(extra, bson.E{Key: "$db", Value: "reg"})...))
	}
	tests := []struct {
		name string
		msg  []byte
		want bool
	}{
		{"versioned update", update(stmt(versioned, set)), true},
		{"update with upsert false", update(stmt(versioned, set, bson.E{Key: "upsert", Value: false})), true},
		{"update by ObjectID", update(stmt(bson.D{{Key: "_id", Value: oid}, {Key: "v", Value: 1}}, set)), true},
		{"update, statements in the body", opMsg(t, 1, 0, append(bson.D{{Key: "update", Value: "owners"}, {Key: "updates", Value: bson.A{stmt(versioned, set)}}}, bson.E{Key: "$db", Value: "reg"})), true},
		{"delete", opMsgSections(0, bodySection(t, deleteBody), sequenceSection(t, "deletes", bson.D{{Key: "q", Value: versioned}, {Key: "limit", Value: 1}})), true},
		{"findAndModify", findAndModify(), true},
		{"findAndModify with upsert", findAndModify(bson.E{Key: "upsert", Value: true}), true},
		{"update with upsert", update(stmt(versioned, set, bson.E{Key: "upsert", Value: true})), true},
		{"update with a numeric upsert", update(stmt(versioned, set, bson.E{Key: "upsert", Value: 1})), true},
		{"update with an unreadable upsert", update(stmt(versioned, set, bson.E{Key: "upsert", Value: "yes"})), false},
		{"two statements", update(stmt(versioned, set), stmt(versioned, set)), false},
		{"only _id", update(stmt(bson.D{{Key: "_id", Value: "o-1"}}, set)), false},
		{"no _id", update(stmt(bson.D{{Key: "version", Value: 3}}, set)), false},
		{"numeric _id", update(stmt(bson.D{{Key: "_id", Value: 7}, {Key: "v", Value: 1}}, set)), false},
		{"_id by operator", update(stmt(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a"}}}}, {Key: "v", Value: 1}}, set)), false},
		{"positional $", update(stmt(versioned, bson.D{{Key: "$set", Value: bson.D{{Key: "pets.$.name", Value: "Musti"}}}})), false},
		{"positional $ last", update(stmt(versioned, bson.D{{Key: "$unset", Value: bson.D{{Key: "pets.$", Value: ""}}}})), false},
		{"positional $[]", update(stmt(versioned, bson.D{{Key: "$set", Value: bson.D{{Key: "pets.$[].x", Value: 1}}}})), false},
		{"positional $[el]", update(stmt(versioned, bson.D{{Key: "$set", Value: bson.D{{Key: "pets.$[p].x", Value: 1}}}})), false},
		{"a field named like an operator is not positional", update(stmt(versioned, bson.D{{Key: "$set", Value: bson.D{{Key: "a.$x", Value: 1}}}})), true},
		{"pipeline update", update(stmt(versioned, bson.A{set})), false},
		{"unacknowledged", setFlags(update(stmt(versioned, set)), wiremessage.MoreToCome), false},
		{"insert", opMsg(t, 1, 0, bson.D{{Key: "insert", Value: "owners"}, {Key: "$db", Value: "reg"}}), false},
		{"no $db", opMsgSections(0, bodySection(t, bson.D{{Key: "update", Value: "owners"}}), sequenceSection(t, "updates", stmt(versioned, set))), false},
		{"OP_QUERY", queryMsg(t, bson.D{{Key: "update", Value: "owners"}}), false},
		{"repeated $db", opMsgSections(0, bodySection(t, append(updateBody, bson.E{Key: "$db", Value: "other"})), sequenceSection(t, "updates", stmt(versioned, set))), false},
		{"repeated upsert", update(stmt(versioned, set, bson.E{Key: "upsert", Value: false}, bson.E{Key: "upsert", Value: true})), false},
		{"repeated filter", update(stmt(versioned, set, bson.E{Key: "q", Value: versioned})), false},
		{"repeated key in the filter", update(stmt(append(versioned, bson.E{Key: "version", Value: 2}), set)), false},
		{"unknown operator", update(stmt(field("version", bson.D{{Key: "$bogus", Value: 1}}), set)), false},
		{"unknown top-level operator", update(stmt(field("$comment", "x"), set)), false},
		{"$expr", update(stmt(field("$expr", bson.D{{Key: "$eq", Value: bson.A{"$version", 3}}}), set)), false},
		{"comparisons", update(stmt(field("version", bson.D{{Key: "$gte", Value: 1}, {Key: "$lt", Value: 9}, {Key: "$ne", Value: 4}}), set)), true},
		{"$exists and $in", update(stmt(append(field("ref", bson.D{{Key: "$exists", Value: true}}), bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}), set)), true},
		{"$in of no array", update(stmt(field("state", bson.D{{Key: "$in", Value: "a"}}), set)), false},
		{"$size", update(stmt(field("entries", bson.D{{Key: "$size", Value: 2}}), set)), true},
		{"negative $size", update(stmt(field("entries", bson.D{{Key: "$size", Value: -1}}), set)), false},
		{"fractional $size", update(stmt(field("entries", bson.D{{Key: "$size", Value: 1.5}}), set)), false},
		{"$or of plain filters", update(stmt(field("$or", bson.A{bson.D{{Key: "v", Value: 1}}, bson.D{{Key: "v", Value: bson.D{{Key: "$exists", Value: false}}}}}), set)), true},
		{"empty $or", update(stmt(field("$or", bson.A{}), set)), false},
		{"$or with an unknown operator", update(stmt(field("$or", bson.A{bson.D{{Key: "v", Value: bson.D{{Key: "$bogus", Value: 1}}}}}), set)), false},
		{"regular expression", update(stmt(field("name", bson.Regex{Pattern: "^A"}), set)), false},
		{"regular expression in $in", update(stmt(field("name", bson.D{{Key: "$in", Value: bson.A{bson.Regex{Pattern: "("}}}}), set)), false},
		{"document value", update(stmt(field("address", bson.D{{Key: "city", Value: "Kangasala"}}), set)), true},
		{"document value with an operator key", update(stmt(field("address", bson.D{{Key: "city", Value: "K"}, {Key: "$x", Value: 1}}), set)), false},
		{"empty document value", update(stmt(field("address", bson.D{}), set)), true},
		{"dotted path", update(stmt(field("identity.kid", "k1"), set)), true},
		{"empty path part", update(stmt(field("a..b", 1), set)), false},
		{"trailing dot", update(stmt(field("version.", 1), set)), false},
		{"spaced path part", update(stmt(field("a. b", 1), set)), false},
		{"empty field name", update(stmt(field("", 1), set)), false},
		{"bad path in $and", update(stmt(field("$and", bson.A{bson.D{{Key: ".a", Value: 1}}}), set)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := narrowable(tt.msg)
			if (n != nil) != tt.want {
				t.Fatalf("narrowable = %v, want %t", n != nil, tt.want)
			}
			if n == nil {
				return
			}
			wantFilter, wantStmt := statement(t, tt.msg)
			narrowed := n.rewrite(idFilter(n.id))
			if _, err := inspect(narrowed); err != nil {
				t.Fatalf("narrowed message: %v", err)
			}
			gotFilter, gotStmt := statement(t, narrowed)
			if want := idFilter(wantFilter.Lookup("_id")); !bytes.Equal(gotFilter, want) {
				t.Errorf("narrowed filter = %v, want %v", gotFilter, want)
			}
			if !bytes.Equal(replaceField(gotStmt, filterKey(gotStmt), documentValue(wantFilter)), wantStmt) {
				t.Errorf("narrowed statement = %v, want %v with the filter {_id}", gotStmt, wantStmt)
			}
			_, wantID, _, _, _, _ := wiremessage.ReadHeader(tt.msg)
			if _, gotID, _, _, _, _ := wiremessage.ReadHeader(narrowed); gotID != wantID {
				t.Errorf("narrowed request id = %d, want %d", gotID, wantID)
			}
		})
	}
}

func filterKey(stmt bsoncore.Document) string {
	if stmt.Index(0).Key() == "findAndModify" {
		return "query"
	}
	return "q"
}

func setFlags(msg []byte, flags wiremessage.MsgFlag) []byte {
	binary.LittleEndian.PutUint32(msg[headerLen:], uint32(flags))
	return msg
}

// recordingUpstream stands in for FerretDB: it answers a narrowing check (an aggregate)
// with the batch found gives its _id and first $match, every other command with ok: 1,
// and sends each message it receives to seen.
func recordingUpstream(t *testing.T, dir string, found func(id bsoncore.Value, filtered bool) bson.D) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(dir, ferretDBSocket))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	seen := make(chan []byte, 16)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		var buf bytes.Buffer
		for {
			msg, err := readMessage(conn, &buf)
			if err != nil {
				return
			}
			seen <- bytes.Clone(msg)
			_, requestID, _, _, body, _ := wiremessage.ReadHeader(msg)
			_, sections, _ := wiremessage.ReadMsgFlags(body)
			cmd, _ := msgCommand(sections)
			reply := bson.D{{Key: "ok", Value: 1}}
			if cmd.Index(0).Key() == "aggregate" {
				pipeline, _ := bsoncore.Document(cmd).Lookup("pipeline").ArrayOK()
				stages, _ := pipeline.Values()
				id := stages[0].Document().Lookup("$match", "_id")
				reply = found(id, stages[1].Document().Index(0).Key() == "$match")
			}
			doc, _ := bson.Marshal(reply)
			if _, err := conn.Write(appendMsg(nil, 0, requestID, 0, doc)); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String(), seen
}

func batch(docs ...any) bson.D {
	if docs == nil {
		docs = bson.A{}
	}
	return bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: docs}, {Key: "id", Value: int64(0)}}}, {Key: "ok", Value: 1}}
}

func TestProxyNarrowsFilteredWrites(t *testing.T) {
	versioned := bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 3}}
	zero := bsoncore.Value{Type: bsoncore.TypeObjectID, Data: make([]byte, 12)}
	o1 := bsoncore.Value{Type: bsoncore.TypeString, Data: bsoncore.AppendString(nil, "o-1")}
	one := batch(bson.D{{Key: "_id", Value: "x"}})
	notEqual := bson.D{{Key: "_id", Value: "o-1"}, {Key: "erased", Value: bson.D{{Key: "$ne", Value: true}}}}
	tests := []struct {
		name string
		// matches, present and absentTaken say what the checks find: the filter matches,
		// the document with the filter's _id exists, the stand-in _id is taken; failed
		// makes every check fail.
		matches, present, absentTaken, failed bool
		// upsert sends the update with upsert and filter (versioned if nil).
		upsert     bool
		filter     bson.D
		wantChecks int
		wantFilter bsoncore.Document
	}{
		{name: "the document matches", matches: true, wantChecks: 1, wantFilter: idFilter(o1)},
		{name: "nothing matches", wantChecks: 2, wantFilter: idFilter(zero)},
		{name: "nothing matches, the absent _id is taken", absentTaken: true, wantChecks: 2, wantFilter: bsoncore.Document(marshal(t, versioned))},
		{name: "the check fails", failed: true, wantChecks: 1, wantFilter: bsoncore.Document(marshal(t, versioned))},
		{name: "upsert, the document matches", upsert: true, matches: true, present: true, wantChecks: 1, wantFilter: idFilter(o1)},
		{name: "upsert of an absent document, filter adding nothing", upsert: true, filter: notEqual, wantChecks: 2, wantFilter: idFilter(o1)},
		{name: "upsert, a present document does not match", upsert: true, filter: notEqual, present: true, wantChecks: 2, wantFilter: bsoncore.Document(marshal(t, notEqual))},
		{name: "upsert of an absent document, filter adding a field", upsert: true, wantChecks: 1, wantFilter: bsoncore.Document(marshal(t, versioned))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := socketDir(t)
			upstream, seen := recordingUpstream(t, dir, func(id bsoncore.Value, filtered bool) bson.D {
				switch {
				case tt.failed:
					return bson.D{{Key: "ok", Value: 0}, {Key: "errmsg", Value: "unsupported"}}
				case filtered && tt.matches, !filtered && id.Equal(zero) && tt.absentTaken, !filtered && id.Equal(o1) && tt.present:
					return one
				default:
					return batch()
				}
			})
			p, err := startProxy(filepath.Join(dir, proxySocket), upstream, nil)
			if err != nil {
				t.Fatalf("start proxy: %v", err)
			}
			t.Cleanup(func() { _ = p.close() })
			conn := dialProxy(t, p)
			body := bson.D{{Key: "update", Value: "owners"}, {Key: "$db", Value: "reg"}}
			filter := tt.filter
			if filter == nil {
				filter = versioned
			}
			stmt := bson.D{{Key: "q", Value: filter}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 1}}}}}, {Key: "upsert", Value: tt.upsert}}
			send(t, conn, opMsgSections(0, bodySection(t, body), sequenceSection(t, "updates", stmt)))
			var buf bytes.Buffer
			receive(t, conn, &buf, 1)

			for i := range tt.wantChecks {
				if name := commandName(t, <-seen); name != "aggregate" {
					t.Fatalf("upstream message %d is %q, want the check", i, name)
				}
			}
			write := <-seen
			if name := commandName(t, write); name != "update" {
				t.Fatalf("upstream message after the checks is %q, want the update", name)
			}
			if filter, _ := statement(t, write); !bytes.Equal(filter, tt.wantFilter) {
				t.Errorf("update reached the store with filter %v, want %v", filter, tt.wantFilter)
			}
		})
	}
}

func commandName(t *testing.T, msg []byte) string {
	t.Helper()
	_, _, _, _, body, _ := wiremessage.ReadHeader(msg)
	_, sections, _ := wiremessage.ReadMsgFlags(body)
	cmd, err := msgCommand(sections)
	if err != nil {
		t.Fatalf("upstream message: %v", err)
	}
	return cmd.Index(0).Key()
}

// FuzzNarrowable: no message makes narrowable panic, and whatever it narrows is a
// message the proxy itself reads, for the same request, with the filter {_id}.
func FuzzNarrowable(f *testing.F) {
	versioned := bson.D{{Key: "_id", Value: "o-1"}, {Key: "version", Value: 3}}
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 1}}}}
	f.Add(opMsgSections(0, bodySection(f, bson.D{{Key: "update", Value: "c"}, {Key: "$db", Value: "d"}}),
		sequenceSection(f, "updates", bson.D{{Key: "q", Value: versioned}, {Key: "u", Value: set}})))
	f.Add(opMsg(f, 1, 0, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: versioned}, {Key: "update", Value: set}, {Key: "$db", Value: "d"}}))
	f.Add(opMsg(f, 1, 0, bson.D{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: versioned}}}}, {Key: "$db", Value: "d"}}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		n := narrowable(msg)
		if n == nil {
			return
		}
		narrowed := n.rewrite(idFilter(n.id))
		if narrowed == nil {
			return
		}
		req, err := inspect(narrowed)
		if err != nil || !req.narrowable {
			t.Fatalf("narrowed message: %+v, %v", req, err)
		}
		if filter, _ := statement(t, narrowed); !bytes.Equal(filter, idFilter(n.id)) {
			t.Fatalf("narrowed filter = %v", filter)
		}
	})
}
