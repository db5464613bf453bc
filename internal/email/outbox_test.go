package email_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/email"
)

const sender = "hub@example.com"

func TestOutboxWritesAReadableMessageAndLogsItsLinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	var logs bytes.Buffer
	box, err := email.NewOutbox(dir, sender, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("NewOutbox: %v", err)
	}
	link := "https://hub.example.com/accept-invitation#token=abc%2Bdef"
	msg := email.Message{
		To:      []string{"ada@example.com", "bob@example.com"},
		Subject: "Grüße: you're invited",
		Text:    "Hello,\n\nAccept: " + link + "\n" + strings.Repeat("long ", 250) + "\n",
		HTML:    `<p>Hello, <a href="` + link + `">accept</a></p>`,
		EventID: "01JEVENT/../x",
	}
	if err := box.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) != 1 || !strings.HasSuffix(files[0], "-01JEVENT..x.eml") {
		t.Fatalf("outbox folder holds %v (%v), want one <time>-01JEVENT..x.eml", files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the file is not a mail message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != msg.Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, msg.Subject)
	}
	if to := parsed.Header.Get("To"); to != "ada@example.com, bob@example.com" {
		t.Errorf("To = %q", to)
	}
	if from := parsed.Header.Get("From"); from != sender {
		t.Errorf("From = %q", from)
	}
	mediaType, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v)", mediaType, err)
	}
	parts := multipart.NewReader(parsed.Body, params["boundary"])
	bodies := map[string]string{}
	for {
		part, err := parts.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		body, _ := io.ReadAll(part) // NextPart decodes quoted-printable
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		bodies[partType] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	if bodies["text/plain"] != msg.Text || bodies["text/html"] != msg.HTML {
		t.Errorf("parts = %q, want the message's text and HTML", bodies)
	}
	if !strings.Contains(string(raw), link) {
		t.Errorf("the file does not show the link as is:\n%s", raw)
	}

	var entry struct {
		Msg     string   `json:"msg"`
		EventID string   `json:"event_id"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
		Links   []string `json:"links"`
		File    string   `json:"file"`
	}
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
		t.Fatalf("log line is not one JSON object: %v\n%s", err, logs.String())
	}
	if !slices.Equal(entry.Links, []string{link}) || !slices.Equal(entry.To, msg.To) || entry.Subject != msg.Subject || entry.File != files[0] || entry.EventID != msg.EventID {
		t.Errorf("log entry = %+v", entry)
	}
}

func TestOutboxRefusesAnInvalidMessage(t *testing.T) {
	dir := t.TempDir()
	box, err := email.NewOutbox(dir, sender, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := box.Send(context.Background(), email.Message{Subject: "s", Text: "t"}); !email.IsPermanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("outbox folder holds %d files, want none", len(entries))
	}
}
