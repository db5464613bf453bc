package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
)

// EndUserType is the entity type of end-user records.
const EndUserType = "end_user"

// LastSeenEvery is how stale last_seen may get: a request moves it only
// when it is older, so an active end-user costs one write an hour.
const LastSeenEvery = time.Hour

// EndUser is a marketplace end-user as the hub first and last saw them.
// End-users are never created by hand: the first request of a valid token
// creates the record.
type EndUser struct {
	ID        string    `json:"id"`
	Org       string    `json:"organization_id"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

func (u EndUser) item(version int64) (storage.Item, error) {
	data, err := json.Marshal(u)
	if err != nil {
		return storage.Item{}, fmt.Errorf("marketplace: encode end-user: %w", err)
	}
	return storage.Item{Key: keys.EndUser(u.Org, u.ID), Type: EndUserType, Version: version, Data: data}, nil
}

func endUserFromItem(it storage.Item) (EndUser, error) {
	if it.Type != EndUserType {
		return EndUser{}, fmt.Errorf("marketplace: item %s is a %q, not an end-user", it.Key, it.Type)
	}
	var u EndUser
	if err := json.Unmarshal(it.Data, &u); err != nil {
		return EndUser{}, fmt.Errorf("marketplace: decode %s: %w", it.Key, err)
	}
	return u, nil
}

// see records that the end-user p made a request: the record is created
// on first sight and its last_seen moved when older than LastSeenEvery.
// It returns the record and its version. A concurrent request that wrote
// the record first is as good as this one: the record is read again.
func (s *Service) see(ctx context.Context, p principal.Principal) (EndUser, int64, error) {
	return s.seeFrom(ctx, p, s.Table)
}

// seeFrom is see reading the record first from g, a prefetch that also
// read what the caller needs next. The retry reads the table: g holds the
// record as it was before the concurrent write.
func (s *Service) seeFrom(ctx context.Context, p principal.Principal, g storage.Getter) (EndUser, int64, error) {
	for attempt := 0; ; attempt++ {
		u, version, err := s.seeOnce(ctx, p, g)
		if errors.Is(err, storage.ErrConditionFailed) && attempt == 0 {
			g = s.Table
			continue
		}
		return u, version, err
	}
}

func (s *Service) seeOnce(ctx context.Context, p principal.Principal, g storage.Getter) (EndUser, int64, error) {
	now := s.now()
	it, err := g.Get(ctx, keys.EndUser(p.Org, p.Subject))
	if errors.Is(err, storage.ErrNotFound) {
		u := EndUser{ID: p.Subject, Org: p.Org, FirstSeen: now, LastSeen: now}
		item, err := u.item(1)
		if err != nil {
			return EndUser{}, 0, err
		}
		if err := s.Table.Write(ctx, storage.Put(item, storage.Absent())); err != nil {
			return EndUser{}, 0, fmt.Errorf("marketplace: record end-user: %w", err)
		}
		return u, 1, nil
	}
	if err != nil {
		return EndUser{}, 0, fmt.Errorf("marketplace: read end-user: %w", err)
	}
	u, err := endUserFromItem(it)
	if err != nil {
		return EndUser{}, 0, err
	}
	if now.Sub(u.LastSeen) < LastSeenEvery {
		return u, it.Version, nil
	}
	u.LastSeen = now
	item, err := u.item(it.Version + 1)
	if err != nil {
		return EndUser{}, 0, err
	}
	if err := s.Table.Write(ctx, storage.Put(item, storage.VersionIs(it.Version))); err != nil {
		return EndUser{}, 0, fmt.Errorf("marketplace: record end-user: %w", err)
	}
	return u, it.Version + 1, nil
}
