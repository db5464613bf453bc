// Package keys builds every table and index key of the hub. No other package
// concatenates key strings: handlers call these builders with ids taken from
// the principal, so a key outside the principal's organization cannot be
// built by accident.
//
// Access patterns (the README's table is the long form):
//
//	organization profile        PK=ORG#<org>            SK=ORG
//	organization's users        PK=ORG#<org>            SK begins USER#
//	user by email (login, guard) PK=EMAIL#<email>       SK=EMAIL
//	one-time token by hash      PK=TOKEN#<sha256>       SK=TOKEN (TTL)
//	organization's events        PK=ORG#<org>           SK begins EVENT#
//	delivery of an event         PK=ORG#<org>           SK=DELIVERY#<event>
//	organizations (operator)     GSI1PK=ORGS            GSI1SK=<org>
package keys

import (
	"errors"
	"strings"

	"github.com/integration-hub/hub/internal/storage"
)

// Prefixes of key segments.
const (
	orgPrefix      = "ORG#"
	userPrefix     = "USER#"
	emailPrefix    = "EMAIL#"
	tokenPrefix    = "TOKEN#"
	eventPrefix    = "EVENT#"
	deliveryPrefix = "DELIVERY#"
)

// Index names, as template.yaml declares them.
const GSI1 = "GSI1"

// ErrBadID: an id would not make a well-formed key.
var ErrBadID = errors.New("keys: id is empty or contains '#'")

// ValidID reports whether id can be a key segment: not empty and without the
// separator, so no id can reach into another segment.
func ValidID(id string) bool {
	return id != "" && !strings.Contains(id, "#")
}

// OrgPK is the partition that holds everything an organization owns.
func OrgPK(org string) string { return orgPrefix + org }

// Org is the organization's profile item.
func Org(org string) storage.Key { return storage.Key{PK: OrgPK(org), SK: "ORG"} }

// OrgsIndex lists every organization on GSI1, for the operator.
func OrgsIndex(org string) storage.Key { return storage.Key{PK: "ORGS", SK: org} }

// User is a hub user of an organization.
func User(org, user string) storage.Key { return storage.Key{PK: OrgPK(org), SK: userPrefix + user} }

// UsersPrefix is the sort-key prefix of an organization's users.
const UsersPrefix = userPrefix

// UserID reads the user id back from a user item's sort key.
func UserID(sk string) (string, bool) { return strings.CutPrefix(sk, userPrefix) }

// Email is the deployment-wide guard that makes an email address unique and
// finds its user at sign-in. The address must already be normalized.
func Email(normalized string) storage.Key {
	return storage.Key{PK: emailPrefix + normalized, SK: "EMAIL"}
}

// Token is a one-time token (invitation, password reset) by the hex SHA-256
// of its secret; the secret itself is never stored.
func Token(hashHex string) storage.Key { return storage.Key{PK: tokenPrefix + hashHex, SK: "TOKEN"} }

// Event is an outbox event of an organization.
func Event(org, id string) storage.Key { return storage.Key{PK: OrgPK(org), SK: eventPrefix + id} }

// Delivery records that the notifier handled an event.
func Delivery(org, eventID string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: deliveryPrefix + eventID}
}
