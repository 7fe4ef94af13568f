package embedded

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/wiremessage"
)

// FerretDB v1.24 on SQLite looks a document up by _id only when the filter holds nothing
// else: a filter such as {_id, version}, the services' optimistic-concurrency write,
// makes it decode every document of the collection. That is a scan per versioned update
// (over a hundred milliseconds at 10,000 documents) and it runs under the proxy's write
// lock, so every other write of every service waits for it.
//
// The proxy narrows such a write. Under the write lock, where no other change can come
// between, it asks FerretDB whether the document with that _id matches the whole filter,
// by an aggregation whose first stage FerretDB does look up by _id; if it does, the write
// goes to FerretDB with the filter {_id} alone, which selects the same document. If it
// does not, a write that would insert (an upsert) goes with {_id} only when that document
// is absent and the filter adds no field to the inserted document; any other goes with an
// _id the collection does not hold, so that nothing matches (relayConn.narrow). Whenever
// a check fails or cannot tell, the write goes as sent: same answer, only slower.

// narrowing is a single-statement update, delete or findAndModify whose filter names one
// document by _id among other conditions, and how to send it with the filter {_id} alone.
type narrowing struct {
	db, coll string
	id       bsoncore.Value
	filter   bsoncore.Document
	// upsert: the write inserts a document when nothing matches.
	upsert bool
	// rewrite returns the request with the statement's filter replaced, or nil if it
	// cannot be sent.
	rewrite func(filter bsoncore.Document) []byte
}

// narrowable returns how to narrow msg, or nil when it is not a write the proxy narrows:
// anything but one acknowledged update, delete or findAndModify statement, with no
// repeated field and a readable upsert flag, whose filter pairs an _id of a type FerretDB
// looks up (a string or an ObjectID) with plain conditions (plainFilter), and whose
// update does not use the positional operator (which takes its array element from the
// filter).
func narrowable(msg []byte) *narrowing {
	_, requestID, responseTo, opcode, body, ok := wiremessage.ReadHeader(msg)
	if !ok || opcode != wiremessage.OpMsg {
		return nil
	}
	flags, sections, ok := wiremessage.ReadMsgFlags(body)
	if !ok || flags != 0 {
		return nil
	}
	parts, ok := splitSections(sections)
	if !ok {
		return nil
	}
	cmd := parts.body
	first, err := cmd.IndexErr(0)
	if err != nil {
		return nil
	}
	coll, ok := first.Value().StringValueOK()
	db, dbOK := cmd.Lookup("$db").StringValueOK()
	if !ok || !dbOK {
		return nil
	}
	if !distinctKeys(cmd) {
		return nil
	}
	n := &narrowing{db: db, coll: coll}
	switch first.Key() {
	case "update", "delete":
		seqID := first.Key() + "s"
		stmt, inBody, ok := parts.onlyStatement(seqID)
		if !ok || !distinctKeys(stmt) || positional(stmt.Lookup("u")) {
			return nil
		}
		if n.upsert, ok = upsertFlag(stmt); !ok {
			return nil
		}
		if n.filter, ok = stmt.Lookup("q").DocumentOK(); !ok {
			return nil
		}
		n.rewrite = func(filter bsoncore.Document) []byte {
			stmt := replaceField(stmt, "q", documentValue(filter))
			if inBody {
				stmts := bsoncore.Value{Type: bsoncore.TypeArray, Data: bsoncore.NewArrayBuilder().AppendDocument(stmt).Build()}
				body := replaceField(cmd, seqID, stmts)
				return appendMsg(nil, requestID, responseTo, 0, body)
			}
			return appendMsgWithSequence(requestID, responseTo, cmd, seqID, stmt)
		}
	case "findAndModify", "findandmodify":
		if len(parts.sequences) > 0 || positional(cmd.Lookup("update")) {
			return nil
		}
		if n.upsert, ok = upsertFlag(cmd); !ok {
			return nil
		}
		if n.filter, ok = cmd.Lookup("query").DocumentOK(); !ok {
			return nil
		}
		n.rewrite = func(filter bsoncore.Document) []byte {
			return appendMsg(nil, requestID, responseTo, 0, replaceField(cmd, "query", documentValue(filter)))
		}
	default:
		return nil
	}
	id, err := n.filter.LookupErr("_id")
	if err != nil || (id.Type != bsoncore.TypeString && id.Type != bsoncore.TypeObjectID) {
		return nil
	}
	if onlyID(n.filter) || !plainFilter(n.filter) {
		return nil
	}
	n.id = id
	return n
}

// distinctKeys reports whether no key of doc repeats. MongoDB refuses a command with a
// repeated field; FerretDB takes the last value and the proxy's lookups the first, so
// narrowing such a command could check one filter and write by another.
func distinctKeys(doc bsoncore.Document) bool {
	elems, err := doc.Elements()
	if err != nil {
		return false
	}
	seen := make(map[string]struct{}, len(elems))
	for _, e := range elems {
		if _, dup := seen[e.Key()]; dup {
			return false
		}
		seen[e.Key()] = struct{}{}
	}
	return true
}

// plainFilter reports whether filter is one FerretDB evaluates against any document
// without an error: conditions on field paths that are values or comparisons ($eq, $ne,
// $gt, $gte, $lt, $lte, $exists, $in, $nin, $size of an integer), combined by $and, $or
// and $nor, with no regular expression and no repeated key anywhere. FerretDB finds a
// bad operator or path only when it evaluates it against a document, and a narrowed
// write evaluates the filter against one document at most, where the write as sent
// evaluates it against every document: for any other filter the two could answer
// differently (an error, or nothing matched).
func plainFilter(filter bsoncore.Document) bool {
	if !distinctKeys(filter) {
		return false
	}
	elems, _ := filter.Elements()
	for _, e := range elems {
		key := e.Key()
		switch {
		case key == "$and" || key == "$or" || key == "$nor":
			if !plainFilters(e.Value()) {
				return false
			}
		case strings.HasPrefix(key, "$"), !plainPath(key), !plainCondition(e.Value()):
			return false
		}
	}
	return true
}

// plainPath reports whether FerretDB reads the field name as a path: every dot-separated
// part non-empty and without surrounding spaces. It refuses any other name for each
// document it evaluates the condition against.
func plainPath(key string) bool {
	for part := range strings.SplitSeq(key, ".") {
		if part == "" || strings.TrimSpace(part) != part {
			return false
		}
	}
	return true
}

// plainFilters reports whether v is a non-empty array of plain filters.
func plainFilters(v bsoncore.Value) bool {
	arr, ok := v.ArrayOK()
	if !ok {
		return false
	}
	values, err := arr.Values()
	if err != nil || len(values) == 0 {
		return false
	}
	for _, f := range values {
		doc, ok := f.DocumentOK()
		if !ok || !plainFilter(doc) {
			return false
		}
	}
	return true
}

// plainCondition reports whether a field's condition is a plain value or a document of
// comparison operators with plain arguments.
func plainCondition(v bsoncore.Value) bool {
	doc, ok := v.DocumentOK()
	if !ok {
		return plainValue(v)
	}
	first, err := doc.IndexErr(0)
	if err != nil || !strings.HasPrefix(first.Key(), "$") {
		return plainValue(v)
	}
	if !distinctKeys(doc) {
		return false
	}
	ops, _ := doc.Elements()
	for _, op := range ops {
		switch op.Key() {
		case "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$exists":
			if !plainValue(op.Value()) {
				return false
			}
		case "$in", "$nin":
			if op.Value().Type != bsoncore.TypeArray || !plainValue(op.Value()) {
				return false
			}
		case "$size":
			if n, ok := op.Value().AsInt64OK(); !ok || n < 0 || op.Value().Type == bsoncore.TypeDouble {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// plainValue reports whether v compares as a value: no regular expression (matched as
// a pattern, which may not compile), no code, and no document with a key that starts
// with $ or repeats, at any depth.
func plainValue(v bsoncore.Value) bool {
	switch v.Type {
	case bsoncore.TypeRegex, bsoncore.TypeJavaScript, bsoncore.TypeCodeWithScope, bsoncore.TypeDBPointer:
		return false
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
		doc := bsoncore.Document(v.Data)
		// An array's keys are its indexes; a document's are field names.
		isDoc := v.Type == bsoncore.TypeEmbeddedDocument
		if isDoc && !distinctKeys(doc) {
			return false
		}
		elems, err := doc.Elements()
		if err != nil {
			return false
		}
		for _, e := range elems {
			if isDoc && strings.HasPrefix(e.Key(), "$") {
				return false
			}
			if !plainValue(e.Value()) {
				return false
			}
		}
	}
	return true
}

// msgParts is an OP_MSG's body and its document sequences by identifier.
type msgParts struct {
	body      bsoncore.Document
	sequences map[string][]bsoncore.Document
}

func splitSections(sections []byte) (msgParts, bool) {
	var parts msgParts
	for len(sections) > 0 {
		kind, rest, ok := wiremessage.ReadMsgSectionType(sections)
		if !ok {
			return msgParts{}, false
		}
		switch kind {
		case wiremessage.SingleDocument:
			doc, next, ok := wiremessage.ReadMsgSectionSingleDocument(rest)
			if !ok || parts.body != nil {
				return msgParts{}, false
			}
			parts.body, sections = doc, next
		case wiremessage.DocumentSequence:
			id, docs, next, ok := wiremessage.ReadMsgSectionDocumentSequence(rest)
			if !ok {
				return msgParts{}, false
			}
			if parts.sequences == nil {
				parts.sequences = make(map[string][]bsoncore.Document)
			}
			parts.sequences[id] = append(parts.sequences[id], docs...)
			sections = next
		default:
			return msgParts{}, false
		}
	}
	return parts, parts.body != nil && parts.body.Validate() == nil
}

// onlyStatement returns the one statement of an update or delete command, which a driver
// sends as the document sequence id or, as the command's own array, in the body.
func (p msgParts) onlyStatement(id string) (stmt bsoncore.Document, inBody, ok bool) {
	if len(p.sequences) > 1 {
		return nil, false, false
	}
	if seq, ok := p.sequences[id]; ok {
		if len(seq) != 1 || p.body.Lookup(id).Type != bsoncore.Type(0) || seq[0].Validate() != nil {
			return nil, false, false
		}
		return seq[0], false, true
	}
	if len(p.sequences) > 0 {
		return nil, false, false
	}
	arr, ok := p.body.Lookup(id).ArrayOK()
	if !ok {
		return nil, false, false
	}
	values, err := arr.Values()
	if err != nil || len(values) != 1 {
		return nil, false, false
	}
	stmt, ok = values[0].DocumentOK()
	return stmt, true, ok
}

// upsertFlag reads whether a statement inserts when nothing matches: a boolean, or a
// number as FerretDB's update takes it (its findAndModify refuses a number, narrowed or
// not); ok is false for any other value, which the proxy leaves alone.
func upsertFlag(doc bsoncore.Document) (upsert, ok bool) {
	v, err := doc.LookupErr("upsert")
	if err != nil {
		return false, true
	}
	if b, isBool := v.BooleanOK(); isBool {
		return b, true
	}
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble:
		f, _ := v.AsFloat64OK()
		return f != 0, true
	default:
		return false, false
	}
}

// insertsOnlyID reports whether an upsert with this filter inserts no field of the
// filter but _id, as FerretDB builds the inserted document: it copies every field whose
// condition is a value, a single $eq, or a document of more than one key (operators or
// not), and skips logical operators and single-operator conditions other than $eq. Then
// an upsert by {_id} alone inserts the same document.
func insertsOnlyID(filter bsoncore.Document) bool {
	elems, err := filter.Elements()
	if err != nil {
		return false
	}
	for _, e := range elems {
		key := e.Key()
		if key == "_id" || strings.HasPrefix(key, "$") {
			continue
		}
		cond, ok := e.Value().DocumentOK()
		if !ok {
			return false
		}
		ops, err := cond.Elements()
		if err != nil || len(ops) != 1 || !strings.HasPrefix(ops[0].Key(), "$") || ops[0].Key() == "$eq" {
			return false
		}
	}
	return true
}

// positional reports whether an update document may use the positional operator $, whose
// array element the filter chooses. A pipeline or anything unreadable counts as using it.
func positional(update bsoncore.Value) bool {
	if update.Type == bsoncore.Type(0) {
		return false
	}
	doc, ok := update.DocumentOK()
	if !ok {
		return true
	}
	elems, err := doc.Elements()
	if err != nil {
		return true
	}
	for _, op := range elems {
		fields, ok := op.Value().DocumentOK()
		if !ok {
			continue
		}
		keys, err := fields.Elements()
		if err != nil {
			return true
		}
		for _, f := range keys {
			if strings.Contains("."+f.Key()+".", ".$.") || strings.Contains(f.Key(), ".$[") {
				return true
			}
		}
	}
	return false
}

// onlyID reports whether the filter holds nothing but _id, which FerretDB looks up itself.
func onlyID(filter bsoncore.Document) bool {
	elems, err := filter.Elements()
	return err != nil || len(elems) == 1
}

// check is the aggregation asking whether the document with _id id exists and, unless
// filter is nil, matches filter too.
func check(db, coll string, id bsoncore.Value, filter bsoncore.Document) bsoncore.Document {
	stage := func(name string, doc bsoncore.Document) bsoncore.Document {
		return bsoncore.NewDocumentBuilder().AppendDocument(name, doc).Build()
	}
	pipeline := bsoncore.NewArrayBuilder().
		AppendDocument(stage("$match", idFilter(id)))
	if filter != nil {
		pipeline.AppendDocument(stage("$match", filter))
	}
	pipeline.
		AppendDocument(bsoncore.NewDocumentBuilder().AppendInt32("$limit", 1).Build()).
		AppendDocument(stage("$project", bsoncore.NewDocumentBuilder().AppendInt32("_id", 1).Build()))
	return bsoncore.NewDocumentBuilder().
		AppendString("aggregate", coll).
		AppendArray("pipeline", pipeline.Build()).
		AppendDocument("cursor", bsoncore.NewDocumentBuilder().Build()).
		AppendString("$db", db).
		Build()
}

func idFilter(id bsoncore.Value) bsoncore.Document {
	return bsoncore.NewDocumentBuilder().AppendValue("_id", id).Build()
}

// absentCandidate is an _id the write's collection is all but certain not to hold: one
// of the other type FerretDB looks up by. A no-match write is sent with the filter {_id}
// of it, once a check has shown it absent, so that FerretDB answers "nothing matched"
// without a scan.
func absentCandidate(id bsoncore.Value) bsoncore.Value {
	if id.Type == bsoncore.TypeObjectID {
		return bsoncore.Value{Type: bsoncore.TypeString, Data: bsoncore.AppendString(nil, "")}
	}
	return bsoncore.Value{Type: bsoncore.TypeObjectID, Data: make([]byte, 12)}
}

// checkResult reads a check's reply: whether it found a document, and whether it
// answered at all. A reply that is an error or cannot be read is no answer, and the write
// then goes as sent, so that FerretDB gives the client whatever error the filter earns.
func checkResult(reply []byte) (found, answered bool) {
	_, _, _, opcode, body, ok := wiremessage.ReadHeader(reply)
	if !ok || opcode != wiremessage.OpMsg {
		return false, false
	}
	_, sections, ok := wiremessage.ReadMsgFlags(body)
	if !ok {
		return false, false
	}
	raw, err := msgCommand(sections)
	if err != nil {
		return false, false
	}
	doc := bsoncore.Document(raw)
	if okv, isNum := doc.Lookup("ok").AsFloat64OK(); !isNum || okv != 1 {
		return false, false
	}
	batch, ok := doc.Lookup("cursor", "firstBatch").ArrayOK()
	if !ok {
		return false, false
	}
	values, err := batch.Values()
	if err != nil {
		return false, false
	}
	return len(values) > 0, true
}

// replaceField returns doc with the value of key replaced by val.
func replaceField(doc bsoncore.Document, key string, val bsoncore.Value) bsoncore.Document {
	elems, _ := doc.Elements()
	b := bsoncore.NewDocumentBuilder()
	for _, e := range elems {
		if e.Key() == key {
			b.AppendValue(key, val)
			continue
		}
		b.AppendValue(e.Key(), e.Value())
	}
	return b.Build()
}

func documentValue(doc bsoncore.Document) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeEmbeddedDocument, Data: doc}
}

// appendMsgWithSequence builds an OP_MSG of a body and one document sequence, or returns
// nil if it would be longer than a wire message may be.
func appendMsgWithSequence(requestID, responseTo int32, body bsoncore.Document, id string, docs ...bsoncore.Document) []byte {
	seqLen := 4 + len(id) + 1
	for _, d := range docs {
		seqLen += len(d)
	}
	length := headerLen + 4 + 1 + len(body) + 1 + seqLen
	if length > maxMessageLen || seqLen > maxMessageLen {
		return nil
	}
	dst := wiremessage.AppendHeader(nil, int32(length), requestID, responseTo, wiremessage.OpMsg)
	dst = wiremessage.AppendMsgFlags(dst, 0)
	dst = wiremessage.AppendMsgSectionType(dst, wiremessage.SingleDocument)
	dst = append(dst, body...)
	dst = wiremessage.AppendMsgSectionType(dst, wiremessage.DocumentSequence)
	dst = bsoncore.AppendInt32(dst, int32(seqLen))
	dst = append(dst, id...)
	dst = append(dst, 0)
	for _, d := range docs {
		dst = append(dst, d...)
	}
	return dst
}

// isFilteredWrite reports whether the command is one narrowable may narrow.
func isFilteredWrite(cmd bson.Raw) bool {
	first, err := cmd.IndexErr(0)
	if err != nil {
		return false
	}
	switch first.Key() {
	case "update", "delete", "findAndModify", "findandmodify":
		return true
	default:
		return false
	}
}
