package storage

// Schema names the attributes an adapter writes. The key and index attribute
// names and the TTL attribute come from the table in template.yaml (see
// internal/template); the envelope attributes below are the adapters' own and
// are the same in both.
type Schema struct {
	// PK and SK are the table's key attribute names.
	PK, SK string
	// Indexes maps each global secondary index name to its key attribute
	// names.
	Indexes map[string]Key
	// TTL is the time-to-live attribute (epoch seconds).
	TTL string
}

// Envelope attributes, written on every item besides the key attributes.
const (
	AttrType    = "type"
	AttrVersion = "ver"
	AttrData    = "data"
)
