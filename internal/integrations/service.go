// Package integrations holds an organization's integrations (with the
// review partners' integrations go through), its tenants (installations of
// an integration for one marketplace end-user) and their runs, and serves
// them: the hub's own routes under /integrations, and the public API under
// /v2 that hub users and API keys reach (Routes).
//
// Every list is one Query (see internal/keys for the key of each):
// integrations by name (GSI1) or by creation (the organization's
// partition), a partner's integrations by name (GSI2), live tenants by
// creation (GSI1), of an integration (GSI2) or of an end-user (their
// installation copies, on the table), a tenant's runs (its own partition).
package integrations

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/web"
)

// Table is the storage the service needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	GetMany(ctx context.Context, keys ...storage.Key) (map[storage.Key]storage.Item, error)
	Query(ctx context.Context, q storage.Query) (storage.Page, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// KeyUsage records that an API key was used (apikeys.Service.RecordUse).
type KeyUsage interface {
	RecordUse(ctx context.Context, org, key string) error
}

// Service is the integrations function.
type Service struct {
	Table Table
	Now   func() time.Time
	// KeyUsage records the use of the API keys that call /v2; nil records
	// nothing.
	KeyUsage KeyUsage
}

func (s *Service) now() time.Time { return s.Now().UTC() }

var errChanged = apperr.New(apperr.Conflict, "changed_concurrently", "it changed while this request ran; read it again and retry")

// MaxListLimit caps a page of any list.
const MaxListLimit = 100

// DefaultListLimit is a page's size when the caller names none.
const DefaultListLimit = 50

// PageInput pages and sorts a list. Sort is one of the list's sort fields.
type PageInput struct {
	Sort       string
	Descending bool
	Limit      int
	Cursor     string
}

func (in PageInput) limit() int {
	if in.Limit == 0 {
		return DefaultListLimit
	}
	return in.Limit
}

// listOrder is one way a list can be sorted: the parameter's value and
// whether it runs descending when the caller names no order.
type listOrder struct {
	Sort       string
	Descending bool
}

// pageParams reads limit, cursor, skip, sort and order. Only skip=0 is
// accepted: a page continues from the previous page's next_cursor, so each
// page is one Query however deep it is.
func pageParams(r *http.Request, orders ...listOrder) (PageInput, error) {
	q := r.URL.Query()
	in := PageInput{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxListLimit {
			return PageInput{}, apperr.Field("limit", "invalid_limit", "limit is a whole number from 1 to %d", MaxListLimit)
		}
		in.Limit = n
	}
	if v := q.Get("skip"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n != 0 {
			return PageInput{}, apperr.Field("skip", "skip_unsupported", "skip is not supported beyond 0: pass the next_cursor of the previous page as cursor")
		}
	}
	chosen := orders[0]
	if v := q.Get("sort"); v != "" {
		found := false
		var names []string
		for _, o := range orders {
			names = append(names, o.Sort)
			if o.Sort == v {
				chosen, found = o, true
			}
		}
		if !found {
			return PageInput{}, apperr.Field("sort", "invalid_sort", "sort is one of %s", strings.Join(names, ", "))
		}
	}
	in.Sort, in.Descending = chosen.Sort, chosen.Descending
	switch q.Get("order") {
	case "":
	case "asc":
		in.Descending = false
	case "desc":
		in.Descending = true
	default:
		return PageInput{}, apperr.Field("order", "invalid_order", "order is asc or desc")
	}
	return in, nil
}

// validID reports whether a path id can name one of the hub's objects; any
// other value is answered like an unknown id.
func validID(id string) bool { return ids.Valid(id) }

// ifMatchParam reads an optional If-Match: 0 when absent, else the version
// the change is conditional on.
func ifMatchParam(r *http.Request) (int64, error) {
	if r.Header.Get("If-Match") == "" {
		return 0, nil
	}
	return web.IfMatch(r)
}

var errStale = apperr.New(apperr.PreconditionFailed, "stale_version", "it changed since you read it; read it again and retry")

// conflictOr maps a failed condition to errChanged and wraps anything else.
func conflictOr(err error, what string) error {
	if errors.Is(err, storage.ErrConditionFailed) {
		return errChanged
	}
	return fmt.Errorf("integrations: %s: %w", what, err)
}
