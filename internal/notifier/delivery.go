package notifier

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/storage"
)

// DeliveryType is the entity type of delivery items.
const DeliveryType = "delivery"

// Status is where the delivery of an event stands.
type Status string

const (
	// Sending: a notifier holds the event's claim until its lease expires.
	Sending Status = "sending"
	// Sent: the provider accepted the email; the event is never sent again.
	Sent Status = "sent"
	// Rejected: the email can never be sent as it is (refused by the
	// provider, invalid address, missing fields); it is never retried.
	Rejected Status = "rejected"
)

// Delivery is the notifier's record of one event, at keys.Delivery. Its
// item's version identifies the claim that wrote it.
type Delivery struct {
	Org     string
	EventID string
	Kind    outbox.Kind
	Status  Status
	At      time.Time
	// Reason says why a delivery was rejected.
	Reason string
}

// deliveryDocument is the stored form of a Delivery.
type deliveryDocument struct {
	Org     string      `json:"org"`
	EventID string      `json:"event_id"`
	Kind    outbox.Kind `json:"kind"`
	Status  Status      `json:"status"`
	At      time.Time   `json:"at"`
	Reason  string      `json:"reason,omitempty"`
}

func (d Delivery) item(version int64, expiresAt time.Time) (storage.Item, error) {
	data, err := json.Marshal(deliveryDocument(d))
	if err != nil {
		return storage.Item{}, fmt.Errorf("notifier: encode delivery of %s: %w", d.EventID, err)
	}
	return storage.Item{
		Key:       keys.Delivery(d.Org, d.EventID),
		Type:      DeliveryType,
		Version:   version,
		ExpiresAt: expiresAt,
		Data:      data,
	}, nil
}

// DeliveryFromItem reads a delivery item.
func DeliveryFromItem(it storage.Item) (Delivery, error) {
	if it.Type != DeliveryType {
		return Delivery{}, fmt.Errorf("notifier: item %s is a %q, not a delivery", it.Key, it.Type)
	}
	var doc deliveryDocument
	if err := json.Unmarshal(it.Data, &doc); err != nil {
		return Delivery{}, fmt.Errorf("notifier: decode delivery %s: %w", it.Key, err)
	}
	return Delivery(doc), nil
}
