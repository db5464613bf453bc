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

// EndUserCopyType is the entity type of an end-user record's copy in the
// partition of their tenants (keys.EndUserCopy).
const EndUserCopyType = "end_user_copy"

func (u EndUser) item(version int64) (storage.Item, error) {
	data, err := json.Marshal(u)
	if err != nil {
		return storage.Item{}, fmt.Errorf("marketplace: encode end-user: %w", err)
	}
	return storage.Item{Key: keys.EndUser(u.Org, u.ID), Type: EndUserType, Version: version, Data: data}, nil
}

// copyOf is the record's copy in the end-user's tenants partition, at the
// record's version.
func copyOf(record storage.Item, u EndUser) storage.Item {
	c := record
	c.Key, c.Type = keys.EndUserCopy(u.Org, u.ID), EndUserCopyType
	return c
}

// puts writes the record at version, under cond, and its copy: every write
// of the record is made with them, so the copy is the record wherever both
// exist. The record's operation comes first.
func (u EndUser) puts(version int64, cond storage.Condition) ([]storage.Op, error) {
	record, err := u.item(version)
	if err != nil {
		return nil, err
	}
	return []storage.Op{storage.Put(record, cond), storage.Put(copyOf(record, u), storage.Condition{})}, nil
}

func endUserFromItem(it storage.Item) (EndUser, error) {
	if it.Type != EndUserType && it.Type != EndUserCopyType {
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
	return s.seeCopying(ctx, p, g, false)
}

// seeCopying is seeFrom; copyMissing says the record's copy is known to be
// missing, so a record that needs no other write gets its copy written.
func (s *Service) seeCopying(ctx context.Context, p principal.Principal, g storage.Getter, copyMissing bool) (EndUser, int64, error) {
	for attempt := 0; ; attempt++ {
		u, version, err := s.seeOnce(ctx, p, g, copyMissing)
		if errors.Is(err, storage.ErrConditionFailed) && attempt == 0 {
			g = s.Table
			continue
		}
		return u, version, err
	}
}

func (s *Service) seeOnce(ctx context.Context, p principal.Principal, g storage.Getter, copyMissing bool) (EndUser, int64, error) {
	now := s.now()
	it, err := g.Get(ctx, keys.EndUser(p.Org, p.Subject))
	if errors.Is(err, storage.ErrNotFound) {
		u := EndUser{ID: p.Subject, Org: p.Org, FirstSeen: now, LastSeen: now}
		ops, err := u.puts(1, storage.Absent())
		if err != nil {
			return EndUser{}, 0, err
		}
		if err := s.Table.Write(ctx, ops...); err != nil {
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
	if !copyMissing || now.Sub(u.LastSeen) >= LastSeenEvery {
		return s.touch(ctx, u, it.Version, now)
	}
	// A record from before copies existed: its copy, at its version. A
	// failed condition means another request wrote the record (and so the
	// copy) first, which is as good.
	err = s.Table.Write(ctx, storage.Check(it.Key, storage.VersionIs(it.Version)), storage.Put(copyOf(it, u), storage.Absent()))
	if err != nil && !errors.Is(err, storage.ErrConditionFailed) {
		return EndUser{}, 0, fmt.Errorf("marketplace: copy end-user record: %w", err)
	}
	return u, it.Version, nil
}

// touch moves u's last_seen to now if it is older than LastSeenEvery,
// writing the record (conditional on version, as read) and its copy.
func (s *Service) touch(ctx context.Context, u EndUser, version int64, now time.Time) (EndUser, int64, error) {
	if now.Sub(u.LastSeen) < LastSeenEvery {
		return u, version, nil
	}
	u.LastSeen = now
	ops, err := u.puts(version+1, storage.VersionIs(version))
	if err != nil {
		return EndUser{}, 0, err
	}
	if err := s.Table.Write(ctx, ops...); err != nil {
		return EndUser{}, 0, fmt.Errorf("marketplace: record end-user: %w", err)
	}
	return u, version + 1, nil
}

// seeWithCopy is see for a caller that read the end-user's tenants
// partition, and with it the record's copy (nil when there is none): a
// copy seen within the hour needs no read and no write. Without a copy
// (a new end-user, or one recorded before copies existed) the record is
// read from the table, and a record without its copy gets one.
func (s *Service) seeWithCopy(ctx context.Context, p principal.Principal, copied *storage.Item) (EndUser, int64, error) {
	if copied != nil {
		u, err := endUserFromItem(*copied)
		if err != nil {
			return EndUser{}, 0, err
		}
		if u.Org == p.Org && u.ID == p.Subject {
			written, version, err := s.touch(ctx, u, copied.Version, s.now())
			if !errors.Is(err, storage.ErrConditionFailed) {
				return written, version, err
			}
			// The record moved on since the copy was read: see it again
			// from the table.
		}
	}
	return s.seeCopying(ctx, p, s.Table, copied == nil)
}
