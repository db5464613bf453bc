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
//	users by email               GSI1PK=ORG#<org>#USERS GSI1SK=<email>
//	users by name                GSI2PK=ORG#<org>#USERS GSI2SK=<name>#<user>
//	partner's users by email     GSI1PK=ORG#<org>#P#<partner>#USERS  (member copies)
//	partner's users by name      GSI2PK=ORG#<org>#P#<partner>#USERS
//	partner membership copy      PK=ORG#<org>           SK=MEMBER#<partner>#<user>
//	partner by id                PK=ORG#<org>           SK=PARTNER#<partner>
//	partners by name             GSI1PK=ORG#<org>#PARTNERS GSI1SK=<name>#<partner>
//	sign-in attempts             PK=EMAIL#<email>       SK=ATTEMPTS (TTL)
package keys

import (
	"encoding/base64"
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
	partnerPrefix  = "PARTNER#"
	memberPrefix   = "MEMBER#"
)

// Index names, as template.yaml declares them.
const (
	GSI1 = "GSI1"
	GSI2 = "GSI2"
)

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

// UsersScope is the index partition listing users: the whole organization
// when partner is "", else one partner organization's users.
func UsersScope(org, partner string) string {
	if partner == "" {
		return OrgPK(org) + "#USERS"
	}
	return OrgPK(org) + "#P#" + partner + "#USERS"
}

// UserByEmail is a user's GSI1 key in a users scope.
func UserByEmail(scope, email string) storage.Key { return storage.Key{PK: scope, SK: email} }

// UserByName is a user's GSI2 key in a users scope; the id keeps equal
// names apart and the order stable.
func UserByName(scope, sortName, user string) storage.Key {
	return storage.Key{PK: scope, SK: sortName + "#" + user}
}

// Member is the copy of a partner user that lists it in its partner's scope.
func Member(org, partner, user string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: memberPrefix + partner + "#" + user}
}

// Partner is a partner organization of an organization.
func Partner(org, partner string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: partnerPrefix + partner}
}

// PartnersPrefix is the sort-key prefix of an organization's partners.
const PartnersPrefix = partnerPrefix

// PartnerByName lists an organization's partners by name on GSI1.
func PartnerByName(org, sortName, partner string) storage.Key {
	return storage.Key{PK: OrgPK(org) + "#PARTNERS", SK: sortName + "#" + partner}
}

// PartnersScope is the GSI1 partition of an organization's partners.
func PartnersScope(org string) string { return OrgPK(org) + "#PARTNERS" }

// SignInAttempts counts failed sign-ins of an address (existing or not).
func SignInAttempts(normalized string) storage.Key {
	return storage.Key{PK: emailPrefix + normalized, SK: "ATTEMPTS"}
}

// Source control (appended with the Source Control area; the access
// patterns belong in the table above):
//
//	source control connection   PK=ORG#<org>            SK=SOURCE#org | SOURCE#P#<partner>
//	OAuth state by hash         PK=OAUTHSTATE#<sha256>  SK=STATE (TTL)
const (
	sourcePrefix     = "SOURCE#"
	oauthStatePrefix = "OAUTHSTATE#"
)

// SourceConnection is the source control connection of an organization
// (partner "") or of one of its partner organizations.
func SourceConnection(org, partner string) storage.Key {
	scope := "org"
	if partner != "" {
		scope = "P#" + partner
	}
	return storage.Key{PK: OrgPK(org), SK: sourcePrefix + scope}
}

// OAuthState is a pending OAuth authorization by the hex SHA-256 of its
// state parameter; the state itself is never stored.
func OAuthState(hashHex string) storage.Key {
	return storage.Key{PK: oauthStatePrefix + hashHex, SK: "STATE"}
}

// Settings areas (appended with Company, Notifications, Integration Form and
// Partner Form; the access patterns belong in the table above):
//
//	logo upload                  PK=ORG#<org>  SK=LOGO#light | LOGO#dark
//	notification settings        PK=ORG#<org>  SK=SETTINGS#NOTIFICATIONS
//	integration form             PK=ORG#<org>  SK=SETTINGS#INTEGRATION_FORM
//	partner form                 PK=ORG#<org>  SK=SETTINGS#PARTNER_FORM
//	a partner's form answers     PK=ORG#<org>  SK=ANSWERS#PARTNER_FORM#<partner>
//	every partner's answers      PK=ORG#<org>  SK begins ANSWERS#PARTNER_FORM#
const (
	logoPrefix               = "LOGO#"
	settingsPrefix           = "SETTINGS#"
	partnerFormAnswersPrefix = "ANSWERS#PARTNER_FORM#"
)

// Logo is an uploaded logo variant ("light" or "dark") of an organization.
func Logo(org, variant string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: logoPrefix + variant}
}

// NotificationSettings is an organization's Notifications document.
func NotificationSettings(org string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: settingsPrefix + "NOTIFICATIONS"}
}

// IntegrationForm is an organization's Integration Form.
func IntegrationForm(org string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: settingsPrefix + "INTEGRATION_FORM"}
}

// PartnerForm is an organization's Partner Form.
func PartnerForm(org string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: settingsPrefix + "PARTNER_FORM"}
}

// PartnerFormAnswers are one partner organization's answers to the Partner
// Form.
func PartnerFormAnswers(org, partner string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: partnerFormAnswersPrefix + partner}
}

// PartnerFormAnswersPrefix is the sort-key prefix of every partner's
// answers to the Partner Form.
const PartnerFormAnswersPrefix = partnerFormAnswersPrefix

// API access, integrations, tenants and runs (appended with issue 5; the
// access patterns belong in the table above):
//
//	API key of an organization    PK=ORG#<org>  SK=APIKEY#<key>  (list: SK begins APIKEY#)
//	API key by id (authorizer)    PK=APIKEY#<key>  SK=APIKEY  (TTL at its expiry)
//	integration by id             PK=ORG#<org>  SK=INTEGRATION#<integration>  (list by creation: SK begins INTEGRATION#)
//	integrations by name          GSI1PK=ORG#<org>#INTEGRATIONS  GSI1SK=<name>#<integration>
//	a partner's integrations      GSI2PK=ORG#<org>#P#<partner>#INTEGRATIONS  GSI2SK=<name>#<integration>
//	tenant by id (archived too)   PK=ORG#<org>  SK=TENANT#<tenant>
//	live tenants by creation      GSI1PK=ORG#<org>#TENANTS  GSI1SK=<tenant>
//	live tenants of an integration GSI2PK=ORG#<org>#I#<integration>#TENANTS  GSI2SK=<tenant>
//	live tenants of an end-user   PK=ORG#<org>#ENDUSER#<base64url end-user>  SK=TENANT#<tenant>  (installation copies)
//	integration's live tenants    PK=ORG#<org>#I#<integration>#LIVE  SK=TENANT#<tenant>  (registry markers; read strongly consistent)
//	integration's delete lock     PK=ORG#<org>#I#<integration>#LIVE  SK=DELETING  (TTL; every tenant creation checks it absent)
//	runs of a tenant              PK=ORG#<org>#TENANT#<tenant>  SK=RUN#<run>  (newest first: descending)
//	run by trigger id             PK=ORG#<org>  SK=TRIGGER#<run>  (names the run's tenant)
//	idempotency key of a start    PK=ORG#<org>  SK=IDEMPOTENCY#<sha256>  (TTL 24 h)
const (
	apiKeyPrefix      = "APIKEY#"
	integrationPrefix = "INTEGRATION#"
	tenantPrefix      = "TENANT#"
	runPrefix         = "RUN#"
	triggerPrefix     = "TRIGGER#"
	idempotencyPrefix = "IDEMPOTENCY#"
)

// APIKey is an API key as its organization lists it.
func APIKey(org, key string) storage.Key { return storage.Key{PK: OrgPK(org), SK: apiKeyPrefix + key} }

// APIKeysPrefix is the sort-key prefix of an organization's API keys.
const APIKeysPrefix = apiKeyPrefix

// APIKeyLookup is the deployment-wide item the authorizer reads to resolve
// a presented key by its id alone; it also makes key ids unique.
func APIKeyLookup(key string) storage.Key { return storage.Key{PK: apiKeyPrefix + key, SK: "APIKEY"} }

// Integration is an integration of an organization.
func Integration(org, integration string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: integrationPrefix + integration}
}

// IntegrationsPrefix is the sort-key prefix of an organization's
// integrations, in creation order.
const IntegrationsPrefix = integrationPrefix

// IntegrationsScope is the GSI1 partition of an organization's integrations
// by name.
func IntegrationsScope(org string) string { return OrgPK(org) + "#INTEGRATIONS" }

// PartnerIntegrationsScope is the GSI2 partition of one partner
// organization's integrations by name.
func PartnerIntegrationsScope(org, partner string) string {
	return OrgPK(org) + "#P#" + partner + "#INTEGRATIONS"
}

// IntegrationByName is an integration's key in a by-name scope; the id
// keeps equal names apart and the order stable.
func IntegrationByName(scope, sortName, integration string) storage.Key {
	return storage.Key{PK: scope, SK: sortName + "#" + integration}
}

// Tenant is a tenant of an organization, archived or not.
func Tenant(org, tenant string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: tenantPrefix + tenant}
}

// TenantsScope is the GSI1 partition of an organization's live tenants.
func TenantsScope(org string) string { return OrgPK(org) + "#TENANTS" }

// IntegrationTenantsScope is the GSI2 partition of the live tenants of one
// integration.
func IntegrationTenantsScope(org, integration string) string {
	return OrgPK(org) + "#I#" + integration + "#TENANTS"
}

// IntegrationLivePK is the partition of one integration's live-tenant
// registry: a marker per live tenant, written and removed in the tenant's
// own writes, and the lock a delete of the integration holds while it
// looks for them. It is on the table, so the delete reads it strongly
// consistent (the integration's GSI2 list is eventually consistent).
func IntegrationLivePK(org, integration string) string {
	return OrgPK(org) + "#I#" + integration + "#LIVE"
}

// IntegrationLiveTenant is a live tenant's marker in its integration's
// registry; the registry's markers are the sort keys beginning
// TenantsPrefix.
func IntegrationLiveTenant(org, integration, tenant string) storage.Key {
	return storage.Key{PK: IntegrationLivePK(org, integration), SK: tenantPrefix + tenant}
}

// IntegrationDeleteLock is held by a delete of the integration while it
// looks for live tenants; a tenant is only created while it is absent.
func IntegrationDeleteLock(org, integration string) storage.Key {
	return storage.Key{PK: IntegrationLivePK(org, integration), SK: "DELETING"}
}

// TenantInScope is a live tenant's key in a tenants scope, in creation order.
func TenantInScope(scope, tenant string) storage.Key { return storage.Key{PK: scope, SK: tenant} }

// EndUserTenantsPK is the partition of one marketplace end-user's live
// tenants. End-user ids come from the SaaS's token and may hold any
// character, so they are base64url-encoded into the key.
func EndUserTenantsPK(org, endUser string) string {
	return OrgPK(org) + "#ENDUSER#" + base64.RawURLEncoding.EncodeToString([]byte(endUser))
}

// EndUserTenant is the installation copy of a live tenant in its end-user's
// partition.
func EndUserTenant(org, endUser, tenant string) storage.Key {
	return storage.Key{PK: EndUserTenantsPK(org, endUser), SK: tenantPrefix + tenant}
}

// TenantsPrefix is the sort-key prefix of tenants and installation copies.
const TenantsPrefix = tenantPrefix

// TenantRunsPK is the partition of one tenant's runs.
func TenantRunsPK(org, tenant string) string { return OrgPK(org) + "#" + tenantPrefix + tenant }

// Run is one run of a tenant.
func Run(org, tenant, run string) storage.Key {
	return storage.Key{PK: TenantRunsPK(org, tenant), SK: runPrefix + run}
}

// RunsPrefix is the sort-key prefix of a tenant's runs.
const RunsPrefix = runPrefix

// RunTrigger finds a run, and its tenant, by the trigger id a start
// returned (the run's id).
func RunTrigger(org, run string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: triggerPrefix + run}
}

// StartIdempotency is the guard of an Idempotency-Key sent with a start,
// by the hex SHA-256 of the key.
func StartIdempotency(org, keyHashHex string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: idempotencyPrefix + keyHashHex}
}

// In-App Marketplace (appended with issue 6; the access patterns belong in
// the table above). The authorizer reads one item per marketplace token: the
// verifier copy found by the token's issuer or, for an organization without
// an issuer, by its kid. Both are written in the same write as the settings
// (attribute_not_exists for a new issuer or kid), so each is unique across
// the deployment and always equal to the settings document.
//
//	marketplace settings          PK=ORG#<org>          SK=SETTINGS#MARKETPLACE
//	verifier copy by issuer       PK=MKTISSUER#<issuer> SK=VERIFIER
//	verifier copy by key id       PK=MKTKID#<kid>       SK=VERIFIER
//	end-user record               PK=ORG#<org>          SK=ENDUSER#<base64url end-user>
//	an organization's end-users   PK=ORG#<org>          SK begins ENDUSER#
const (
	marketplaceIssuerPrefix = "MKTISSUER#"
	marketplaceKeyIDPrefix  = "MKTKID#"
	endUserPrefix           = "ENDUSER#"
)

// MarketplaceSettings is an organization's marketplace settings document.
func MarketplaceSettings(org string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: settingsPrefix + "MARKETPLACE"}
}

// MarketplaceIssuer is the verifier copy of the organization whose tokens
// carry issuer. The issuer comes from an unverified token: it is only ever
// looked up, never trusted.
func MarketplaceIssuer(issuer string) storage.Key {
	return storage.Key{PK: marketplaceIssuerPrefix + issuer, SK: "VERIFIER"}
}

// MarketplaceKeyID is the verifier copy of the organization that
// registered the key kid (a public key, or an HS256 secret's generated id).
func MarketplaceKeyID(kid string) storage.Key {
	return storage.Key{PK: marketplaceKeyIDPrefix + kid, SK: "VERIFIER"}
}

// EndUser is a marketplace end-user's record (first and last seen). The id
// comes from the SaaS's token and may hold any character, so it is
// base64url-encoded into the key, as in EndUserTenantsPK.
func EndUser(org, endUser string) storage.Key {
	return storage.Key{PK: OrgPK(org), SK: endUserPrefix + base64.RawURLEncoding.EncodeToString([]byte(endUser))}
}

// EndUserCopy is the copy of an end-user's record in the partition of
// their live tenants (EndUserTenantsPK), written with the record: one
// Query of the partition reads the record and the tenants. Its sort key
// sorts before every tenant's.
func EndUserCopy(org, endUser string) storage.Key {
	return storage.Key{PK: EndUserTenantsPK(org, endUser), SK: endUserCopySK}
}

// endUserCopySK is the sort key of EndUserCopy: "ENDUSER" < "TENANT#".
const endUserCopySK = "ENDUSER"

// EndUsersPrefix is the sort-key prefix of an organization's end-users.
const EndUsersPrefix = endUserPrefix
